"""Planning delivery runs: set-based, one short transaction per run, safe to run twice at once.

Planning is set-based: a handful of queries to read the day, packing in
Python, then one short transaction per batch (claim its orders with
``FOR UPDATE SKIP LOCKED``, write batch, stops, parcels, events, and the
return leg's pickups).  Queries grow with the number of batches, not of
orders.  A batch is committed whole or not at all, so a worker killed half way
leaves complete batches and confirmed orders, and the next run picks the rest up.
"""

import logging
import secrets
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from notifications import services as notifications
from orders import services as order_services
from orders.models import Order
from partners.models import ServiceCenter, Warehouse
from ruralshop.lookups import in_ids  # and field__any_of (registered on import)

from . import pickups, webhooks
from .models import BatchStop, DeliveryBatch, Parcel, Route, UnplannedOrder, Vehicle
from .packing import Item, Truck, pack

logger = logging.getLogger("ruralshop.dispatch")
S = Order.Status
B = DeliveryBatch.Status
R = UnplannedOrder.Reason
ADVISORY_NAMESPACE = 7_000_001  # first key of pg_advisory_lock(int, int): "dispatch planning"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


@dataclass
class BatchSummary:
    code: str
    route: str
    vehicle: str
    parcels: int
    stops: int
    load_percent: int


@dataclass
class PlanReport:
    warehouse: str
    dispatch_date: date
    busy: bool = False  # another planner holds this warehouse right now
    batches: list[BatchSummary] = field(default_factory=list)
    unplanned: Counter = field(default_factory=Counter)  # reason -> orders
    lost_races: int = 0  # batches dropped because their orders or vehicle were taken meanwhile

    @property
    def parcels(self) -> int:
        return sum(b.parcels for b in self.batches)


# --- planning --------------------------------------------------------------------------


@contextmanager
def _planning_lock(warehouse: Warehouse):
    """One planner per warehouse at a time, on PostgreSQL.

    A session-level advisory lock: two beat processes or a redelivered task
    find it taken and step aside; a planner killed by SIGKILL loses its
    session and with it the lock.  SQLite serialises writers anyway.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [ADVISORY_NAMESPACE, warehouse.pk])
        acquired = cursor.fetchone()[0]
    try:
        yield acquired
    finally:
        if acquired:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [ADVISORY_NAMESPACE, warehouse.pk])


def cutoff_moment(route: Route, day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, route.cutoff_time))


def plan_dispatch(*, warehouse: Warehouse, dispatch_date: date, route_ids: list[int] | None = None) -> PlanReport:
    """Put the warehouse's eligible confirmed orders into vehicle runs for ``dispatch_date``.

    Eligible: confirmed, in no batch, confirmed before its route's cutoff on
    that day, on a route that leaves that weekday.  The others get a reason
    (UnplannedOrder) and stay confirmed.  Safe to run again and to run twice
    at once.
    """
    report = PlanReport(warehouse=warehouse.code, dispatch_date=dispatch_date)
    with _planning_lock(warehouse) as acquired:
        if not acquired:
            report.busy = True
            return report
        _plan(warehouse, dispatch_date, route_ids, report)
    return report


def _plan(warehouse: Warehouse, day: date, route_ids: list[int] | None, report: PlanReport) -> None:
    routes = Route.objects.filter(warehouse=warehouse).prefetch_related("stops", "vehicles")
    if route_ids is not None:
        routes = routes.filter(pk__in=route_ids)
    routes = list(routes)
    route_of_station = {stop.service_center_id: route for route in routes for stop in route.stops.all()}
    busy = set(
        DeliveryBatch.objects.filter(dispatch_date=day).exclude(status=B.CANCELLED).values_list("vehicle_id", flat=True)
    )
    orders = Order.objects.filter(warehouse=warehouse, status=S.CONFIRMED)
    if route_ids is not None:
        # A route's own run looks at its stations' orders, and at the orders of
        # stations on no route, so those always carry their reason.
        orders = orders.filter(
            Q(service_center__route_stop__route_id__in=route_ids) | Q(service_center__route_stop__isnull=True)
        )
    items_by_route: dict[int, list[Item]] = defaultdict(list)
    reasons: dict[int, str] = {}
    cutoff = {route.pk: cutoff_moment(route, day) for route in routes}  # once per route, not per order
    for pk, station_id, weight, volume, confirmed_at in orders.values_list(
        "pk", "service_center_id", "weight_kg", "volume_m3", "confirmed_at"
    ).iterator(chunk_size=5000):
        route = route_of_station.get(station_id)
        if route is None:
            reasons[pk] = R.NO_ROUTE
        elif not route.departs_on(day):
            reasons[pk] = R.NO_DEPARTURE
        elif confirmed_at is not None and confirmed_at >= cutoff[route.pk]:
            reasons[pk] = R.AFTER_CUTOFF
        else:
            items_by_route[route.pk].append(Item(pk, weight, volume))

    # The way back: the goods waiting at the stations of the routes that leave today, read once for the plan.
    leaving = [route for route in routes if route.departs_on(day)]
    goods = pickups.waiting_goods([stop.service_center_id for route in leaving for stop in route.stops.all()], day)
    pools = []
    for route in routes:
        items = items_by_route.get(route.pk)
        stop_sequence = {stop.service_center_id: stop.sequence for stop in route.stops.all()}
        pool = pickups.ReturnPool(goods if route.departs_on(day) else {}, stop_sequence)
        pools.append(pool)
        if not items:
            # Nothing to deliver: a run still goes if goods wait to come back (a pickup-only run).
            if pool:
                _pickup_only_run(warehouse, route, day, busy, report, pool)
            continue
        fleet = [Truck(v.pk, v.capacity_kg, v.capacity_m3) for v in route.vehicles.all() if v.is_active]
        packing = pack(items, [t for t in fleet if t.vehicle_id not in busy], fleet=fleet)
        reasons.update({item.order_id: R.TOO_LARGE for item in packing.too_large})
        reasons.update({item.order_id: R.NO_VEHICLE for item in packing.no_truck_left})
        vehicles = {v.pk: v for v in route.vehicles.all()}
        for load in packing.loads:
            summary = _commit_batch(
                warehouse=warehouse,
                route=route,
                vehicle=vehicles[load.truck.vehicle_id],
                day=day,
                order_ids=[item.order_id for item in load.items],
                stop_sequence=stop_sequence,
                pool=pool,
            )
            if summary is None:
                report.lost_races += 1
            else:
                report.batches.append(summary)
                busy.add(load.truck.vehicle_id)
            if pause := getattr(settings, "DISPATCH_DRILL_PAUSE_AFTER_BATCH", 0):
                # Fault drills only (set by tests/settings.py): a window in which to kill the planner.
                time.sleep(pause)

    _record_reasons(warehouse, day, reasons, route_ids=route_ids)
    pickups.record_no_room(pools)
    report.unplanned = Counter(reasons.values())


def _pickup_only_run(
    warehouse: Warehouse, route: Route, day: date, busy: set, report: PlanReport, pool: pickups.ReturnPool
) -> None:
    """A run for the return leg alone, on the route's first free vehicle."""
    free = [v for v in route.vehicles.all() if v.is_active and v.pk not in busy]
    if not free:
        return
    summary = _commit_batch(
        warehouse=warehouse,
        route=route,
        vehicle=free[0],
        day=day,
        order_ids=[],
        stop_sequence={stop.service_center_id: stop.sequence for stop in route.stops.all()},
        pool=pool,
    )
    if summary is not None:
        report.batches.append(summary)
        busy.add(free[0].pk)


def _commit_batch(
    *,
    warehouse,
    route,
    vehicle: Vehicle,
    day: date,
    order_ids,
    stop_sequence,
    pool: pickups.ReturnPool | None = None,
    notify: bool = True,
) -> BatchSummary | None:
    """Write one batch whole, or nothing (its orders stay confirmed for the next run).

    Its return leg comes from the route's ``pool`` (the plan's), which learns what the run took once it is
    committed; without one (a run planned on its own) the goods waiting at its stations are read for it.
    No ``order_ids``: a pickup-only run, written only if goods it can take wait at its stations.
    """
    alone = pool is None
    if alone:
        pool = pickups.ReturnPool(pickups.waiting_goods(stop_sequence, day), stop_sequence)
    try:
        with transaction.atomic():
            # Claim the orders: rows another planner holds are skipped, rows
            # it already batched no longer match status=confirmed.
            claimed = list(
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__any_of=order_ids, status=S.CONFIRMED)
                .order_by("pk")
                .values_list("pk", "number", "service_center_id", "weight_kg", "volume_m3")
            )
            if not claimed and order_ids:
                return None
            code = f"{route.code}-{day:%y%m%d}-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(4))
            batch = DeliveryBatch.objects.create(
                code=code.upper(),
                warehouse=warehouse,
                route=route,
                vehicle=vehicle,
                dispatch_date=day,
                total_weight_kg=sum((c[3] for c in claimed), Decimal("0")),
                total_volume_m3=sum((c[4] for c in claimed), Decimal("0")),
                parcel_count=len(claimed),
            )
            # The return leg: goods waiting at the route's stations, in stop order, in the room the deliveries leave.
            leg = pickups.lock_return_leg(
                pool.offer(
                    room_kg=vehicle.capacity_kg - batch.total_weight_kg,
                    room_m3=vehicle.capacity_m3 - batch.total_volume_m3,
                )
            )
            if not claimed and not leg.loaded:
                transaction.set_rollback(True)  # a pickup-only run with nothing to pick up: no run
                return None
            stations = sorted({c[2] for c in claimed} | leg.stations, key=lambda station_id: stop_sequence[station_id])
            stops = BatchStop.objects.bulk_create(
                BatchStop(batch=batch, service_center_id=station_id, sequence=n)
                for n, station_id in enumerate(stations, start=1)
            )
            stop_of = {stop.service_center_id: stop for stop in stops}
            ids = [c[0] for c in claimed]
            _write_parcels(batch, ids)
            pickups.load_return_leg(batch=batch, leg=leg, stop_of=stop_of)
            # All or none (the rows are locked, so all): a refusal rolls the whole batch back.
            order_services.transition_many(ids, from_status=S.CONFIRMED, to=S.BATCHED, note=batch.code, savepoint=False)
            # In a batch now: whatever reason an earlier run left goes with the batch (a run killed
            # before _record_reasons must not leave a truck's orders listed as waiting).
            UnplannedOrder.objects.filter(order_id__any_of=ids).delete()
            if notify:
                _notify_stations(batch, Counter(c[2] for c in claimed))
            webhooks.queue_batch_event(batch, "batch.planned")
    except (IntegrityError, order_services.InvalidTransition):
        # The vehicle was taken for the day, or a parcel already exists for
        # an order: another planner won this batch.  Nothing was written.
        logger.info("dispatch: batch for %s on %s dropped (taken by another planner)", route.code, day)
        return None
    pool.settle(leg, code=batch.code, day=batch.dispatch_date)
    if alone:
        pickups.record_no_room([pool])
    return BatchSummary(
        code=batch.code,
        route=route.code,
        vehicle=vehicle.plate,
        parcels=len(claimed),
        stops=len(stops),
        load_percent=batch.load_percent,
    )


PARCELS_SQL = """
    INSERT INTO {parcel} (batch_stop_id, order_id, label, weight_kg, volume_m3, status, note)
    SELECT st.id, o.id, 'P' || o.number || CASE
               WHEN earlier.n IS NULL THEN '' ELSE '-' || CAST(earlier.n + 1 AS TEXT) END,
           o.weight_kg, o.volume_m3, 'loaded', ''
    FROM {order} o
    JOIN {stop} st ON st.batch_id = %s AND st.service_center_id = o.service_center_id
    LEFT JOIN (SELECT order_id, COUNT(*) AS n FROM {parcel} WHERE {earlier_ids} GROUP BY order_id) earlier
           ON earlier.order_id = o.id
    WHERE {order_ids}
    ORDER BY o.id
"""


def _write_parcels(batch: DeliveryBatch, order_ids: list[int]) -> None:
    """A parcel per order at its station's stop, written by the database from the order rows (INSERT ... SELECT).

    Labelled P<order number>; an order shipped again after a lost or broken parcel has parcels already, so its
    next one is P<number>-2, -3...  A parcel already live for an order breaks ``parcel_one_live_per_order``:
    an IntegrityError, and the caller's batch is rolled back whole.
    """
    if not order_ids:
        return
    earlier_ids, earlier_params = in_ids("order_id", order_ids, connection)
    order_ids_sql, order_params = in_ids("o.id", order_ids, connection)
    query = PARCELS_SQL.format(
        parcel=Parcel._meta.db_table,
        order=Order._meta.db_table,
        stop=BatchStop._meta.db_table,
        earlier_ids=earlier_ids,
        order_ids=order_ids_sql,
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [batch.pk, *earlier_params, *order_params])


def _notify_stations(batch: DeliveryBatch, parcels_per_station: Counter) -> None:
    """An SMS to each station with a phone: how many parcels come, on which run (the outbox, sent after commit)."""
    phones = dict(ServiceCenter.objects.filter(pk__in=parcels_per_station).exclude(phone="").values_list("pk", "phone"))
    payload = {"batch": batch.code, "date": batch.dispatch_date.isoformat()}
    notifications.queue_sms(
        notifications.Sms(
            str(phone), "batch_planned", {**payload, "parcels": parcels_per_station[pk]}, reference=batch.code
        )
        for pk, phone in phones.items()
    )


def _record_reasons(warehouse: Warehouse, day: date, reasons: dict[int, str], *, route_ids=None) -> None:
    """Replace the reasons of the orders this run looked at (all of the warehouse, or its routes' and route-less ones)."""
    stale = UnplannedOrder.objects.filter(warehouse=warehouse)
    if route_ids is not None:
        stale = stale.filter(
            Q(order__service_center__route_stop__route_id__in=route_ids)
            | Q(order__service_center__route_stop__isnull=True)
        )
    with transaction.atomic():
        stale.delete()
        UnplannedOrder.objects.bulk_create(
            (
                UnplannedOrder(order_id=pk, warehouse=warehouse, dispatch_date=day, reason=reason)
                for pk, reason in reasons.items()
            ),
            batch_size=2000,
            ignore_conflicts=True,
        )


# --- moving ----------------------------------------------------------------------------------
