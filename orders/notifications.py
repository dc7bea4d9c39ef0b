"""Sending the SMS outbox: one message at a time, safe to run twice, no transaction open across the gateway call.

A send is three steps: claim the message (one conditional UPDATE, committed
at once), call the gateway with no transaction open and no row locked (a
call may take the gateway's 10 s timeout), then record the outcome in a
second short statement.  The claim (``claimed_until``) is what keeps a
message from going out twice: a duplicate delivery of the task, the re-queue
task and a late retry all find it claimed, or sent, and skip it.  A worker
killed mid-send leaves its claim to lapse; the message is then sent again,
as it was when the claim was a row lock rolled back (at least once: a worker
killed after the gateway accepted, before the record, means a second SMS,
with either design).
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from .models import Notification
from .sms import SmsError, get_backend, render

logger = logging.getLogger("ruralshop.sms")

MAX_ATTEMPTS = 8
SENT, SKIPPED, RETRY, FAILED = "sent", "skipped", "retry", "failed"
# Longer than the task's hard time limit (60 s, orders.tasks): a worker holding a claim has either
# recorded its outcome or been killed by then, so a lapsed claim is a dead worker's.
CLAIM_FOR = timedelta(minutes=2)
# How long past its due time a message may wait for its task (a retry's ETA, a busy worker) before the
# re-queue task takes the task for lost.  A never-tried message counts from when it was written.
STUCK_AFTER = timedelta(minutes=10)
REQUEUE_BATCH = 1000


def backoff(retries: int) -> int:
    """Seconds before the next attempt: 30, 60, 120, ... capped at one hour."""
    return min(30 * 2**retries, 3600)


def send(notification_id: int) -> str:
    """Claim, send outside any transaction, record: SENT, RETRY (pending again), FAILED (the last attempt) or SKIPPED."""
    notification = _claim(notification_id, now=timezone.now())
    if notification is None:
        return SKIPPED
    try:
        get_backend().send(recipient=notification.recipient, text=render(notification.template, notification.payload))
    except Exception as exc:  # SmsError, a soft time limit, a template's bug: the claim is given back, and
        # the message waits for its retry (SmsError) or, the task failing, for the re-queue task
        outcome = _record_failure(notification, error=str(exc))
        if not isinstance(exc, SmsError):
            raise
        return outcome
    # Whatever happened to the row meanwhile, the gateway took the message: say so.
    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.SENT, sent_at=timezone.now(), last_error="", claimed_until=None, next_attempt_at=None
    )
    return SENT


def _claim(notification_id: int, *, now) -> Notification | None:
    """Take a pending message no live worker holds: one more attempt, claimed for CLAIM_FOR; None if not ours."""
    until = now + CLAIM_FOR
    if _update_returns_rows():
        # One statement per message instead of an UPDATE and a SELECT (bench/sms.py); list() reads it to the
        # end, so SQLite finishes the statement (and, in autocommit, commits it) here.
        adapt = connection.ops.adapt_datetimefield_value
        claimed = Notification.objects.raw(
            f"UPDATE {Notification._meta.db_table} SET attempts = attempts + 1, claimed_until = %s, "  # noqa: S608 - the model's table
            "next_attempt_at = %s WHERE id = %s AND status = %s AND (claimed_until IS NULL OR claimed_until <= %s) "
            "RETURNING id, recipient, template, payload, attempts",
            [adapt(until), adapt(until), notification_id, Notification.Status.PENDING, adapt(now)],
        )
        rows = list(claimed)
        return rows[0] if rows else None
    updated = (
        Notification.objects.filter(pk=notification_id, status=Notification.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(attempts=F("attempts") + 1, claimed_until=until, next_attempt_at=until)
    )
    if not updated:
        return None
    return Notification.objects.only("recipient", "template", "payload", "attempts").get(pk=notification_id)


def _record_failure(notification: Notification, *, error: str) -> str:
    """Pending again with the retry's due time, or failed after the last attempt; SKIPPED if no longer ours."""
    final = notification.attempts >= MAX_ATTEMPTS
    # Conditional on our attempt: a claim that lapsed during a hung call may have been taken (and the
    # message sent) by another worker, whose record must stand.
    recorded = Notification.objects.filter(
        pk=notification.pk, status=Notification.Status.PENDING, attempts=notification.attempts
    ).update(
        status=Notification.Status.FAILED if final else Notification.Status.PENDING,
        last_error=error[:500],
        claimed_until=None,
        next_attempt_at=None if final else timezone.now() + timedelta(seconds=backoff(notification.attempts - 1)),
    )
    logger.warning("SMS #%s attempt %s failed: %s", notification.pk, notification.attempts, error)
    if not recorded:
        return SKIPPED
    return FAILED if final else RETRY


def _update_returns_rows() -> bool:
    """UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (the version that learnt RETURNING)."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )


def _stuck(now) -> Q:
    """Pending, held by no live worker, and its task overdue: never tried STUCK_AFTER after it was written
    (the broker was down at commit), or still untried STUCK_AFTER after its retry was due (the retry was lost:
    a broker restart, a worker killed while holding it)."""
    cutoff = now - STUCK_AFTER
    return (
        Q(status=Notification.Status.PENDING)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        & (Q(next_attempt_at__isnull=True, created_at__lt=cutoff) | Q(next_attempt_at__lt=cutoff))
    )


def stuck_ids(*, now=None) -> list[int]:
    """The messages whose task was lost (``_stuck``), oldest first, at most REQUEUE_BATCH."""
    stuck = Notification.objects.filter(_stuck(now or timezone.now()))
    return list(stuck.order_by("pk").values_list("pk", flat=True)[:REQUEUE_BATCH])


def requeue(ids: list[int], *, now=None) -> list[int]:
    """Claim the re-queue of ``ids`` still stuck: due now, so the next run waits STUCK_AFTER for the new task.

    Conditional (``_stuck`` again in the UPDATE): of two re-queue runs that found the same message, or a
    re-queue and a retry that did arrive, one wins; the others find it no longer stuck.  Returns the ids to queue.
    """
    if not ids:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        Notification.objects.filter(_stuck(now), pk__in=ids).update(next_attempt_at=now)
        # Ours are the rows carrying our timestamp: the UPDATE keeps them locked until commit.
        return list(
            Notification.objects.filter(pk__in=ids, next_attempt_at=now).order_by("pk").values_list("pk", flat=True)
        )


def resend(notification: Notification) -> None:
    """Admin action: give a failed message another full round of attempts."""
    from .tasks import send_notification

    Notification.objects.filter(pk=notification.pk).update(
        status=Notification.Status.PENDING, attempts=0, claimed_until=None, next_attempt_at=timezone.now()
    )
    send_notification.delay_on_commit(notification.pk)
