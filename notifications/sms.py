"""Pluggable SMS backends (``SMS_BACKEND`` names one by dotted path) and the texts they send.

The texts belong to the apps that send them: each registers its own with
``register_templates`` when it is ready (orders: the villager's order, logistics:
the station's delivery run), so this app names none of them.
"""

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable

from django.conf import settings
from django.utils.module_loading import import_string

from partners.phones import mask_phone

logger = logging.getLogger("ruralshop.sms")

TEMPLATES: dict[str, str] = {}
# Per template, what the outbox asks just before the gateway call (``register_send_check``): None to send now,
# a datetime to wait until then (the row stays pending, the attempt not counted), or a reason not to send at all.
SEND_CHECKS: dict[str, Callable] = {}


def register_templates(templates: dict[str, str]) -> None:
    """An app's texts by name, with ``{field}`` placeholders filled from a message's payload."""
    clashes = {name for name, text in templates.items() if TEMPLATES.get(name, text) != text}
    if clashes:
        raise ValueError(f"SMS templates registered twice with different texts: {sorted(clashes)}")
    TEMPLATES.update(templates)


def register_send_check(template: str, check: Callable) -> None:
    """``check(notification)`` (with ``villager_id``), asked by the outbox before each attempt of ``template``: an app
    whose texts may go only under conditions that can change after writing (promotional SMS: the villager's
    consent, the quiet hours) says here whether a retry or a late re-queue may still send it."""
    if SEND_CHECKS.get(template, check) is not check:
        raise ValueError(f"SMS template {template!r} has a send check already")
    SEND_CHECKS[template] = check


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
