"""Money taken at the counter for an order, and refunds paid out, as orders hands them to the cash book.

The cash book (``cashbook``) sits above orders, so orders cannot call it: it
listens to ``payment_taken`` and ``refund_paid``, sent inside the transaction
that records the payment (a receiver that fails rolls the payment back).  A
``Tender`` says how the villager paid: cash (with what they handed over, for
the change) or a scanned mobile payment (with its transaction reference).
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import models
from django.dispatch import Signal
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog import money

from .errors import OrderError


class Method(models.TextChoices):
    CASH = "cash", gettext_lazy("cash")
    MOBILE = "mobile", gettext_lazy("mobile payment (scanned)")


@dataclass(frozen=True)
class Tender:
    """How the villager paid: ``received`` is the cash handed over (None: exactly what was due)."""

    method: str = Method.CASH
    received: Decimal | None = None
    reference: str = ""  # a mobile payment's transaction number


class PartialPayment(OrderError):
    """Less than what is due was handed over: nothing is recorded."""


# Sent in the payment's transaction: sender=Order, order=, amount= (what was due and is now paid), tender=,
# change= (cash given back), actor=.  The cash book writes the sale entry.
payment_taken = Signal()
# Sent in the refund's transaction: sender=Refund, refund=, actor=.  The cash book writes the refund entry.
refund_paid = Signal()


def change_for(tender: Tender | None, due: Decimal) -> tuple[Tender, Decimal]:
    """The tender checked against what is due, and the change to give back; refuses a partial payment."""
    tender = tender or Tender()
    if tender.method not in Method.values:
        raise OrderError(_("Choose how the villager pays: cash or a mobile payment."))
    received = tender.received
    if received is not None:
        try:
            received = money.to_fen(Decimal(received))
        except (InvalidOperation, TypeError, ValueError):
            raise OrderError(_("Enter the amount received in yuan, such as 120.50.")) from None
    if tender.method == Method.MOBILE:
        reference = (tender.reference or "").strip()
        if not reference or len(reference) > 64:
            raise OrderError(_("Enter the mobile payment's transaction number (up to 64 characters)."))
        if received is not None and received != due:
            raise PartialPayment(
                _("A mobile payment is for exactly ¥%(due)s; ¥%(received)s was entered.")
                % {"due": due, "received": received}
            )
        return Tender(Method.MOBILE, due, reference), Decimal("0.00")
    if received is None:
        received = due
    if received < due:
        raise PartialPayment(
            _("¥%(due)s is due and ¥%(received)s was received: a partial payment cannot be taken.")
            % {"due": due, "received": received}
        )
    return Tender(Method.CASH, received, ""), received - due
