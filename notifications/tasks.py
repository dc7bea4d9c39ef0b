"""Celery tasks of the outbox: thin callers of services, queued by name (``ruralshop.broker``)."""

from celery import shared_task

from . import services


@shared_task(
    bind=True,
    acks_late=True,
    max_retries=services.MAX_ATTEMPTS - 1,
    time_limit=60,
    soft_time_limit=45,
)
def send_notification(self, notification_id: int) -> str:
    """Send one outbox message; on a gateway error retry with exponential backoff (30 s, 1, 2, 4... min).

    A retry lost with its broker is queued again by ``resend_stuck_notifications``; the claim in
    ``services.send`` makes a duplicate of this task harmless.
    """
    outcome = services.send(notification_id)
    if outcome == services.RETRY:
        raise self.retry(countdown=outcome.retry_in)
    return str(outcome)


@shared_task(time_limit=120, soft_time_limit=100)
def resend_stuck_notifications() -> int:
    """Re-queue pending messages whose task was lost: never queued (a broker outage at commit), or whose
    retry vanished (a broker restart, a worker killed mid-send), once their backoff and grace have passed."""
    return services.OUTBOX.requeue_stuck()


@shared_task(acks_late=True, time_limit=900, soft_time_limit=840)
def purge_old_notification_payloads() -> int:
    """Daily: phone numbers and texts of messages older than NOTIFICATION_RETENTION_DAYS are scrubbed."""
    return services.purge_old_payloads()
