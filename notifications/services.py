"""The SMS outbox: queue a message in the caller's transaction, send it after commit, keep the consent record.

Orders and logistics say what to tell whom (``queue_sms``); sending is the
outbox's claim, gateway call and record (``outbox``), one message per task,
safe to run twice, with no transaction open across the gateway call.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from partners.models import Villager

from . import outbox
from .models import Consent, Notification
from .outbox import FAILED, RETRY, SKIPPED, Outcome
from .sms import SEND_CHECKS, SmsError, get_backend, render

logger = logging.getLogger("ruralshop.sms")

SENT = "sent"
MAX_ATTEMPTS = 8
PURGE_BATCH = 5000  # rows per UPDATE: a year's backlog is purged without one long lock
OUTBOX = outbox.Outbox(
    model=Notification,
    task="notifications.tasks.send_notification",
    requeue_task="resend_stuck_notifications",
    done=Notification.Status.SENT,
    max_attempts=MAX_ATTEMPTS,
)
__all__ = ["FAILED", "RETRY", "SENT", "SKIPPED", "Sms", "queue_sms", "send", "to_villager"]


@dataclass(frozen=True)
class Sms:
    """One text to queue: to a phone number, a registered template filled from ``payload``."""

    recipient: str
    template: str
    payload: dict
    villager_id: int | None = None  # whose number it is, when a villager's: what anonymising them scrubs
    reference: str = ""  # what it is about (an order's number, a run's code)


def to_villager(villager: Villager, *, template: str, payload: dict, reference: str = "") -> Sms | None:
    """A text to a villager (to the family phone they named for codes, if any), or None if they have no phone
    or did not agree to SMS."""
    if not villager.gets_sms:
        return None
    return Sms(str(villager.sms_phone), template, payload, villager_id=villager.pk, reference=reference)


def queue_sms(messages: Iterable[Sms | None]) -> list[Notification]:
    """Write the messages (Nones skipped) in one INSERT, in the caller's transaction; each is sent after commit.

    They exist exactly when the caller's change does: a rollback takes them with it.
    """
    notifications = Notification.objects.bulk_create(
        Notification(
            recipient=m.recipient,
            template=m.template,
            payload=m.payload,
            villager_id=m.villager_id,
            reference=m.reference,
        )
        for m in messages
        if m is not None
    )
    OUTBOX.queue_on_commit([n.pk for n in notifications])
    return notifications


def send(notification_id: int) -> Outcome:
    """Claim, send outside any transaction, record: SENT, RETRY (pending again), FAILED (the last attempt) or SKIPPED."""
    notification = OUTBOX.claim(notification_id, fields=["recipient", "template", "payload", "villager"])
    if notification is None:
        return Outcome(SKIPPED)
    check = SEND_CHECKS.get(notification.template)
    verdict = check(notification) if check else None
    if isinstance(verdict, datetime):
        OUTBOX.hold(notification, until=verdict)
        return Outcome(SKIPPED)
    if verdict:
        OUTBOX.drop(notification, error=verdict)
        return Outcome(FAILED)
    try:
        get_backend().send(recipient=notification.recipient, text=render(notification.template, notification.payload))
    except Exception as exc:  # SmsError, a soft time limit, a template's bug: the claim is given back, and
        # the message waits for its retry (SmsError) or, the task failing, for the re-queue task
        logger.warning("SMS #%s attempt %s failed: %s", notification.pk, notification.attempts, exc)
        outcome = OUTBOX.record_failure(notification, error=str(exc))
        if not isinstance(exc, SmsError):
            raise
        return outcome
    OUTBOX.record_done(notification.pk, sent_at=timezone.now())
    return Outcome(SENT)


def stuck_ids(*, now=None) -> list[int]:
    return OUTBOX.stuck_ids(now=now)


def requeue(ids: list[int], *, now=None) -> list[int]:
    return OUTBOX.requeue(ids, now=now)


def resend(notification: Notification) -> None:
    """Admin action: give a failed message another full round of attempts."""
    OUTBOX.resend(notification.pk)


# --- the villager's data -------------------------------------------------------------


def record_consent(
    sender=None, *, villager: Villager, granted: bool, actor=None, method=None, purpose=None, **kwargs
) -> Consent:
    """``villager_consent_changed`` receiver (and the admin's): one more row of the villager's consent record,
    for SMS about orders unless ``purpose`` says otherwise (``Consent.Purpose.MARKETING``)."""
    return Consent.objects.create(
        villager=villager,
        purpose=purpose or Consent.Purpose.SMS,
        granted=granted,
        method=method or Consent.Method.COUNTER,
        recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
    )


def consent_on(villager: Villager, *, purpose: str = Consent.Purpose.SMS, at=None) -> bool:
    """What the villager had agreed to at ``at`` (default now), by their record: no row means no."""
    rows = Consent.objects.filter(villager=villager, purpose=purpose, recorded_at__lte=at or timezone.now())
    latest = rows.order_by("-recorded_at", "-pk").values_list("granted", flat=True).first()
    return bool(latest)


def scrub_villager(sender=None, *, villager: Villager, **kwargs) -> int:
    """``villager_anonymised`` receiver: their messages lose recipient and payload; pending ones are not sent."""
    messages = Notification.objects.filter(villager=villager)
    messages.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.FAILED, last_error="villager anonymised: not sent"
    )
    return messages.update(recipient="", payload={})


def purge_old_payloads(*, now=None, days: int | None = None) -> int:
    """Scrub recipient and payload of sent or failed messages older than the retention period; returns how many.

    A message carries the villager's phone number (``recipient``) and the text's data
    (``payload``: order number, pickup code, station); the row (status, attempts, times)
    stays for the record.
    """
    days = settings.NOTIFICATION_RETENTION_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    old = Notification.objects.filter(
        created_at__lt=cutoff, status__in=[Notification.Status.SENT, Notification.Status.FAILED]
    ).exclude(recipient="", payload={})
    purged = 0
    while True:
        batch = list(old.values_list("pk", flat=True)[:PURGE_BATCH])
        if not batch:
            return purged
        purged += Notification.objects.filter(pk__in=batch).update(recipient="", payload={})
