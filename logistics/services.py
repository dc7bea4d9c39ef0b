"""Consolidated dispatch: planning delivery runs, moving them, receiving them at the stations.

Planning is set-based: a handful of queries to read the day, packing in
Python, then one short transaction per batch (claim its orders with
``FOR UPDATE SKIP LOCKED``, write batch, stops, parcels, events).  Queries grow
with the number of batches, not of orders.  A batch is committed whole or
not at all, so a worker killed half way leaves complete batches and
confirmed orders, and the next run picks the rest up.
"""

import logging
import secrets
import time
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import services as notifications
from orders import services as order_services
from orders.models import Order
from partners.models import ServiceCenter, Warehouse

from . import webhooks
from .models import BatchStop, DeliveryBatch, Parcel, Route, UnplannedOrder, Vehicle
from .packing import Item, Truck, pack

logger = logging.getLogger("ruralshop.dispatch")
S = Order.Status
B = DeliveryBatch.Status
R = UnplannedOrder.Reason
ADVISORY_NAMESPACE = 7_000_001  # first key of pg_advisory_lock(int, int): "dispatch planning"
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"


class DispatchError(Exception):
    """A refused batch operation; ``str(exc)`` says why."""


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
    for pk, station_id, weight, volume, confirmed_at in orders.values_list(
        "pk", "service_center_id", "weight_kg", "volume_m3", "confirmed_at"
    ).iterator(chunk_size=5000):
        route = route_of_station.get(station_id)
        if route is None:
            reasons[pk] = R.NO_ROUTE
        elif not route.departs_on(day):
            reasons[pk] = R.NO_DEPARTURE
        elif confirmed_at is not None and confirmed_at >= cutoff_moment(route, day):
            reasons[pk] = R.AFTER_CUTOFF
        else:
            items_by_route[route.pk].append(Item(pk, weight, volume))

    for route in routes:
        items = items_by_route.get(route.pk)
        if not items:
            continue
        fleet = [Truck(v.pk, v.capacity_kg, v.capacity_m3) for v in route.vehicles.all() if v.is_active]
        packing = pack(items, [t for t in fleet if t.vehicle_id not in busy], fleet=fleet)
        reasons.update({item.order_id: R.TOO_LARGE for item in packing.too_large})
        reasons.update({item.order_id: R.NO_VEHICLE for item in packing.no_truck_left})
        stop_sequence = {stop.service_center_id: stop.sequence for stop in route.stops.all()}
        vehicles = {v.pk: v for v in route.vehicles.all()}
        for load in packing.loads:
            summary = _commit_batch(
                warehouse=warehouse,
                route=route,
                vehicle=vehicles[load.truck.vehicle_id],
                day=day,
                order_ids=[item.order_id for item in load.items],
                stop_sequence=stop_sequence,
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
    report.unplanned = Counter(reasons.values())


def _commit_batch(
    *, warehouse, route, vehicle: Vehicle, day: date, order_ids, stop_sequence, notify: bool = True
) -> BatchSummary | None:
    """Write one batch whole, or nothing (its orders stay confirmed for the next run)."""
    try:
        with transaction.atomic():
            # Claim the orders: rows another planner holds are skipped, rows
            # it already batched no longer match status=confirmed.
            claimed = list(
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk__in=order_ids, status=S.CONFIRMED)
                .order_by("pk")
                .values_list("pk", "number", "service_center_id", "weight_kg", "volume_m3")
            )
            if not claimed:
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
            stations = sorted({c[2] for c in claimed}, key=lambda station_id: stop_sequence[station_id])
            stops = BatchStop.objects.bulk_create(
                BatchStop(batch=batch, service_center_id=station_id, sequence=n)
                for n, station_id in enumerate(stations, start=1)
            )
            stop_of = {stop.service_center_id: stop for stop in stops}
            ids = [c[0] for c in claimed]
            # An order shipped again after a lost or broken parcel has parcels already: P<number>-2, -3...
            earlier = Counter(Parcel.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
            Parcel.objects.bulk_create(
                Parcel(
                    batch_stop=stop_of[station],
                    order_id=pk,
                    label=f"P{number}" + (f"-{earlier[pk] + 1}" if earlier[pk] else ""),
                    weight_kg=kg,
                    volume_m3=m3,
                )
                for pk, number, station, kg, m3 in claimed
            )
            # All or none (the rows are locked, so all): a refusal rolls the whole batch back.
            order_services.transition_many(ids, from_status=S.CONFIRMED, to=S.BATCHED, note=batch.code, savepoint=False)
            # In a batch now: whatever reason an earlier run left goes with the batch (a run killed
            # before _record_reasons must not leave a truck's orders listed as waiting).
            UnplannedOrder.objects.filter(order_id__in=ids).delete()
            if notify:
                _notify_stations(batch, Counter(c[2] for c in claimed))
            webhooks.queue_batch_event(batch, "batch.planned")
    except (IntegrityError, order_services.InvalidTransition):
        # The vehicle was taken for the day, or a parcel already exists for
        # an order: another planner won this batch.  Nothing was written.
        logger.info("dispatch: batch for %s on %s dropped (taken by another planner)", route.code, day)
        return None
    return BatchSummary(
        code=batch.code,
        route=route.code,
        vehicle=vehicle.plate,
        parcels=len(claimed),
        stops=len(stops),
        load_percent=batch.load_percent,
    )


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


def _order_ids(batch: DeliveryBatch) -> list[int]:
    return list(Parcel.objects.filter(batch_stop__batch=batch).values_list("order_id", flat=True))


def depart_batch(*, batch: DeliveryBatch, actor=None) -> DeliveryBatch:
    """The truck left: the batch and its orders are in transit.  Departing twice is a no-op."""
    with transaction.atomic():
        changed = DeliveryBatch.objects.filter(pk=batch.pk, status=B.PLANNED).update(
            status=B.IN_TRANSIT, departed_at=timezone.now(), version=F("version") + 1
        )
        if changed != 1:
            batch.refresh_from_db()
            if batch.status == B.IN_TRANSIT:
                return batch
            raise DispatchError(_("Batch %(code)s is %(status)s and cannot depart.") % _labels(batch))
        try:
            order_services.depart_orders(_order_ids(batch), actor=actor)
        except order_services.OrderError as exc:
            raise DispatchError(str(exc)) from None
    batch.refresh_from_db()
    return batch


def cancel_batch(*, batch: DeliveryBatch, actor=None) -> DeliveryBatch:
    """Call off a planned run: its orders go back to confirmed and into the next plan."""
    with transaction.atomic():
        changed = DeliveryBatch.objects.filter(pk=batch.pk, status=B.PLANNED).update(
            status=B.CANCELLED, version=F("version") + 1
        )
        if changed != 1:
            batch.refresh_from_db()
            raise DispatchError(_("Batch %(code)s is %(status)s and cannot be cancelled.") % _labels(batch))
        ids = _order_ids(batch)
        Parcel.objects.filter(batch_stop__batch=batch).delete()
        BatchStop.objects.filter(batch=batch).delete()
        order_services.transition_many(
            ids,
            from_status=S.BATCHED,
            to=S.CONFIRMED,
            actor=actor,
            note=_("batch %(code)s cancelled") % {"code": batch.code},
        )
        batch.refresh_from_db()
        webhooks.queue_batch_event(batch, "batch.cancelled")
    return batch


def arrive_at_stop(*, batch: DeliveryBatch, sequence: int) -> BatchStop:
    """The truck reached a stop.  Arriving twice is a no-op."""
    with transaction.atomic():
        stop = BatchStop.objects.select_for_update().filter(batch=batch, sequence=sequence).first()
        if stop is None:
            raise DispatchError(
                _("Batch %(code)s has no stop %(sequence)s.") % {"code": batch.code, "sequence": sequence}
            )
        if batch.status != B.IN_TRANSIT:
            raise DispatchError(_("Batch %(code)s has not departed.") % {"code": batch.code})
        if stop.status == BatchStop.Status.PENDING:
            stop.status = BatchStop.Status.ARRIVED
            stop.arrived_at = timezone.now()
            stop.save(update_fields=["status", "arrived_at"])
            bump_batch_version(batch.pk)
    return stop


def receive_stop(
    *, stop: BatchStop, actor, problems: dict[int, tuple[str, str]] | None = None, notify: bool = True
) -> BatchStop:
    """The station checks its parcels in.

    Every parcel still on the truck and not named in ``problems`` ({parcel id:
    (missing|damaged, note)}) is delivered: its order waits at the station and
    the villager gets an SMS.  A missing or damaged parcel puts its order into
    exception, for the county to ship again or cancel.  Receiving twice
    changes nothing.  The batch completes with its last stop.
    """
    problems = problems or {}
    if any(kind not in PROBLEM_KINDS for kind, _note in problems.values()):
        raise DispatchError(_("A parcel problem is either missing or damaged."))
    with transaction.atomic():
        stop = BatchStop.objects.select_for_update().select_related("batch").get(pk=stop.pk)
        if stop.status == BatchStop.Status.RECEIVED:
            return stop
        if stop.batch.status != B.IN_TRANSIT:
            raise DispatchError(_("This delivery has not left the warehouse yet."))
        parcels = list(stop.parcels.filter(status=Parcel.Status.LOADED))
        delivered = [p for p in parcels if p.pk not in problems]
        for parcel in parcels:
            if parcel.pk in problems:
                kind, note = problems[parcel.pk]
                _mark_problem(parcel, kind=kind, note=note, actor=actor)
        Parcel.objects.filter(pk__in=[p.pk for p in delivered]).update(status=Parcel.Status.DELIVERED)
        try:
            order_services.arrive_orders([p.order_id for p in delivered], actor=actor, notify=notify)
        except order_services.OrderError as exc:
            raise DispatchError(str(exc)) from None
        stop.status = BatchStop.Status.RECEIVED
        stop.received_at = timezone.now()
        stop.arrived_at = stop.arrived_at or stop.received_at
        stop.received_by = actor
        stop.save(update_fields=["status", "received_at", "arrived_at", "received_by"])
        if not stop.batch.stops.exclude(status=BatchStop.Status.RECEIVED).exists():
            DeliveryBatch.objects.filter(pk=stop.batch_id, status=B.IN_TRANSIT).update(
                status=B.COMPLETED, completed_at=timezone.now()
            )
        bump_batch_version(stop.batch_id)
    return stop


PROBLEM_KINDS = (Parcel.Status.MISSING, Parcel.Status.DAMAGED)


def _mark_problem(parcel: Parcel, *, kind: str, note: str, actor=None) -> None:
    """A parcel on the truck found missing or damaged: the parcel says so and its order goes into exception."""
    changed = Parcel.objects.filter(pk=parcel.pk, status=Parcel.Status.LOADED).update(status=kind, note=note[:500])
    if changed != 1:
        raise DispatchError(_("Parcel %(label)s is no longer on the truck.") % {"label": parcel.label})
    try:
        order_services.report_missing_or_damaged([parcel.order_id], actor=actor, note=f"{parcel.label}: {note}"[:500])
    except order_services.OrderError as exc:
        raise DispatchError(str(exc)) from None


def complete_batch(*, batch: DeliveryBatch) -> DeliveryBatch:
    """The logistics company closes the run: every stop must have been reached.  Completing twice is a no-op."""
    with transaction.atomic():
        batch = DeliveryBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status == B.COMPLETED:
            return batch
        if batch.status != B.IN_TRANSIT:
            raise DispatchError(_("Batch %(code)s is %(status)s and cannot be completed.") % _labels(batch))
        waiting = list(batch.stops.filter(status=BatchStop.Status.PENDING).values_list("sequence", flat=True))
        if waiting:
            raise DispatchError(
                _("Stops %(stops)s of batch %(code)s have not been reached.")
                % {"stops": ", ".join(map(str, waiting)), "code": batch.code}
            )
        # A stop reached but not yet checked in still has its orders in transit: completing the run
        # now would leave them there for good (the station could no longer receive them).
        unreceived = list(
            batch.stops.filter(status=BatchStop.Status.ARRIVED, parcels__status=Parcel.Status.LOADED)
            .distinct()
            .values_list("sequence", flat=True)
        )
        if unreceived:
            raise DispatchError(
                _("Stops %(stops)s of batch %(code)s have not received their parcels yet.")
                % {"stops": ", ".join(map(str, sorted(unreceived))), "code": batch.code}
            )
        batch.status = B.COMPLETED
        batch.completed_at = timezone.now()
        batch.version += 1  # the row is locked: no lost update
        batch.save(update_fields=["status", "completed_at", "version"])
    return batch


def report_parcel_exception(*, parcel: Parcel, kind: str, note: str = "") -> Parcel:
    """The logistics company reports a parcel missing or damaged while it is still on the truck.

    Its order goes into exception, as when the station finds it so.  A parcel
    already delivered (or reported before) is refused with the reason:
    reporting the same problem twice is a no-op.
    """
    if kind not in PROBLEM_KINDS:
        raise DispatchError(_("A parcel problem is either missing or damaged."))
    with transaction.atomic():
        parcel = Parcel.objects.select_for_update().select_related("batch_stop__batch").get(pk=parcel.pk)
        if parcel.status == kind:
            return parcel
        if parcel.status in PROBLEM_KINDS:
            # Reported missing, then found broken (or the other way round): the parcel says so;
            # its order is already waiting for the county.
            Parcel.objects.filter(pk=parcel.pk).update(status=kind, note=note[:500] or parcel.note)
            bump_batch_version(parcel.batch_stop.batch_id)
            parcel.refresh_from_db()
            return parcel
        if parcel.status != Parcel.Status.LOADED:
            raise DispatchError(
                _("Parcel %(label)s is %(status)s and can no longer be reported missing or damaged.")
                % {"label": parcel.label, "status": Parcel.Status(parcel.status).label}
            )
        if parcel.batch_stop.batch.status != B.IN_TRANSIT:
            raise DispatchError(_("Parcel %(label)s is not on a run in transit.") % {"label": parcel.label})
        _mark_problem(parcel, kind=kind, note=note)
        bump_batch_version(parcel.batch_stop.batch_id)
    parcel.refresh_from_db()
    return parcel


def flag_uncollected(*, today: date | None = None) -> int:
    """Mark parcels waiting at a station longer than PARCEL_PICKUP_DAYS, for return to the warehouse."""
    today = today or timezone.localdate()
    cutoff = timezone.make_aware(datetime.combine(today, datetime.min.time())) - timedelta(
        days=settings.PARCEL_PICKUP_DAYS
    )
    return Parcel.objects.filter(
        status=Parcel.Status.DELIVERED,
        overdue_since__isnull=True,
        order__status=S.AT_STATION,
        batch_stop__received_at__lt=cutoff,
    ).update(overdue_since=today)


def bump_batch_version(batch_id) -> None:
    """A change to a batch's stops or parcels: a new version, so no cached manifest of the old one is served.

    Called after the change, in its transaction: a reader that sees the new version also sees the change.
    """
    DeliveryBatch.objects.filter(pk=batch_id).update(version=F("version") + 1)


def _labels(batch: DeliveryBatch) -> dict:
    return {"code": batch.code, "status": B(batch.status).label}
