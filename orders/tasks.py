"""Celery tasks of the orders app: thin callers of services."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from . import commissions, expiry, reminders


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def build_last_months_statements() -> str:
    """Monthly, once the return window of last month has passed: build its statements.

    Entries of earlier months still unfiled (a build that failed) are filed too.
    """
    this_month: date = commissions.month_start(timezone.localdate())
    built = []
    for month in commissions.months_with_unfiled_entries(before=this_month):
        report = commissions.build_statements(month=month)
        built.append(f"{month:%Y-%m}:{report.entries}")
    return ", ".join(built) or "nothing to file"


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def remind_uncollected() -> int:
    """Daily: the SMS reminders of goods waiting at the stations (each once per order and day)."""
    return reminders.send_pickup_reminders()


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def expire_unconfirmed() -> int:
    """Every quarter hour: orders the villager did not agree to in time are called off, stock released."""
    return len(expiry.expire_unconfirmed())
