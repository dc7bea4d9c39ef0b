"""The text of a promotional SMS, and what it costs: how many messages the gateway bills for it.

Chinese text goes out in UCS-2: one message holds 70 characters; a longer text is sent in parts of 67
each (3 characters of each part carry the header that joins them again on the phone).  A character
outside the Basic Multilingual Plane (an emoji, a rare hanzi) takes two UCS-2 units.  Every text names the
station and ends with how to stop, so the villager knows who writes and how to say no (PIPL).
"""

import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

SINGLE = 70  # UCS-2 units in one message
PART = 67  # UCS-2 units in each part of a longer one
BRAND = "【村淘】"  # the signature the gateway requires first, as in every text of the outbox (orders.sms)


def ucs2_length(text: str) -> int:
    """The length the gateway counts: UTF-16 code units (two for a character beyond U+FFFF)."""
    return len(text.encode("utf-16-le")) // 2


def sms_parts(text: str) -> int:
    """Messages billed for ``text``: 0 for none, 1 up to 70 units, else one per 67 units begun."""
    length = ucs2_length(text)
    if length == 0:
        return 0
    if length <= SINGLE:
        return 1
    return math.ceil(length / PART)


def stop_line() -> str:
    """How to stop, in the site's language (Chinese): every promotional text ends with it."""
    with translation.override(settings.LANGUAGE_CODE):
        return _("Reply TD to unsubscribe")


def compose(*, station_name: str, body: str) -> str:
    """The exact text that goes out: the signature, the station, the partner's words, how to stop."""
    return f"{BRAND}{station_name}：{body.strip()} {stop_line()}"


def offer_body(*, product_name: str, price: Decimal, ends_at: datetime | None) -> str:
    """The template a partner starts from: the product, its price and, for a promotion, its last day."""
    with translation.override(settings.LANGUAGE_CODE):
        if ends_at is None:
            return _("%(product)s, now %(price)s yuan. Ask at the station.") % {
                "product": product_name,
                "price": f"{price:.2f}",
            }
        return _("%(product)s, now %(price)s yuan, until %(ends)s. Ask at the station.") % {
            "product": product_name,
            "price": f"{price:.2f}",
            "ends": f"{timezone.localtime(ends_at):%m-%d}",
        }


@dataclass(frozen=True)
class Preview:
    """What the partner sees before sending: the exact text, its length and its cost."""

    text: str
    length: int
    parts: int

    def cost(self, recipients: int) -> int:
        """Messages billed for sending it to ``recipients`` villagers."""
        return self.parts * recipients


def preview(*, station_name: str, body: str) -> Preview:
    text = compose(station_name=station_name, body=body)
    return Preview(text=text, length=ucs2_length(text), parts=sms_parts(text))
