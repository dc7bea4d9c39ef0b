"""Personal data the orders app holds beyond the order itself: the SMS outbox.

An outbox row carries the villager's phone number (``recipient``) and the
text's data (``payload``: order number, pickup code, station).  Both are
scrubbed when the villager is anonymised, and every message's once it is
older than ``NOTIFICATION_RETENTION_DAYS``; the order keeps the row (status,
attempts, times) for the record.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import Notification

PURGE_BATCH = 5000  # rows per UPDATE: a year's backlog is purged without one long lock


def scrub_villager_notifications(sender, *, villager, **kwargs) -> int:
    """``villager_anonymised`` receiver: their messages lose recipient and payload; pending ones are not sent."""
    messages = Notification.objects.filter(order__villager=villager)
    messages.filter(status=Notification.Status.PENDING).update(
        status=Notification.Status.FAILED, last_error="villager anonymised: not sent"
    )
    return messages.update(recipient="", payload={})


def purge_old_payloads(*, now=None, days: int | None = None) -> int:
    """Scrub recipient and payload of sent or failed messages older than the retention period; returns how many."""
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
