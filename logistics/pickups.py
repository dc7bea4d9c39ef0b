"""The way back: every run's return leg picks up the goods waiting at its stops (orders.GoodsReturn).

Planning is set-based and rides on the delivery runs: one query per plan
reads the goods waiting at the stations of the routes it plans
(``waiting_goods``, no lock), kept per route in stop order (``ReturnPool``).
Each run's own transaction (``planning._commit_batch``) takes from its route's
pool the goods that fit in what the deliveries leave of the vehicle's weight
and volume, locks exactly those (``SKIP LOCKED``: two planners never load the
same goods; goods taken meanwhile are dropped from the leg) and writes their
pickups in one INSERT.  What no run had room for waits for the next plan with
the reason, written once at the end of the plan (``record_no_room``), like the
reasons of the orders left waiting; so do the produce lots no run had room for (the run and its day, on the
lot), and a run that loads them clears it.  Queries grow with the runs, not with the goods.

Produce lots ride the same return leg.  Produce sits above logistics, so it registers its lots as a
source (``register_lots``, from ``ProduceConfig.ready``): the lots bought and ready at the stations, and a
lock for the chosen ones.  A lot's pickup is labelled L<lot id> and names the lot by its number.  Perishable
lots go first, the soonest spoiled first; then the rest in stop order.  Produce and goods together never
take more than the room the deliveries leave.

A pickup is tracked like a parcel: planned on the run, collected at the stop
(the driver's API, or the station handing it over when it receives its
parcels), received at the warehouse (a county page), where the goods are
counted in and stock moves (``orders.returns.receive_goods_back``).  A run
that ends without a pickup leaves it behind, explicitly: its goods wait again.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import returns
from orders.models import GoodsReturn

from . import webhooks
from .models import BatchStop, DeliveryBatch, Pickup

G = GoodsReturn.Status
P = Pickup.Status
LIVE = [P.PLANNED, P.COLLECTED]  # on a run's return leg: not to be loaded again


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
class Goods:
    """Goods waiting at a station, as the plan read them."""

    pk: int
    station: int
    kg: Decimal
    m3: Decimal
    earlier: int = 0  # pickups it had before (left behind, a run called off): its label is B<pk>-<earlier + 1>
    no_room_on: str = ""  # the last run of this plan that had no room for it
    no_room_day: date | None = None  # and that run's day
    lot: str = ""  # a produce lot's number (``pk`` is then the lot's): the goods of a return otherwise
    spoils_on: date | None = None  # a perishable lot: the last day it keeps (it goes first, the soonest first)

    @property
    def key(self) -> tuple[str, int]:
        return ("lot" if self.lot else "goods", self.pk)

    @property
    def label(self) -> str:
        return ("L" if self.lot else "B") + f"{self.pk}" + (f"-{self.earlier + 1}" if self.earlier else "")


@dataclass
class LotSource:
    """How produce offers its lots to the plan (logistics cannot read them).

    ``waiting(station_ids, day)``: the lots bought, ready by ``day`` and on no run's return leg, as Goods
    (two queries, whatever the number of lots).  ``lock(pks)``: inside the run's transaction, lock those
    still waiting (``SKIP LOCKED``) and answer, by pk, whether each carries a no-room reason (one query).
    ``clear(pks)``: the reason of these loaded lots goes (one UPDATE).  ``no_room(pks, code, day)``: at the end
    of the plan, run ``code`` of ``day`` had no room for those of these lots still bought and on no run (one
    UPDATE); how many.
    """

    waiting: Callable[[list[int], date], list[Goods]]
    lock: Callable[[list[int]], dict[int, bool]]
    clear: Callable[[list[int]], None]
    no_room: Callable[[list[int], str, date | None], int]


_lots: LotSource | None = None


def register_lots(source: LotSource | None) -> None:
    global _lots
    _lots = source


@dataclass
class ReturnLeg:
    """The goods a run takes back, and those it had no room for."""

    loaded: list[Goods] = field(default_factory=list)
    no_room: list[Goods] = field(default_factory=list)
    taken: list[Goods] = field(default_factory=list)  # chosen, but another planner holds or loaded them
    clear_reason: list[int] = field(default_factory=list)  # loaded goods that carried a waiting reason
    clear_lot_reason: list[int] = field(default_factory=list)  # loaded lots that carried a no-room reason

    @property
    def stations(self) -> set[int]:
        return {goods.station for goods in self.loaded}


def waiting_goods(station_ids, day: date | None = None) -> dict[int, list[Goods]]:
    """The goods waiting at these stations and on no run's return leg, by station: one query, no lock.

    With ``day`` (the run's), the produce lots ready by then too (two more queries).
    """
    by_station: dict[int, list[Goods]] = defaultdict(list)
    if not station_ids:
        return by_station
    rows = (
        GoodsReturn.objects.filter(status=G.WAITING, order__service_center_id__in=list(station_ids))
        .exclude(pickups__status__in=LIVE)
        .annotate(earlier=Count("pickups"))
        .order_by("pk")
        .values_list("pk", "order__service_center_id", "weight_kg", "volume_m3", "earlier")
    )
    for pk, station, kg, m3, earlier in rows:
        by_station[station].append(Goods(pk, station, kg, m3, earlier))
    if day is not None and _lots is not None:
        for goods in _lots.waiting(list(station_ids), day):
            by_station[goods.station].append(goods)
    return by_station


class ReturnPool:
    """The goods waiting at one route's stations when the plan started: perishable produce first, the soonest
    spoiled first; then in stop order, goods before produce, oldest first."""

    def __init__(self, by_station: dict[int, list[Goods]], stop_sequence: dict[int, int]):
        self.goods = sorted(
            (goods for station in stop_sequence for goods in by_station.get(station, ())),
            key=lambda goods: (
                goods.spoils_on is None,
                goods.spoils_on or date.max,
                stop_sequence[goods.station],
                goods.key,
            ),
        )

    def __bool__(self) -> bool:
        return bool(self.goods)

    def offer(self, *, room_kg: Decimal, room_m3: Decimal) -> ReturnLeg:
        """The goods that fit in this room, in stop order (the others wait for the next run): nothing written."""
        leg = ReturnLeg()
        for goods in self.goods:
            if goods.kg <= room_kg and goods.m3 <= room_m3:
                leg.loaded.append(goods)
                room_kg -= goods.kg
                room_m3 -= goods.m3
            else:
                leg.no_room.append(goods)
        return leg

    def settle(self, leg: ReturnLeg, *, code: str, day: date | None = None) -> None:
        """Run ``code`` (of ``day``) was committed with ``leg``: its goods (and those another planner took) leave
        the pool; those it had no room for remember it."""
        gone = {goods.key for goods in leg.loaded + leg.taken}
        self.goods = [goods for goods in self.goods if goods.key not in gone]
        for goods in leg.no_room:
            goods.no_room_on, goods.no_room_day = code, day


def lock_return_leg(leg: ReturnLeg) -> ReturnLeg:
    """Lock the goods chosen for the run (inside its transaction, held until it commits): one query.

    Goods another planner holds, has loaded, or that are no longer waiting are dropped from the leg.
    """
    returns_chosen = [goods.pk for goods in leg.loaded if not goods.lot]
    lots_chosen = [goods.pk for goods in leg.loaded if goods.lot]
    locked = {}
    if returns_chosen:
        locked = dict(
            GoodsReturn.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk__in=returns_chosen, status=G.WAITING)
            .exclude(pickups__status__in=LIVE)
            .values_list("pk", "waiting_reason")
        )
    lots = _lots.lock(lots_chosen) if lots_chosen and _lots is not None else {}
    kept = {("goods", pk) for pk in locked} | {("lot", pk) for pk in lots}
    leg.taken = [goods for goods in leg.loaded if goods.key not in kept]
    leg.loaded = [goods for goods in leg.loaded if goods.key in kept]
    leg.clear_reason = [pk for pk, reason in locked.items() if reason]
    leg.clear_lot_reason = [pk for pk, had_reason in lots.items() if had_reason]
    return leg


PICKUPS_SQL = """
    INSERT INTO {pickup} (batch_stop_id, goods_return_id, lot_number, label, weight_kg, volume_m3, status)
    SELECT stop, goods, lot, label, kg, m3, %s
    FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::numeric[], %s::numeric[])
         AS leg(stop, goods, lot, label, kg, m3)
"""


def load_return_leg(*, batch: DeliveryBatch, leg: ReturnLeg, stop_of: dict[int, BatchStop]) -> int:
    """Write the pickups of a locked ``leg`` on ``batch``: one INSERT (and one UPDATE each if some goods, or
    some lots, had a reason).

    On PostgreSQL the INSERT takes the leg as six arrays (``unnest``): the same few parameters for 2 pickups
    or 2,000, where a multi-row INSERT of model instances cost 0.25 s of Python for a day's 1,800 produce lots.
    Answers how many pickups were written.
    """
    if not leg.loaded:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                PICKUPS_SQL.format(pickup=Pickup._meta.db_table),
                [
                    P.PLANNED.value,
                    [stop_of[goods.station].pk for goods in leg.loaded],
                    [None if goods.lot else goods.pk for goods in leg.loaded],
                    [goods.lot for goods in leg.loaded],
                    [goods.label for goods in leg.loaded],
                    [goods.kg for goods in leg.loaded],
                    [goods.m3 for goods in leg.loaded],
                ],
            )
    else:
        Pickup.objects.bulk_create(
            Pickup(
                batch_stop=stop_of[goods.station],
                goods_return_id=None if goods.lot else goods.pk,
                lot_number=goods.lot,
                label=goods.label,
                weight_kg=goods.kg,
                volume_m3=goods.m3,
            )
            for goods in leg.loaded
        )
    if leg.clear_reason:
        GoodsReturn.objects.filter(pk__in=leg.clear_reason).update(waiting_reason="")
    if leg.clear_lot_reason and _lots is not None:
        _lots.clear(leg.clear_lot_reason)
    return len(leg.loaded)


def record_no_room(pools) -> int:
    """At the end of the plan: the goods and lots no run had room for wait, saying which run last passed them by.

    One UPDATE per such run (in practice one per route: its last run) of the goods, one of the lots, of those
    that still wait on no run's return leg (they are not locked any more: another planner may have loaded some
    since).  A lot and a goods return may share a pk: each is written in its own table.
    """
    goods_by_run: dict[str, list[int]] = defaultdict(list)
    lots_by_run: dict[tuple[str, date | None], list[int]] = defaultdict(list)
    for pool in pools:
        for goods in pool.goods:
            if not goods.no_room_on:
                continue
            if goods.lot:
                lots_by_run[goods.no_room_on, goods.no_room_day].append(goods.pk)
            else:
                goods_by_run[goods.no_room_on].append(goods.pk)
    written = sum(
        returns.goods_left_behind(
            GoodsReturn.objects.filter(pk__in=ids, status=G.WAITING).exclude(pickups__status__in=LIVE).values("pk"),
            reason=_("no room on run %(code)s") % {"code": code},
        )
        for code, ids in goods_by_run.items()
    )
    if _lots is not None:
        written += sum(_lots.no_room(ids, code, day) for (code, day), ids in lots_by_run.items())
    return written


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
        returns.goods_picked_up([p.goods_return_id for p in pickups if p.goods_return_id])
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
    returns.goods_left_behind([g for _pk, g in left if g], reason=reason)  # a lot left behind is bought still
    _bump(batch.pk)  # the manifest shows them left behind
    return len(left)


def receive(*, pickup: Pickup, actor, counts: dict[int, tuple[int, int]] | None = None, note: str = "") -> Pickup:
    """The warehouse counts the goods in: stock moves (sellable back on hand, damaged into quarantine).

    A pickup the driver did not report (planned on a run that left) is received as collected.  Twice: no-op.
    """
    with transaction.atomic():
        pickup = (
            Pickup.objects.select_for_update(of=("self",))
            .select_related("batch_stop__batch", "goods_return")
            .get(pk=pickup.pk)
        )
        if pickup.status == P.RECEIVED:
            return pickup
        if pickup.lot_number:
            raise PickupError(
                _("Pickup %(label)s is produce lot %(lot)s: weigh and grade it on the produce page.")
                % {"label": pickup.label, "lot": pickup.lot_number}
            )
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


def lot_arrived(lot_number: str) -> Pickup | None:
    """A produce lot was weighed in at the warehouse (produce.services.receive_lot, in its transaction): its live
    pickup, if it came on a run that left, is received; one planned on a run not gone yet is left off it (the
    lot came another way).  Answers the pickup, or None."""
    pickup = (
        Pickup.objects.select_for_update(of=("self",))
        .select_related("batch_stop__batch")
        .filter(lot_number=lot_number, status__in=LIVE)
        .first()
    )
    if pickup is None:
        return None
    batch = pickup.batch_stop.batch
    now = timezone.now()
    if pickup.status == P.COLLECTED or batch.status not in (
        DeliveryBatch.Status.PLANNED,
        DeliveryBatch.Status.CANCELLED,
    ):
        Pickup.objects.filter(pk=pickup.pk).update(
            status=P.RECEIVED, received_at=now, collected_at=pickup.collected_at or now
        )
    else:
        Pickup.objects.filter(pk=pickup.pk).update(status=P.LEFT)
    _bump(batch.pk)
    pickup.refresh_from_db()
    if pickup.status == P.RECEIVED:
        webhooks.queue_event(batch.warehouse_id, "pickup.received", {"pickup": _payload(pickup, pickup.batch_stop)})
    return pickup


def lot_dropped(lot_number: str) -> None:
    """A lot the county no longer buys: a pickup planned for it is left off its run.  One on the truck already
    (collected) cannot be dropped: ``PickupError``, and the lot is received and graded when it arrives."""
    live = list(
        Pickup.objects.select_for_update(of=("self",))
        .filter(lot_number=lot_number, status__in=LIVE)
        .values_list("pk", "status", "batch_stop__batch_id")
    )
    if any(status == P.COLLECTED for _pk, status, _b in live):
        raise PickupError(
            _("Lot %(lot)s is on the truck already: receive and grade it when it arrives.") % {"lot": lot_number}
        )
    for pk, _status, batch_id in live:
        Pickup.objects.filter(pk=pk).update(status=P.LEFT)
        _bump(batch_id)


def _bump(batch_id: int) -> None:
    """A new version of the batch: no cached manifest of the old one is served (services.bump_batch_version)."""
    DeliveryBatch.objects.filter(pk=batch_id).update(version=F("version") + 1)


def _payload(pickup: Pickup, stop: BatchStop) -> dict:
    return {
        "label": pickup.label,
        "what": "produce" if pickup.lot_number else "goods",
        "status": pickup.status,
        "batch": stop.batch.code,
        "stop": stop.sequence,
        "weight_kg": str(pickup.weight_kg),
        "volume_m3": str(pickup.volume_m3),
    }
