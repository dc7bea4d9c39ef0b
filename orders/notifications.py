"""Sending the SMS outbox: one message at a time, safe to run twice."""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .models import Notification
from .sms import SmsError, get_backend, render

logger = logging.getLogger("ruralshop.sms")

MAX_ATTEMPTS = 8
SENT, SKIPPED, RETRY, FAILED = "sent", "skipped", "retry", "failed"
STUCK_AFTER = timedelta(minutes=10)


def backoff(retries: int) -> int:
    """Seconds before the next attempt: 30, 60, 120, ... capped at one hour."""
    return min(30 * 2**retries, 3600)


def send(notification_id: int) -> str:
    # Lock the row while sending: a duplicate delivery of the task waits, then
    # sees it sent and skips, so the villager gets one SMS, not two.
    with transaction.atomic():
        notification = Notification.objects.select_for_update().filter(pk=notification_id).first()
        if notification is None or notification.status != Notification.Status.PENDING:
            return SKIPPED
        Notification.objects.filter(pk=notification.pk).update(attempts=F("attempts") + 1)
        attempts = notification.attempts + 1
        try:
            get_backend().send(
                recipient=notification.recipient, text=render(notification.template, notification.payload)
            )
        except SmsError as exc:
            final = attempts >= MAX_ATTEMPTS
            Notification.objects.filter(pk=notification.pk).update(
                status=Notification.Status.FAILED if final else Notification.Status.PENDING, last_error=str(exc)[:500]
            )
            logger.warning("SMS #%s attempt %s failed: %s", notification.pk, attempts, exc)
            return FAILED if final else RETRY
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.SENT, sent_at=timezone.now(), last_error=""
        )
    return SENT


def stuck_ids() -> list[int]:
    cutoff = timezone.now() - STUCK_AFTER
    return list(
        Notification.objects.filter(status=Notification.Status.PENDING, created_at__lt=cutoff, attempts=0).values_list(
            "pk", flat=True
        )[:1000]
    )


def resend(notification: Notification) -> None:
    """Admin action: give a failed message another full round of attempts."""
    from .tasks import send_notification

    Notification.objects.filter(pk=notification.pk).update(status=Notification.Status.PENDING, attempts=0)
    send_notification.delay_on_commit(notification.pk)
