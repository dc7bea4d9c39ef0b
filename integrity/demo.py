"""Demo data for the county's review: the month's signals flagged, and a few slip orders to call back."""

from django.utils import timezone

from orders.models import Order

from . import services
from .models import CallBack

DEMO_CALL_BACKS = 3


def seed_reviews() -> tuple[int, int]:
    """Flag this month's (and, early in a month, last month's) orders behind fired signals; make sure a few
    slip-confirmed orders wait for a call-back (the random 5 % may draw none in a demo of this size).
    Returns the orders flagged and the call-backs due."""
    flagged = services.flag_all(today=timezone.localdate())
    slip_orders = Order.objects.filter(
        consent_evidence=Order.ConsentEvidence.SIGNED_SLIP, call_back__isnull=True
    ).order_by("-confirmed_at")
    needed = max(DEMO_CALL_BACKS - CallBack.objects.count(), 0)
    CallBack.objects.bulk_create(CallBack(order=o) for o in slip_orders[:needed])
    return flagged, CallBack.objects.filter(result="").count()
