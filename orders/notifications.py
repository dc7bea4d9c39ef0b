"""Sending the SMS outbox: one message at a time, safe to run twice."""

import logging
from datetime import timedelta

from django.db import connection, transaction
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
    # One conditional UPDATE claims the message in the transaction that sends
    # it: the row stays locked until commit, so a duplicate delivery of the task
    # waits, then finds no pending row and skips (one SMS, not two).  The claim
    # already records the success; a gateway refusal undoes it in the same
    # transaction, and a worker killed mid-send rolls it back to pending.
    with transaction.atomic():
        notification = _claim(notification_id)
        if notification is None:
            return SKIPPED
        try:
            get_backend().send(
                recipient=notification.recipient, text=render(notification.template, notification.payload)
            )
        except SmsError as exc:
            final = notification.attempts >= MAX_ATTEMPTS
            Notification.objects.filter(pk=notification.pk).update(
                status=Notification.Status.FAILED if final else Notification.Status.PENDING,
                sent_at=None,
                last_error=str(exc)[:500],
            )
            logger.warning("SMS #%s attempt %s failed: %s", notification.pk, notification.attempts, exc)
            return FAILED if final else RETRY
    return SENT


def _claim(notification_id: int) -> Notification | None:
    """Mark a pending message sent, one more attempt, and return what sending needs; None if not pending."""
    now = timezone.now()
    if _update_returns_rows():
        # One statement per message instead of an UPDATE and a SELECT (bench/sms.py).
        claimed = Notification.objects.raw(
            f"UPDATE {Notification._meta.db_table} SET status = %s, attempts = attempts + 1, sent_at = %s, "  # noqa: S608 - the model's table
            "last_error = '' WHERE id = %s AND status = %s RETURNING id, recipient, template, payload, attempts",
            [
                Notification.Status.SENT,
                connection.ops.adapt_datetimefield_value(now),
                notification_id,
                Notification.Status.PENDING,
            ],
        )
        return next(iter(claimed), None)
    updated = Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENT, attempts=F("attempts") + 1, sent_at=now, last_error=""
    )
    if not updated:
        return None
    return Notification.objects.only("recipient", "template", "payload", "attempts").get(pk=notification_id)


def _update_returns_rows() -> bool:
    """UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (the version that learnt RETURNING)."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )


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
