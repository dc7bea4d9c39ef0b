"""Pluggable SMS backends.  ``SMS_BACKEND`` names one by dotted path."""

import json
import logging
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.module_loading import import_string

from partners.phones import mask_phone

logger = logging.getLogger("ruralshop.sms")

TEMPLATES = {
    "order_placed": "【村淘】您的订单{order}已在{station}下单，取货码{pickup_code}，到货后会再通知您。",
    "order_arrived": "【村淘】您的订单{order}已到{station}，请凭取货码{pickup_code}取货。",
    "batch_planned": "【村淘】{date} 车次{batch}将为您的服务站送来{parcels}件包裹，请安排收货。",
}


class SmsError(Exception):
    """The gateway refused or could not be reached; the send is retried."""


def render(template: str, payload: dict) -> str:
    return TEMPLATES[template].format(**payload)


class ConsoleBackend:
    """Writes the message to the log instead of sending it (development, demos)."""

    def send(self, *, recipient: str, text: str) -> None:
        logger.info("SMS to %s: %s", mask_phone(recipient), text)


class HttpGatewayBackend:
    """POSTs ``{"to": ..., "text": ...}`` as JSON to ``SMS_GATEWAY_URL`` with ``SMS_GATEWAY_TOKEN``."""

    def send(self, *, recipient: str, text: str) -> None:
        request = urllib.request.Request(  # noqa: S310 - the URL comes from settings, not from users
            settings.SMS_GATEWAY_URL,
            data=json.dumps({"to": recipient, "text": text}).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {settings.SMS_GATEWAY_TOKEN}"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                if response.status >= 300:
                    raise SmsError(f"gateway answered {response.status}")
        except (urllib.error.URLError, TimeoutError) as exc:
            raise SmsError(str(exc)) from exc


def get_backend():
    return import_string(settings.SMS_BACKEND)()
