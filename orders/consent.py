"""The villager's say: consent to an order keyed for them, and the pickup code that only they hold.

An order is placed with a consent code (``placement``): four digits sent by
SMS when the villager's texts reach a phone, or the six-digit number of the
printed order slip the villager signs or thumbprints.  It is confirmed
(``services.confirm_payment``) only once the villager agreed: the code read
out at the counter, sent back as a reply (``agree_by_reply``, from the
inbound-SMS endpoint), or the signed slip's number entered.  An order nobody
agreed to within ``ORDER_CONSENT_HOURS`` is called off (``expiry``).

The pickup code goes to the villager by SMS (with the arrival text) or on the
slip handed to them; staff pages never show it again after that slip is
printed, and a reprint is recorded (``print_slip``) and counted for the county.
"""

import secrets
import unicodedata
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumber_field.phonenumber import to_python as to_phone

from notifications.models import InboundSms, Notification

from .errors import OrderError
from .models import Order, SlipPrint
from .sms import ask_by_sms

S = Order.Status
V = Order.ConsentVia
E = Order.ConsentEvidence
MAX_CODE_SENDS = 3  # the first text and two resends: a villager whose phone gets none is asked for the slip

# Sent in the transaction that records a villager's consent: sender=Order, order=, evidence=.  The county's
# call-back sample of slip orders is drawn by its receiver (integrity).
consent_given = Signal()


class WrongConsentCode(OrderError):
    """The code typed is not the order's: nothing is recorded."""


class ConsentRequired(OrderError):
    """The villager has not agreed yet: the order cannot be confirmed."""


def normalise_code(text) -> str:
    """Digits as typed: full-width ones (a Chinese input method) folded to ASCII, spaces dropped."""
    return "".join(unicodedata.normalize("NFKC", str(text or "")).split())


def consent_fields(order: Order, code) -> dict:
    """The fields recording the villager's consent given with ``code`` now; refuses a wrong or missing code.

    For ``services.confirm_payment``, which writes them in its own transition.  An order whose villager
    already agreed (a reply by SMS) needs no code.
    """
    if order.consent_given_at is not None:
        return {}
    given = normalise_code(code)
    if not given:
        raise ConsentRequired(missing_consent_message(order))
    if not secrets.compare_digest(given.encode(), order.consent_code.encode()):
        if order.consent_via == V.SMS:
            raise WrongConsentCode(_("That is not this order's code: ask the villager for the 4 digits in their SMS."))
        raise WrongConsentCode(_("That is not this order's slip number: type the number printed on the signed slip."))
    evidence = E.CODE_AT_COUNTER if order.consent_via == V.SMS else E.SIGNED_SLIP
    return {"consent_given_at": timezone.now(), "consent_evidence": evidence}


def missing_consent_message(order: Order) -> str:
    if order.consent_via == V.SMS:
        return _("Enter the 4-digit code the villager received by SMS: the order is confirmed only with their say.")
    return _("Enter the number of the slip the villager signed: the order is confirmed only with their say.")


def expires_at(order: Order):
    """When an order still waiting for the villager's say is called off (``expiry``)."""
    return order.created_at + timedelta(hours=settings.ORDER_CONSENT_HOURS)


def announce(order: Order) -> None:
    """After consent was recorded in the caller's transaction: its receivers (the call-back sample) run."""
    consent_given.send(sender=Order, order=order, evidence=order.consent_evidence)


# --- the SMS code: resend, and the villager's reply -----------------------------------------------------


def code_sends(order: Order) -> int:
    return Notification.objects.filter(reference=order.number, template="order_consent").count()


def resend_code(*, order: Order, actor) -> None:
    """The villager's SMS did not come: send the code again (at most ``MAX_CODE_SENDS`` texts in all)."""
    if order.status != S.PLACED or order.consent_given_at is not None or order.consent_via != V.SMS:
        raise OrderError(_("Only an order waiting for the villager's SMS code can have it sent again."))
    if not order.villager.gets_sms:
        raise OrderError(_("The villager no longer receives SMS: cancel this order and place it again with a slip."))
    with transaction.atomic():
        if code_sends(order) >= MAX_CODE_SENDS:
            raise OrderError(
                _("The code was sent %(n)s times already. Check the villager's phone number, or cancel the order.")
                % {"n": MAX_CODE_SENDS}
            )
        ask_by_sms([order])


def agree_by_reply(sender=None, *, message: InboundSms, **kwargs) -> str | None:
    """``notifications.sms_received`` receiver: a reply carrying an order's code records the villager's consent.

    Only from the phone the code was sent to: the same four digits from another number (a partner's phone)
    are refused, as is a code no order waits for.  Returns the outcome, kept on the inbound message.
    """
    code = normalise_code(message.text)
    if not (code.isascii() and code.isdigit() and len(code) == 4):
        return None  # not a code: another app may expect it (an opt-out), else it is ignored
    waiting = Order.objects.filter(
        status=S.PLACED, consent_via=V.SMS, consent_given_at__isnull=True, consent_code=code
    ).select_related("villager")
    sender_phone = to_phone(message.sender, region="CN")
    mine = [o for o in waiting if sender_phone and o.villager.gets_sms and o.villager.sms_phone == sender_phone]
    if not mine:
        return InboundSms.Outcome.WRONG_SENDER if waiting else InboundSms.Outcome.UNKNOWN_CODE
    order = mine[0]
    now = timezone.now()
    with transaction.atomic():
        agreed = Order.objects.filter(pk=order.pk, status=S.PLACED, consent_given_at__isnull=True).update(
            consent_given_at=now, consent_evidence=E.SMS_REPLY, updated_at=now
        )
        if not agreed:  # confirmed, cancelled or called off a moment ago
            return InboundSms.Outcome.UNKNOWN_CODE
        order.consent_given_at, order.consent_evidence = now, E.SMS_REPLY
        message.reference = order.number
        announce(order)
    return InboundSms.Outcome.CONSENT


# --- the slip that carries the pickup code -------------------------------------------------------------


# While the goods are still the villager's to collect, the slip with their code may be printed.
SLIP_PRINTABLE = (S.PLACED, S.CONFIRMED, S.BATCHED, S.IN_TRANSIT, S.AT_STATION, S.EXCEPTION)


def slip_carries_code(order: Order) -> bool:
    """The code reaches a villager without SMS on the printed slip; one with SMS gets it by text."""
    return order.consent_via == V.SLIP


def print_slip(*, order: Order, actor, reason: str = "", channel: str = SlipPrint.Channel.PAGE) -> SlipPrint:
    """Record a print of the slip with the pickup code: the first, or a reprint (a reason needed, counted).

    Two taps at once: the unique first print makes the second a reprint, which then needs its reason.
    """
    if not slip_carries_code(order):
        raise OrderError(_("This villager gets the pickup code by SMS: the slip does not carry it."))
    if order.status not in SLIP_PRINTABLE:
        raise OrderError(_("This order's goods are no longer waiting for the villager: there is no code to print."))
    reason = (reason or "").strip()[:200]
    now = timezone.now()
    if order.slip_printed_at is None:
        try:
            with transaction.atomic():
                printed = SlipPrint.objects.create(order=order, printed_by=_user(actor), channel=channel)
                Order.objects.filter(pk=order.pk).update(slip_printed_at=now)
                order.slip_printed_at = now
                return printed
        except IntegrityError:
            order.slip_printed_at = now  # printed a moment ago: this one is a reprint
    if not reason:
        raise OrderError(_("The slip was printed already. Say why it is printed again: reprints are counted."))
    return SlipPrint.objects.create(order=order, printed_by=_user(actor), reprint=True, reason=reason, channel=channel)


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
