"""Celery tasks of the installations app: thin callers of services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=300, soft_time_limit=240)
def remind_appointments() -> int:
    """Daily, early in the evening: the SMS reminder of tomorrow's installation appointments (once each)."""
    return services.remind_tomorrow()
