"""Reads of logistics that views and the API share: scoped to a logistics client, a station or counties.

Each lookup does its scoping and its ``select_related`` in one place; an
object outside the scope is ``None`` (the caller answers 404), never another
client's, station's or county's row.  List querysets cost the same number of
queries for 5 rows or 500.
"""

from collections.abc import Iterable
from datetime import date

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery

from orders import selectors as order_selectors
from orders.models import GoodsReturn, GoodsReturnLine, Order, OrderEvent
from partners.models import County, ServiceCenter

from . import appointments
from .models import BatchStop, DeliveryBatch, LogisticsClient, Parcel, ParcelPhoto, Pickup, UnplannedOrder
from .services import PROBLEM_KINDS

# The batch fields of the list and the manifest, as .values() names.
BATCH_VALUES = (
    "id",
    "code",
    "status",
    "dispatch_date",
    "warehouse__code",
    "route__code",
    "vehicle__plate",
    "vehicle__capacity_kg",
    "vehicle__capacity_m3",
    "parcel_count",
    "total_weight_kg",
    "total_volume_m3",
    "departed_at",
    "completed_at",
)

B = DeliveryBatch.Status

# --- a logistics client (the API) ---------------------------------------------------------------


def client_batches(*, client: LogisticsClient) -> QuerySet[DeliveryBatch]:
    """The batches of the client's warehouses, with their warehouse, route and vehicle."""
    return DeliveryBatch.objects.filter(warehouse__logistics_clients=client).select_related(
        "warehouse", "route", "vehicle"
    )


def client_batch(*, client: LogisticsClient, code: str) -> DeliveryBatch | None:
    return client_batches(client=client).filter(code=code).first()


def client_batch_rows(*, client: LogisticsClient) -> QuerySet:
    """The client's batches as ``.values()`` rows of ``BATCH_VALUES`` (the list: no model instances)."""
    return DeliveryBatch.objects.filter(warehouse__logistics_clients=client).values(*BATCH_VALUES)


def client_batch_row(*, client: LogisticsClient, code: str) -> dict | None:
    """One batch as a row of ``BATCH_VALUES`` and its ``version`` (the manifest's cache key)."""
    return (
        DeliveryBatch.objects.filter(code=code, warehouse__logistics_clients=client)
        .values(*BATCH_VALUES, "version")
        .first()
    )


def client_parcel(*, client: LogisticsClient, label: str) -> Parcel | None:
    """A parcel of the client's warehouses with its stop, batch, station and its order's events in order."""
    return (
        Parcel.objects.filter(label=label, batch_stop__batch__warehouse__logistics_clients=client)
        .select_related("batch_stop__batch", "batch_stop__service_center", "order")
        .prefetch_related(Prefetch("order__events", queryset=OrderEvent.objects.order_by("created_at", "pk")))
        .first()
    )


# --- a station ----------------------------------------------------------------------------------


def station_stops(*, station: ServiceCenter, recent: int = 5) -> list[BatchStop]:
    """What is coming to the station (every stop not received yet), then the last ``recent`` received."""
    stops = (
        BatchStop.objects.filter(service_center=station)
        .exclude(batch__status=B.CANCELLED)
        .select_related("batch__vehicle")
        .annotate(parcels_expected=Count("parcels"))
    )
    incoming = list(stops.exclude(status=BatchStop.Status.RECEIVED).order_by("batch__dispatch_date", "pk"))
    received = list(stops.filter(status=BatchStop.Status.RECEIVED).order_by("-received_at", "-pk")[:recent])
    return incoming + received


def station_stop(*, station: ServiceCenter, pk: int) -> BatchStop | None:
    return BatchStop.objects.select_related("batch__vehicle").filter(pk=pk, service_center=station).first()


def stop_problem_parcels(*, stop: BatchStop) -> QuerySet[Parcel]:
    """The parcels of a received stop found missing or damaged (or missing, then found), with their photo."""
    return (
        stop.parcels.filter(status__in=[*PROBLEM_KINDS, Parcel.Status.FOUND]).select_related("photo").order_by("label")
    )


def missing_parcels(*, station: ServiceCenter, limit: int = 20) -> list[Parcel]:
    """The station's parcels marked missing, latest run first: each may still turn up (``services.receive_found``)."""
    return list(
        Parcel.objects.filter(batch_stop__service_center=station, status=Parcel.Status.MISSING)
        .select_related("batch_stop__batch", "order__villager")
        .order_by("-batch_stop__batch__dispatch_date", "label")[:limit]
    )


def overdue_parcels(*, station: ServiceCenter) -> QuerySet[Parcel]:
    """Parcels at the station that were not collected in time (``services.flag_uncollected``)."""
    return Parcel.objects.filter(
        batch_stop__service_center=station, overdue_since__isnull=False, order__status=Order.Status.AT_STATION
    )


# --- the county -----------------------------------------------------------------------------------


def board_batches(*, counties: Iterable[County], day: date) -> QuerySet[DeliveryBatch]:
    """The counties' batches of a day with their vehicle, route and stops, by warehouse, route and code."""
    return (
        DeliveryBatch.objects.filter(warehouse__county__in=counties, dispatch_date=day)
        .select_related("vehicle", "route", "warehouse")
        .prefetch_related(Prefetch("stops", queryset=BatchStop.objects.select_related("service_center")))
        .order_by("warehouse__code", "route__code", "code")
    )


def board_pending_orders(*, counties: Iterable[County], limit: int = 200) -> QuerySet[Order]:
    """Confirmed orders not in a batch yet, with why the last plan left them out (if it did)."""
    return (
        Order.objects.filter(warehouse__county__in=counties, status=Order.Status.CONFIRMED)
        .select_related("service_center", "dispatch_issue")
        .order_by("service_center__code", "confirmed_at")[:limit]
    )


def board_unplanned_reasons(*, counties: Iterable[County]) -> list[tuple[str, int]]:
    """(the reason's label, how many orders) of the confirmed orders the last plans left out."""
    counts = (
        UnplannedOrder.objects.filter(warehouse__county__in=counties, order__status=Order.Status.CONFIRMED)
        .values("reason")
        .annotate(count=Count("pk"))
        .order_by("reason")
    )
    labels = dict(UnplannedOrder.Reason.choices)
    return [(labels.get(r["reason"], r["reason"]), r["count"]) for r in counts]


def county_batch(*, counties: Iterable[County], code: str) -> DeliveryBatch | None:
    return (
        DeliveryBatch.objects.select_related("vehicle", "route", "warehouse")
        .filter(code=code, warehouse__county__in=counties)
        .first()
    )


def manifest_stops(*, batch: DeliveryBatch) -> QuerySet[BatchStop]:
    """The batch's stops with their station, their parcels and their pickups (by label, with the order and villager)."""
    return batch.stops.select_related("service_center").prefetch_related(
        Prefetch("parcels", queryset=Parcel.objects.select_related("order__villager").order_by("label")),
        Prefetch("pickups", queryset=Pickup.objects.select_related("goods_return__order__villager").order_by("label")),
    )


def manifest_page_stops(*, batch: DeliveryBatch) -> list[BatchStop]:
    """``manifest_stops``, each installation parcel with its live appointment as ``appointment`` (a dict of
    ``day`` and ``half_day``, the half-day's name; None without one): one query more, for the whole batch."""
    stops = list(manifest_stops(batch=batch))
    installing = [p for stop in stops for p in stop.parcels.all() if p.order.delivery_method == "home_installation"]
    booked = appointments.live_for(p.order_id for p in installing)
    for parcel in installing:
        slot = booked.get(parcel.order_id)
        parcel.appointment = None if slot is None else {"day": slot[0], "half_day": appointments.HALF_DAYS[slot[1]]}
    return stops


def exception_parcels(*, counties: Iterable[County]) -> list[Parcel]:
    """The problem parcel of each order in exception in the counties, oldest run first.

    An order shipped again and lost again has two problem parcels: only the latest is in the list.
    """
    parcels = (
        Parcel.objects.filter(
            order__status=Order.Status.EXCEPTION,
            order__warehouse__county__in=counties,
            status__in=PROBLEM_KINDS,
        )
        .select_related("batch_stop__batch__vehicle", "batch_stop__service_center", "order__villager", "photo")
        .order_by("batch_stop__batch__dispatch_date", "pk")
    )
    latest = {}
    for parcel in parcels:
        latest[parcel.order_id] = parcel
    return list(latest.values())


def failed_installations(*, counties: Iterable[County]) -> list[Order]:
    """Orders in exception because their installation failed and the installer asked the county (one query).

    Told apart from a lost parcel by their last step into exception (``orders.selectors.failed_installations_among``).
    Each carries ``failed_note`` (the reason the installer gave) and ``failed_at``.
    """
    return list(
        order_selectors.failed_installations_among(
            Order.objects.filter(warehouse__county__in=counties, delivery_method=Order.DeliveryMethod.HOME_INSTALLATION)
        )
        .select_related("villager", "service_center")
        .order_by("failed_at", "pk")
    )


# --- photos of parcels -------------------------------------------------------------------------------


def visible_parcel_photo(*, pk: int, station: ServiceCenter | None, counties: Iterable[County]) -> ParcelPhoto | None:
    """A parcel's photo for the staff of the station it was delivered to or a manager of its order's county.

    Anyone else (another station, another county, nobody's staff) gets None: the photo does not exist.
    """
    scope = Q(parcel__order__warehouse__county__in=list(counties))
    if station is not None:
        scope |= Q(parcel__batch_stop__service_center=station)
    return ParcelPhoto.objects.filter(scope, pk=pk).select_related("parcel").first()


# --- the way back: pickups the county's warehouse receives -----------------------------------------

P = Pickup.Status
# On its way back: the driver took it, or it is on the return leg of a run that left (and not reported yet).
ON_THE_WAY = Q(status=P.COLLECTED) | Q(status=P.PLANNED, batch_stop__batch__status=B.IN_TRANSIT)


def county_pickups(*, counties: Iterable[County]) -> QuerySet[Pickup]:
    return Pickup.objects.filter(batch_stop__batch__warehouse__county__in=counties)


def pickups_on_the_way(*, counties: Iterable[County]) -> QuerySet[Pickup]:
    """The counties' pickups on their way back to the warehouse, by run (oldest first), stop and label."""
    return (
        county_pickups(counties=counties)
        .filter(ON_THE_WAY)
        .select_related("batch_stop__batch__vehicle", "batch_stop__service_center", "goods_return__order")
        .order_by("batch_stop__batch__dispatch_date", "batch_stop__batch__code", "batch_stop__sequence", "label")
    )


def county_pickup(*, counties: Iterable[County], label: str) -> Pickup | None:
    """A pickup of the counties' runs with its stop, run, goods and their lines (with the product)."""
    return (
        county_pickups(counties=counties)
        .filter(label=label)
        .select_related("batch_stop__batch", "batch_stop__service_center", "goods_return__order__villager")
        .prefetch_related(
            Prefetch(
                "goods_return__lines",
                queryset=GoodsReturnLine.objects.select_related("order_line__product").order_by("pk"),
            )
        )
        .first()
    )


def _live_pickup(batch_status: str):
    return Pickup.objects.filter(goods_return=OuterRef("pk"), status=P.PLANNED, batch_stop__batch__status=batch_status)


def goods_waiting(*, counties: Iterable[County], limit: int = 200) -> QuerySet[GoodsReturn]:
    """Goods still at the counties' stations, oldest first: ``planned_on`` the run that will take them, if one is
    planned, else ``waiting_reason`` says why the last run did not.  Those on a run that left are on their way.
    """
    return (
        GoodsReturn.objects.filter(status=GoodsReturn.Status.WAITING, order__warehouse__county__in=counties)
        .exclude(Exists(_live_pickup(B.IN_TRANSIT)))
        .annotate(planned_on=Subquery(_live_pickup(B.PLANNED).values("batch_stop__batch__code")[:1]))
        .select_related("order__service_center")
        .order_by("created_at", "pk")[:limit]
    )


def returns_figures(*, counties: Iterable[County]) -> dict:
    """How many goods are on their way back and how many still wait at the stations: one query."""
    on_the_way = Q(status=GoodsReturn.Status.ON_ITS_WAY) | Q(
        Exists(_live_pickup(B.IN_TRANSIT)), status=GoodsReturn.Status.WAITING
    )
    waiting = Q(status=GoodsReturn.Status.WAITING) & ~Q(Exists(_live_pickup(B.IN_TRANSIT)))
    return GoodsReturn.objects.filter(order__warehouse__county__in=counties).aggregate(
        goods_on_the_way=Count("pk", filter=on_the_way), goods_waiting=Count("pk", filter=waiting)
    )
