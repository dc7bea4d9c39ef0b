from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def signed_yuan(amount) -> str:
    """+¥6.00, -¥6.00 or ¥0.00: a difference or an entry, with its sign before the currency."""
    amount = Decimal(amount)
    if amount > 0:
        return f"+¥{amount:.2f}"
    if amount < 0:
        return f"-¥{-amount:.2f}"
    return f"¥{amount:.2f}"
