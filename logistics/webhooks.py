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

from django.utils import timezone

from notifications.outbox import FAILED, RETRY, SKIPPED, Outbox, Outcome, backoff

from .models import DeliveryBatch, WebhookDelivery, WebhookEndpoint

__all__ = [
    "DELIVERED",
    "FAILED",
    "RETRY",
    "SKIPPED",
    "backoff",
    "deliver",
    "queue_batch_event",
    "queue_event",
    "resend",
]
MAX_ATTEMPTS = 6
TIMEOUT_S = 10
DELIVERED = "delivered"
# The delivery log is an outbox like the SMS one: claimed, sent, recorded, re-queued when its task is lost.
OUTBOX = Outbox(
    model=WebhookDelivery,
    task="logistics.tasks.deliver_webhook",
    requeue_task="resend_stuck_webhooks",
    done=WebhookDelivery.Status.DELIVERED,
    max_attempts=MAX_ATTEMPTS,
)


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
    return queue_event(batch.warehouse_id, event, {"batch": batch_payload(batch)})


def queue_event(warehouse_id: int, event: str, body: dict) -> int:
    """``{"event": event, **body}`` to every endpoint of the warehouse's clients that wants the event."""
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(
            is_active=True, client__is_active=True, client__warehouses=warehouse_id
        ).distinct()
        if e.wants(event)
    ]
    if not endpoints:
        return 0
    payload = {"event": event, **body}
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=e, event=event, payload=payload) for e in endpoints
    )
    OUTBOX.queue_on_commit([d.pk for d in deliveries])
    return len(deliveries)


def deliver(delivery_id: int) -> Outcome:
    """Claim the delivery, POST it with no transaction open, record the outcome; SKIPPED if another worker has it."""
    # The claim: a duplicate of the task, the re-queue and a late retry find it claimed (or delivered) and skip.
    delivery = OUTBOX.claim(delivery_id, fields=["endpoint", "event", "payload"])
    if delivery is None:
        return Outcome(SKIPPED)
    endpoint = WebhookEndpoint.objects.only("url", "secret").get(pk=delivery.endpoint_id)
    body = json.dumps({**delivery.payload, "delivery": delivery.pk}, separators=(",", ":")).encode()
    request = urllib.request.Request(  # noqa: S310 - the admin registers https URLs of known companies
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Ruralshop-Webhooks/1",
            "X-Ruralshop-Event": delivery.event,
            "X-Ruralshop-Signature": sign(endpoint.secret, body, int(time.time())),
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
        OUTBOX.record_done(delivery.pk, last_response_code=code, delivered_at=timezone.now())
        return Outcome(DELIVERED)
    return OUTBOX.record_failure(delivery, error=error or f"HTTP {code}", last_response_code=code)


def stuck_ids(*, now=None) -> list[int]:
    """Deliveries whose task was lost, re-queued by ``tasks.resend_stuck_webhooks``; a receiver that gets one
    twice (a worker killed after the POST) tells by the ``delivery`` id in the body (webhooks are at least once)."""
    return OUTBOX.stuck_ids(now=now)


def requeue(ids: list[int], *, now=None) -> list[int]:
    return OUTBOX.requeue(ids, now=now)


def resend(delivery: WebhookDelivery) -> None:
    """Admin: another full round of attempts for a failed delivery."""
    OUTBOX.resend(delivery.pk)
