"""What the orders services refuse, each with a message for the partner (``str(exc)``)."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from .models import Order

S = Order.Status


class OrderError(Exception):
    """A domain rule refused the request; ``str(exc)`` is a message for the partner."""


class InvalidTransition(OrderError):
    def __init__(self, order: Order, to: str):
        self.order, self.to = order, to
        super().__init__(
            _("Order %(number)s is %(current)s and cannot become %(target)s.")
            % {"number": order.number, "current": S(order.status).label, "target": S(to).label}
        )


class InvalidTransitionOf(InvalidTransition):
    """The set-based refusal: some of the orders are no longer ``from_status`` (or the step does not exist)."""

    def __init__(self, from_status: str, to: str, *, stale: int = 0):
        self.from_status, self.to, self.stale = from_status, to, stale
        if stale:
            message = _("%(count)s of these orders are no longer %(current)s and cannot become %(target)s.") % {
                "count": stale,
                "current": S(from_status).label,
                "target": S(to).label,
            }
        else:
            message = _("An order that is %(current)s cannot become %(target)s.") % {
                "current": S(from_status).label,
                "target": S(to).label,
            }
        OrderError.__init__(self, message)


@dataclass(frozen=True)
class ShortLine:
    sku: str
    name: str
    requested: int
    available: int


class InsufficientStock(OrderError):
    def __init__(self, short: list[ShortLine]):
        self.short = short
        names = "; ".join(
            _("%(name)s: %(requested)s wanted, %(available)s available")
            % {"name": s.name, "requested": s.requested, "available": s.available}
            for s in short
        )
        super().__init__(_("Not enough stock at the county warehouse: %(lines)s.") % {"lines": names})


@dataclass(frozen=True)
class PricedLine:
    """A line at today's price: what the order would cost now."""

    sku: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


class PriceChanged(OrderError):
    """The order costs something else now than the total the partner showed the villager: nothing is placed.

    The offline counter took the order at the prices of its copy of the catalog; the villager agrees to the
    new total (the order is sent again with it as ``expected_total``) or the order is dropped.
    """

    def __init__(self, *, expected_total: Decimal, total: Decimal, lines: list[PricedLine]):
        self.expected_total, self.total, self.lines = expected_total, total, lines
        super().__init__(
            _(
                "The prices changed since the order was taken: it comes to ¥%(total)s now, not ¥%(expected)s. "
                "Tell the villager the new total and send the order again with it, or drop the order."
            )
            % {"total": total, "expected": expected_total}
        )


class IdempotencyConflict(OrderError):
    def __init__(self, order: Order):
        self.order = order
        super().__init__(
            _("This submission key was already used for order %(number)s with different contents.")
            % {"number": order.number}
        )


class WrongPickupCode(OrderError):
    pass


class PaymentRequired(OrderError):
    """A pay-on-pickup order is handed over only with its payment."""


class CreditLimitReached(OrderError):
    """A pay-on-pickup order would take the station past the limit the county set for it."""
