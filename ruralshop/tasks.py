"""System tasks that belong to no app."""

from celery import shared_task
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_KEY = "ruralshop:worker-heartbeat"


@shared_task(ignore_result=False, time_limit=30, soft_time_limit=20)
def heartbeat() -> str:
    """Record that a worker is alive; the health page reports its age.

    Scheduled every minute by beat, so a stale heartbeat means no worker or
    no beat is running.
    """
    now = timezone.now().isoformat()
    cache.set(HEARTBEAT_KEY, now, timeout=None)
    return now
