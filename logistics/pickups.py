"""The way back: every run's return leg picks up the goods waiting at its stops (orders.GoodsReturn).

Planning is set-based and rides on the delivery run's own transaction
(``services._commit_batch``): one query locks the waiting goods of the route's
stations (``SKIP LOCKED``: two planners never load the same goods), they are
taken in stop order while they fit in what the deliveries leave of the
vehicle's weight and volume, and one INSERT writes their pickups.  What does
not fit waits for the next run with the reason on it.

A pickup is tracked like a parcel: planned on the run, collected at the stop
(the driver's API, or the station handing it over when it receives its
parcels), received at the warehouse (a county page), where the goods are
counted in and stock moves (``orders.returns.receive_goods_back``).  A run
that ends without a pickup leaves it behind, explicitly: its goods wait again.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import returns
from orders.models import GoodsReturn

from . import webhooks
from .models import BatchStop, DeliveryBatch, Pickup

G = GoodsReturn.Status
P = Pickup.Status


class PickupError(Exception):
    """A refused pickup operation; ``str(exc)`` says why."""


class UnknownPickups(PickupError):
    """Labels that name no pickup of the stop (``labels``: them, sorted)."""

    def __init__(self, labels: list[str], stop: BatchStop):
        self.labels = labels
        super().__init__(
            _("No pickup %(labels)s at stop %(sequence)s of run %(code)s.")
            % {"labels": ", ".join(labels), "sequence": stop.sequence, "code": stop.batch.code}
        )


@dataclass
class ReturnLeg:
    """The goods a run takes back: (goods id, station id, weight, volume) loaded, and the ids left for no room."""

    loaded: list[tuple[int, int, Decimal, Decimal]] = field(default_factory=list)
    no_room: list[int] = field(default_factory=list)

    @property
    def stations(self) -> set[int]:
        return {station for _pk, station, _kg, _m3 in self.loaded}


def plan_return_leg(*, station_order: dict[int, int], room_kg: Decimal, room_m3: Decimal) -> ReturnLeg:
    """Lock the goods waiting at these stations (station id -> stop order) and take those that fit, in stop order.

    Inside the run's transaction: the locks hold until it commits.
    """
    leg = ReturnLeg()
    if not station_order:
        return leg
    waiting = (
        GoodsReturn.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=G.WAITING, order__service_center_id__in=list(station_order))
        .exclude(pickups__status__in=[P.PLANNED, P.COLLECTED])  # already on a run's return leg
        .order_by("pk")
        .values_list("pk", "order__service_center_id", "weight_kg", "volume_m3")
    )
    for pk, station, kg, m3 in sorted(waiting, key=lambda row: (station_order[row[1]], row[0])):
        if kg <= room_kg and m3 <= room_m3:
            leg.loaded.append((pk, station, kg, m3))
            room_kg -= kg
            room_m3 -= m3
        else:
            leg.no_room.append(pk)
    return leg


def goods_waiting_on(route) -> bool:
    """Goods wait at one of the route's stations (and are on no run yet): worth a run of their own."""
    return (
        GoodsReturn.objects.filter(status=G.WAITING, order__service_center__route_stop__route=route)
        .exclude(pickups__status__in=[P.PLANNED, P.COLLECTED])
        .exists()
    )


def load_return_leg(*, batch: DeliveryBatch, leg: ReturnLeg, stop_of: dict[int, BatchStop]) -> list[Pickup]:
    """Write the pickups of ``leg`` on ``batch`` (one INSERT) and say why the rest waits."""
    if leg.no_room:
        returns.goods_left_behind(leg.no_room, reason=_("no room on run %(code)s") % {"code": batch.code})
    if not leg.loaded:
        return []
    ids = [pk for pk, *_rest in leg.loaded]
    earlier = dict(
        Pickup.objects.filter(goods_return_id__in=ids)
        .values("goods_return_id")
        .annotate(n=Count("pk"))
        .values_list("goods_return_id", "n")
    )
    pickups = Pickup.objects.bulk_create(
        Pickup(
            batch_stop=stop_of[station],
            goods_return_id=pk,
            label=f"B{pk}" + (f"-{earlier[pk] + 1}" if earlier.get(pk) else ""),
            weight_kg=kg,
            volume_m3=m3,
        )
        for pk, station, kg, m3 in leg.loaded
    )
    GoodsReturn.objects.filter(pk__in=ids).update(waiting_reason="")
    return pickups


def collect(*, stop: BatchStop, labels: list[str] | None = None) -> int:
    """The driver takes the stop's pickups (all planned ones, or those labelled).  Collecting twice is a no-op.

    Labels that name no pickup of the stop are refused (``UnknownPickups``), before anything moves.
    Labels all reported before answer 0 whatever the run's state now (a driver's report sent again).
    """
    with transaction.atomic():
        stop = BatchStop.objects.select_for_update().select_related("batch").get(pk=stop.pk)
        if labels is not None:
            labels = sorted(set(labels))
            statuses = dict(stop.pickups.filter(label__in=labels).values_list("label", "status"))
            unknown = [label for label in labels if label not in statuses]
            if unknown:
                raise UnknownPickups(unknown, stop)
            if all(status in (P.COLLECTED, P.RECEIVED) for status in statuses.values()):
                return 0
        if stop.batch.status != DeliveryBatch.Status.IN_TRANSIT:
            raise PickupError(_("Run %(code)s is not on the road.") % {"code": stop.batch.code})
        planned = stop.pickups.filter(status=P.PLANNED)
        if labels is not None:
            planned = planned.filter(label__in=labels)
        pickups = list(planned.select_related("goods_return"))
        if not pickups:
            return 0
        now = timezone.now()
        Pickup.objects.filter(pk__in=[p.pk for p in pickups]).update(status=P.COLLECTED, collected_at=now)
        for pickup in pickups:
            pickup.status, pickup.collected_at = P.COLLECTED, now
        returns.goods_picked_up([p.goods_return_id for p in pickups])
        _bump(stop.batch_id)
        for pickup in pickups:
            webhooks.queue_event(stop.batch.warehouse_id, "pickup.collected", {"pickup": _payload(pickup, stop)})
    return len(pickups)


def leave_behind(*, batch: DeliveryBatch, reason: str) -> int:
    """The run ended (completed or cancelled) with pickups nobody collected: their goods wait for the next run."""
    left = list(Pickup.objects.filter(batch_stop__batch=batch, status=P.PLANNED).values_list("pk", "goods_return_id"))
    if not left:
        return 0
    Pickup.objects.filter(pk__in=[pk for pk, _g in left]).update(status=P.LEFT)
    returns.goods_left_behind([g for _pk, g in left], reason=reason)
    _bump(batch.pk)  # the manifest shows them left behind
    return len(left)


def receive(*, pickup: Pickup, actor, counts: dict[int, tuple[int, int]] | None = None, note: str = "") -> Pickup:
    """The warehouse counts the goods in: stock moves (sellable back on hand, damaged into quarantine).

    A pickup the driver did not report (planned on a run that left) is received as collected.  Twice: no-op.
    """
    with transaction.atomic():
        pickup = (
            Pickup.objects.select_for_update().select_related("batch_stop__batch", "goods_return").get(pk=pickup.pk)
        )
        if pickup.status == P.RECEIVED:
            return pickup
        batch = pickup.batch_stop.batch
        if pickup.status == P.LEFT or batch.status in (DeliveryBatch.Status.PLANNED, DeliveryBatch.Status.CANCELLED):
            raise PickupError(_("Pickup %(label)s is not on its way back.") % {"label": pickup.label})
        returns.receive_goods_back(goods=pickup.goods_return, actor=actor, counts=counts, note=note or pickup.label)
        now = timezone.now()
        Pickup.objects.filter(pk=pickup.pk).update(
            status=P.RECEIVED, received_at=now, collected_at=pickup.collected_at or now
        )
        _bump(batch.pk)  # the manifest shows it received
        pickup.refresh_from_db()
        webhooks.queue_event(batch.warehouse_id, "pickup.received", {"pickup": _payload(pickup, pickup.batch_stop)})
    return pickup


def _bump(batch_id: int) -> None:
    """A new version of the batch: no cached manifest of the old one is served (services.bump_batch_version)."""
    DeliveryBatch.objects.filter(pk=batch_id).update(version=F("version") + 1)


def _payload(pickup: Pickup, stop: BatchStop) -> dict:
    return {
        "label": pickup.label,
        "status": pickup.status,
        "batch": stop.batch.code,
        "stop": stop.sequence,
        "weight_kg": str(pickup.weight_kg),
        "volume_m3": str(pickup.volume_m3),
    }
