"""Celery tasks of produce: one service call each, safe to run twice."""

from celery import shared_task

from . import services


@shared_task(time_limit=300, soft_time_limit=240)
def flag_overdue_lots() -> int:
    """Daily (beat): lots accepted but not received within their kind's keeping days, flagged once, partners told."""
    return services.flag_overdue()
