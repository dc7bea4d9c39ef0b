"""Webhooks to logistics companies: signed, sent after commit by a task, retried, logged.

Signature: ``X-Ruralshop-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``
with the endpoint's secret.  A receiver recomputes it and refuses a
timestamp older than a few minutes, so a captured delivery cannot be replayed.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ruralshop.broker import delay_each_on_commit

from .models import DeliveryBatch, WebhookDelivery, WebhookEndpoint

MAX_ATTEMPTS = 6
TIMEOUT_S = 10
DELIVERED, RETRY, FAILED, SKIPPED = "delivered", "retry", "failed", "skipped"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: int = 300, now: float | None = None) -> bool:
    """What a receiver does (and what the tests do): check the signature and the timestamp."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, body, timestamp), header)


def backoff(attempts: int) -> int:
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


def batch_payload(batch: DeliveryBatch) -> dict:
    return {
        "code": batch.code,
        "status": batch.status,
        "dispatch_date": batch.dispatch_date.isoformat(),
        "warehouse": batch.warehouse.code,
        "route": batch.route.code,
        "vehicle": batch.vehicle.plate,
        "parcel_count": batch.parcel_count,
    }


def queue_batch_event(batch: DeliveryBatch, event: str) -> int:
    """Write a delivery per interested endpoint (in the caller's transaction); send each after commit."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(
            is_active=True, client__is_active=True, client__warehouses=batch.warehouse_id
        ).distinct()
        if e.wants(event)
    ]
    if not endpoints:
        return 0
    payload = {"event": event, "batch": batch_payload(batch)}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=e, event=event, payload=payload) for e in endpoints
    )
    from .tasks import deliver_webhook

    delay_each_on_commit(deliver_webhook, [d.pk for d in deliveries], left_for="resend_stuck_webhooks")
    return len(deliveries)


# As the SMS outbox (orders.notifications): a claim longer than the task's hard time limit (60 s), and how
# long past its due time a delivery waits for its task before the re-queue takes the task for lost.
CLAIM_FOR = timedelta(minutes=2)
STUCK_AFTER = timedelta(minutes=10)
REQUEUE_BATCH = 1000


def _stuck(now) -> Q:
    """Pending, held by no live worker, and its task overdue: never tried STUCK_AFTER after it was written (a
    broker outage at commit), or still untried STUCK_AFTER after its retry was due (the retry was lost)."""
    cutoff = now - STUCK_AFTER
    return (
        Q(status=WebhookDelivery.Status.PENDING)
        & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        & (Q(next_attempt_at__isnull=True, created_at__lt=cutoff) | Q(next_attempt_at__lt=cutoff))
    )


def stuck_ids(*, now=None) -> list[int]:
    """Deliveries whose task was lost, re-queued by ``tasks.resend_stuck_webhooks``; a receiver that gets one
    twice (a worker killed after the POST) tells by the ``delivery`` id in the body (webhooks are at least once)."""
    stuck = WebhookDelivery.objects.filter(_stuck(now or timezone.now()))
    return list(stuck.order_by("pk").values_list("pk", flat=True)[:REQUEUE_BATCH])


def requeue(ids: list[int], *, now=None) -> list[int]:
    """Claim the re-queue of ``ids`` still stuck (conditional: of two runs, or a run and a retry, one wins)."""
    if not ids:
        return []
    now = now or timezone.now()
    with transaction.atomic():
        WebhookDelivery.objects.filter(_stuck(now), pk__in=ids).update(next_attempt_at=now)
        mine = WebhookDelivery.objects.filter(pk__in=ids, next_attempt_at=now)
        return list(mine.order_by("pk").values_list("pk", flat=True))


def deliver(delivery_id: int) -> str:
    """Claim the delivery, POST it with no transaction open, record the outcome; SKIPPED if another worker has it."""
    now = timezone.now()
    # The claim: a duplicate of the task, the re-queue and a late retry find it claimed (or delivered) and skip.
    claimed = (
        WebhookDelivery.objects.filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
        .update(attempts=F("attempts") + 1, claimed_until=now + CLAIM_FOR, next_attempt_at=now + CLAIM_FOR)
    )
    if not claimed:
        return SKIPPED
    delivery = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
    attempts = delivery.attempts
    body = json.dumps({**delivery.payload, "delivery": delivery.pk}, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - the admin registers https URLs of known companies
        delivery.endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Ruralshop-Webhooks/1",
            "X-Ruralshop-Event": delivery.event,
            "X-Ruralshop-Signature": sign(delivery.endpoint.secret, body, int(time.time())),
        },
    )
    code, error = None, ""
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code, error = exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        error = str(exc)[:500]
    if code is not None and 200 <= code < 300:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DELIVERED,
            last_response_code=code,
            last_error="",
            delivered_at=timezone.now(),
            claimed_until=None,
            next_attempt_at=None,
        )
        return DELIVERED
    final = attempts >= MAX_ATTEMPTS
    # Conditional on our attempt: a claim that lapsed during a hung POST may have been taken by another worker.
    recorded = WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=attempts
    ).update(
        status=WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.PENDING,
        last_response_code=code,
        last_error=error or f"HTTP {code}",
        claimed_until=None,
        next_attempt_at=None if final else timezone.now() + timedelta(seconds=backoff(attempts)),
    )
    if not recorded:
        return SKIPPED
    return FAILED if final else RETRY


def resend(delivery: WebhookDelivery) -> None:
    """Admin: another full round of attempts for a failed delivery."""
    from .tasks import deliver_webhook

    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.PENDING, attempts=0, claimed_until=None, next_attempt_at=timezone.now()
        )
        deliver_webhook.delay_on_commit(delivery.pk)
