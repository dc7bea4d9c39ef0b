"""Replies from villagers: the gateway POSTs each inbound text here, signed; the apps that expect one read it.

The body is JSON ``{"id": "<gateway's message id>", "from": "+8613812345678", "text": "1234"}`` and the
header ``X-Signature`` is the hex HMAC-SHA256 of the raw body under ``SMS_INBOUND_SECRET``.  A bad or missing
signature is refused (403) and nothing is read; a message the gateway delivers twice (same id) is answered
with its first outcome.  Receivers of ``sms_received`` return an outcome (``InboundSms.Outcome``) or None.
"""

import hashlib
import hmac
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from .models import InboundSms

MAX_BODY = 4096
# Sent for each new inbound text: sender=InboundSms, message=.  A receiver that recognises it returns an
# outcome and may set ``message.reference``; the first outcome is kept.
sms_received = Signal()


def signature(body: bytes, secret: str | None = None) -> str:
    secret = settings.SMS_INBOUND_SECRET if secret is None else secret
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(body: bytes, given: str) -> bool:
    return bool(settings.SMS_INBOUND_SECRET) and hmac.compare_digest(signature(body), (given or "").strip().lower())


def receive(*, gateway_id: str, sender: str, text: str) -> InboundSms:
    """Record one inbound text and let the apps read it; a redelivery returns the first record unchanged."""
    try:
        with transaction.atomic():
            message = InboundSms.objects.create(gateway_id=gateway_id, sender=sender, text=text)
    except IntegrityError:
        return InboundSms.objects.get(gateway_id=gateway_id)
    with transaction.atomic():
        outcomes = [outcome for _receiver, outcome in sms_received.send(sender=InboundSms, message=message) if outcome]
        message.outcome = outcomes[0] if outcomes else InboundSms.Outcome.IGNORED
        InboundSms.objects.filter(pk=message.pk).update(outcome=message.outcome, reference=message.reference)
    return message


@csrf_exempt  # the gateway signs the body instead; no browser session is involved
@require_POST
def inbound_sms(request):
    body = request.body
    if not signed(body, request.headers.get("X-Signature", "")):
        return JsonResponse({"detail": "bad or missing signature"}, status=403)
    if len(body) > MAX_BODY:
        return JsonResponse({"detail": "body too large"}, status=413)
    try:
        data = json.loads(body)
        gateway_id, sender, text = (str(data[k]).strip() for k in ("id", "from", "text"))
    except (ValueError, TypeError, KeyError, AttributeError):
        return JsonResponse({"detail": 'expected JSON with "id", "from" and "text"'}, status=400)
    if not gateway_id or not sender or len(gateway_id) > 64 or len(sender) > 32:
        return JsonResponse({"detail": '"id" (up to 64 characters) and "from" (up to 32) are required'}, status=400)
    message = receive(gateway_id=gateway_id, sender=sender, text=text[:500])
    return JsonResponse({"id": message.gateway_id, "outcome": message.outcome})
