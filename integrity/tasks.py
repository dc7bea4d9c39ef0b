"""Celery tasks of the review: thin callers of services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=600, soft_time_limit=540)
def flag_counties() -> int:
    """Nightly: the month's self-dealing signals of every county, the orders behind them flagged for review."""
    return services.flag_all()
