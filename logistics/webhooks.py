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
from django.db.models import F
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


STUCK_AFTER = timedelta(minutes=10)


def stuck_ids() -> list[int]:
    """Pending deliveries never tried ten minutes after they were written: their task was lost (a broker outage
    at commit, a broker restart).  Re-queued by ``tasks.resend_stuck_webhooks``; a receiver that gets one twice
    tells by the ``delivery`` id in the body (webhooks are at least once)."""
    cutoff = timezone.now() - STUCK_AFTER
    stuck = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, attempts=0, created_at__lt=cutoff)
    return list(stuck.order_by("pk").values_list("pk", flat=True)[:1000])


def deliver(delivery_id: int) -> str:
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return SKIPPED
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    attempts = delivery.attempts + 1
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
            status=WebhookDelivery.Status.DELIVERED, last_response_code=code, last_error="", delivered_at=timezone.now()
        )
        return DELIVERED
    final = attempts >= MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED if final else WebhookDelivery.Status.PENDING,
        last_response_code=code,
        last_error=error or f"HTTP {code}",
    )
    return FAILED if final else RETRY


def resend(delivery: WebhookDelivery) -> None:
    """Admin: another full round of attempts for a failed delivery."""
    from .tasks import deliver_webhook

    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.PENDING, attempts=0)
        deliver_webhook.delay_on_commit(delivery.pk)
