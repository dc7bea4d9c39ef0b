from django import template

from orders.policy import days_waiting

register = template.Library()


@register.filter
def waited_days(arrived_at) -> int | None:
    """``{{ order.arrived_at|waited_days }}``: whole calendar days the goods have waited at the station (0: today)."""
    return days_waiting(arrived_at) if arrived_at else None
