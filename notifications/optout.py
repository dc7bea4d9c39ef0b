"""A villager's way out of promotional SMS: replying 退订 or TD withdraws their marketing consent at once.

An ``sms_received`` receiver (connected in ``NotificationsConfig.ready``).  Every villager whose texts go to
the sender's phone (their own number or the family phone named for codes, at any station) is opted out in
one transaction, each with a row of the consent record; SMS about their orders is a separate purpose and
stays as it was.  A campaign checks the current answer again when it sends, so nothing promotional reaches
them after the reply, even from a campaign already under way.
"""

import unicodedata

from django.db import transaction
from django.db.models import Q

from partners.models import Villager
from partners.phones import national_digits

from .models import Consent, InboundSms

# What a reply to stop says, once trimmed, NFKC-folded (full-width ＴＤ) and lower-cased.
STOP_WORDS = frozenset({"退订", "td"})


def is_stop(text: str) -> bool:
    """Does the reply ask to stop promotional SMS?  退订, TD, td, " 退订 " do; anything else does not."""
    return unicodedata.normalize("NFKC", text or "").strip().lower() in STOP_WORDS


def _phone(sender: str) -> str:
    digits = national_digits(sender)
    return f"+86{digits}" if digits else ""


def opt_out_by_reply(sender=None, *, message: InboundSms, **kwargs) -> str | None:
    """``sms_received`` receiver: a stop word from a phone withdraws marketing consent of everyone it texts for."""
    if not is_stop(message.text):
        return None
    phone = _phone(message.sender)
    if not phone:
        return None
    with transaction.atomic():
        # Locked in primary-key order: a partner saving the same villager's form waits, then sees the "no".
        villagers = list(
            Villager.objects.select_for_update(of=("self",))
            .filter(Q(phone=phone) | Q(code_phone=phone), anonymised_at__isnull=True)
            .order_by("pk")
        )
        Villager.objects.filter(pk__in=[v.pk for v in villagers]).update(marketing_consent=False)
        Consent.objects.bulk_create(
            Consent(villager=v, purpose=Consent.Purpose.MARKETING, granted=False, method=Consent.Method.SMS_REPLY)
            for v in villagers
        )
    # Recorded as an opt-out even for a number we do not know: the reply was understood, nothing is owed.
    return InboundSms.Outcome.OPTED_OUT
