"""Consolidated dispatch: moving delivery runs and receiving them at the stations (planning: ``planning``)."""

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import returns
from orders import services as order_services
from orders.models import Order
from orders.policy import collection_policy

from . import pickups, webhooks
from .models import BatchStop, DeliveryBatch, Parcel
from .planning import BatchSummary, PlanReport, _commit_batch, _notify_stations, _planning_lock, plan_dispatch

S = Order.Status
B = DeliveryBatch.Status
# Planning lives in .planning; its entry points stay reachable here, where callers have always found them.
__all__ = ["BatchSummary", "PlanReport", "_commit_batch", "_notify_stations", "_planning_lock", "plan_dispatch"]


class DispatchError(Exception):
    """A refused batch operation; ``str(exc)`` says why."""


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
        pickups.leave_behind(batch=batch, reason=_("run %(code)s was cancelled") % {"code": batch.code})
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
        # The station hands its goods going back to the driver as it takes its parcels.
        pickups.collect(stop=stop)
        stop.status = BatchStop.Status.RECEIVED
        stop.received_at = timezone.now()
        stop.arrived_at = stop.arrived_at or stop.received_at
        stop.received_by = actor
        stop.save(update_fields=["status", "received_at", "arrived_at", "received_by"])
        if not stop.batch.stops.exclude(status=BatchStop.Status.RECEIVED).exists():
            DeliveryBatch.objects.filter(pk=stop.batch_id, status=B.IN_TRANSIT).update(
                status=B.COMPLETED, completed_at=timezone.now()
            )
            pickups.leave_behind(
                batch=stop.batch, reason=_("not collected by run %(code)s") % {"code": stop.batch.code}
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
        if kind == Parcel.Status.DAMAGED:  # the broken goods go back on a run, into quarantine
            returns.damaged_goods_back(order=parcel.order, actor=actor, note=f"{parcel.label}: {note}"[:500])
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
        # Explicitly, never silently: pickups the driver did not take wait for the next run.
        pickups.leave_behind(batch=batch, reason=_("not collected by run %(code)s") % {"code": batch.code})
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
            if kind == Parcel.Status.DAMAGED:
                returns.damaged_goods_back(order=parcel.order, note=f"{parcel.label}: {note}"[:500])
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


def receive_found(*, parcel: Parcel, actor=None, note: str = "") -> Parcel:
    """A parcel marked missing turns up at its station: it is received as found.

    While its order still waits for the county (exception), the parcel is
    delivered after all: the order is at the station and the villager is told.
    Once the order has moved on (shipped again, or cancelled), the goods are
    the warehouse's again: they go back on a run's return leg to the shelf
    (``orders.returns.found_goods_back``).  Only a missing parcel can be found;
    finding it twice is refused with the reason.
    """
    note = (note or "").replace("\x00", "").strip()
    with transaction.atomic():
        parcel = Parcel.objects.select_for_update().select_related("batch_stop").get(pk=parcel.pk)
        if parcel.status != Parcel.Status.MISSING:
            raise DispatchError(
                _("Parcel %(label)s is %(status)s: only a parcel marked missing can be received as found.")
                % {"label": parcel.label, "status": Parcel.Status(parcel.status).label}
            )
        order = Order.objects.select_for_update().get(pk=parcel.order_id)
        found = (_("found: %(note)s") % {"note": note} if note else _("found at the station"))[:500]
        if order.status == S.EXCEPTION and not order.parcels.filter(status__in=LIVE_PARCELS).exists():
            Parcel.objects.filter(pk=parcel.pk).update(status=Parcel.Status.DELIVERED, note=found)
            order_services.found_at_station([order.pk], actor=actor, note=f"{parcel.label}: {found}"[:500])
        else:
            Parcel.objects.filter(pk=parcel.pk).update(status=Parcel.Status.FOUND, note=found)
            returns.found_goods_back(order=order, actor=actor, note=f"{parcel.label}: {found}"[:500])
        bump_batch_version(parcel.batch_stop.batch_id)
    parcel.refresh_from_db()
    return parcel


LIVE_PARCELS = (Parcel.Status.LOADED, Parcel.Status.DELIVERED)


def flag_uncollected(*, today: date | None = None) -> int:
    """Mark parcels waiting at a station past the collection policy's send-back day, for the partner to send back.

    Not an installation order's: it waits for its installer (an appointment), not for the villager to come."""
    today = today or timezone.localdate()
    cutoff = timezone.make_aware(datetime.combine(today, datetime.min.time())) - timedelta(
        days=collection_policy().send_back_after_days
    )
    return (
        Parcel.objects.filter(
            status=Parcel.Status.DELIVERED,
            overdue_since__isnull=True,
            order__status=S.AT_STATION,
            batch_stop__received_at__lt=cutoff,
        )
        .exclude(order__delivery_method=Order.DeliveryMethod.HOME_INSTALLATION)
        .update(overdue_since=today)
    )


def bump_batch_version(batch_id) -> None:
    """A change to a batch's stops or parcels: a new version, so no cached manifest of the old one is served.

    Called after the change, in its transaction: a reader that sees the new version also sees the change.
    """
    DeliveryBatch.objects.filter(pk=batch_id).update(version=F("version") + 1)


def bump_order_batches(order_ids) -> None:
    """A change to the orders that their runs' manifests show (an installation appointment booked or ended): a
    new version of every batch with a parcel of theirs, so no cached manifest shows the old one (one UPDATE)."""
    DeliveryBatch.objects.filter(
        pk__in=Parcel.objects.filter(order_id__in=order_ids).values("batch_stop__batch_id")
    ).update(version=F("version") + 1)


def _labels(batch: DeliveryBatch) -> dict:
    return {"code": batch.code, "status": B(batch.status).label}
