"""What the orders services refuse, each with a message for the partner (``str(exc)``)."""

from dataclasses import dataclass

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
