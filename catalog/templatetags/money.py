"""``{% load money %}``: ``{{ amount|yuan }}``, the one way a page shows money (catalog.money.yuan)."""

from django import template

from catalog import money

register = template.Library()


@register.filter
def yuan(amount, sign: str = "") -> str:
    """``{{ balance|yuan }}``: ¥37.33, -¥37.33 or ¥0.00; ``{{ difference|yuan:"+" }}``: +¥6.00 for a change."""
    return money.yuan(amount, plus=sign == "+")
