"""Celery tasks of dispatch: ids in, one service call, safe to run twice."""

from datetime import date

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from partners.models import Warehouse

from . import services, webhooks
from .models import Route

PLAN_LIMITS = {"time_limit": 900, "soft_time_limit": 840}  # below the broker's visibility timeout (3600 s)


def _day(iso: str | None) -> date:
    return date.fromisoformat(iso) if iso else timezone.localdate()


BUSY_RETRY_S = 20  # another run holds the warehouse: try again when it is likely done
BUSY_RETRIES = 15


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=False,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=BUSY_RETRIES,
    **PLAN_LIMITS,
)
def plan_warehouse(self, warehouse_id: int, dispatch_date: str | None = None) -> dict:
    """Plan every route of one warehouse for a day (default: today)."""
    warehouse = Warehouse.objects.get(pk=warehouse_id)
    report = services.plan_dispatch(warehouse=warehouse, dispatch_date=_day(dispatch_date))
    if report.busy:
        # Another run holds the warehouse (another route's cutoff, a duplicate
        # delivery): plan after it instead of reporting a success that planned nothing.
        raise self.retry(countdown=BUSY_RETRY_S)
    return _summary(report)


@shared_task(
    bind=True,
    acks_late=True,
    ignore_result=False,
    autoretry_for=(OperationalError,),
    retry_backoff=30,
    max_retries=BUSY_RETRIES,
    **PLAN_LIMITS,
)
def plan_route(self, route_id: int, dispatch_date: str | None = None) -> dict:
    """Beat runs this at each route's cutoff (see logistics.schedules)."""
    route = Route.objects.select_related("warehouse").filter(pk=route_id).first()
    if route is None:
        return {"skipped": f"route {route_id} no longer exists"}
    # The date is fixed at the first attempt, so a retry after midnight still plans the cutoff's day.
    dispatch_date = dispatch_date or timezone.localdate().isoformat()
    report = services.plan_dispatch(warehouse=route.warehouse, dispatch_date=_day(dispatch_date), route_ids=[route.pk])
    if report.busy:
        # Another route of the warehouse (same cutoff) or a duplicate delivery holds the
        # warehouse: plan after it instead of reporting a success that planned nothing.
        raise self.retry(args=[route_id, dispatch_date], countdown=BUSY_RETRY_S)
    return _summary(report)


@shared_task(time_limit=300)
def flag_uncollected_parcels() -> int:
    return services.flag_uncollected()


def _summary(report: services.PlanReport) -> dict:
    return {
        "warehouse": report.warehouse,
        "date": report.dispatch_date.isoformat(),
        "busy": report.busy,
        "batches": len(report.batches),
        "parcels": report.parcels,
        "unplanned": dict(report.unplanned),
        "lost_races": report.lost_races,
    }


@shared_task(bind=True, acks_late=True, max_retries=webhooks.MAX_ATTEMPTS - 1, time_limit=60, soft_time_limit=45)
def deliver_webhook(self, delivery_id: int) -> str:
    """POST one signed webhook; a failing receiver is retried with exponential backoff, then marked failed."""
    outcome = webhooks.deliver(delivery_id)
    if outcome == webhooks.RETRY:
        raise self.retry(countdown=outcome.retry_in)
    return str(outcome)


@shared_task(time_limit=120, soft_time_limit=100)
def resend_stuck_webhooks() -> int:
    """Re-queue webhook deliveries whose task was lost: never queued (a broker outage at commit), or whose retry
    vanished (a broker restart, a worker killed mid-POST), once their backoff and grace have passed."""
    return webhooks.OUTBOX.requeue_stuck()
