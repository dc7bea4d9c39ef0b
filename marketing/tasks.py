"""Celery tasks of promotional SMS: thin callers of services."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, time_limit=300, soft_time_limit=270)
def send_due_campaigns() -> int:
    """Every minute (beat): the due campaigns' recipients, batch by batch.  A worker killed mid-run leaves the
    rest pending for the next run; a claimed recipient is never texted again (``services.send_batch``)."""
    return services.send_due()
