"""Celery tasks of the orders app: thin callers of services."""

from datetime import date

from celery import shared_task
from django.utils import timezone

from ruralshop.broker import delay_each

from . import commissions, notifications, privacy


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=notifications.MAX_ATTEMPTS - 1,
    time_limit=60,
    soft_time_limit=45,
)
def send_notification(self, notification_id: int) -> str:
    """Send one outbox message; on a gateway error retry with exponential backoff (30 s, 1, 2, 4... min).

    A retry lost with its broker is queued again by ``resend_stuck_notifications``; the claim in
    ``notifications.send`` makes a duplicate of this task harmless.
    """
    outcome = notifications.send(notification_id)
    if outcome == notifications.RETRY:
        raise self.retry(countdown=notifications.backoff(self.request.retries))
    return outcome


@shared_task(time_limit=120, soft_time_limit=100)
def resend_stuck_notifications() -> int:
    """Re-queue pending messages whose task was lost: never queued (a broker outage at commit), or whose
    retry vanished (a broker restart, a worker killed mid-send), once their backoff and grace have passed."""
    ids = notifications.requeue(notifications.stuck_ids())
    delay_each(send_notification, ids, left_for="the next resend_stuck_notifications")
    return len(ids)


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


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def purge_old_notification_payloads() -> int:
    """Daily: phone numbers and texts of messages older than NOTIFICATION_RETENTION_DAYS are scrubbed."""
    return privacy.purge_old_payloads()
