"""Orders nobody agreed to: called off after ``ORDER_CONSENT_HOURS``, their stock released, the station told."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications import services as notifications

from . import services
from .errors import OrderError
from .models import Order

S = Order.Status


def expiry_cutoff(now=None):
    return (now or timezone.now()) - timedelta(hours=settings.ORDER_CONSENT_HOURS)


def expire_unconfirmed(*, now=None, actor=None) -> list[str]:
    """Call off the placed orders whose villager did not agree in time: stock released, the station told.

    One order per transaction (``services.cancel_order``, a conditional transition): a partner confirming
    at the same moment wins or loses cleanly.  Returns the numbers called off.
    """
    stale = Order.objects.filter(
        status=S.PLACED, consent_given_at__isnull=True, created_at__lt=expiry_cutoff(now)
    ).select_related("service_center")
    expired: dict = {}
    reason = _("The villager did not agree within %(hours)s hours: called off, stock released.") % {
        "hours": settings.ORDER_CONSENT_HOURS
    }
    for order in stale.order_by("pk")[:1000]:
        try:
            with transaction.atomic():
                # Locked, and still without the villager's say: a reply landing now waits, then finds it cancelled.
                still = Order.objects.select_for_update().filter(pk=order.pk, consent_given_at__isnull=True)
                if not still.exists():
                    continue
                services.cancel_order(order=order, actor=actor, reason=reason)
                Order.objects.filter(pk=order.pk).update(expired_at=timezone.now())
        except OrderError:
            continue  # confirmed or cancelled a moment ago
        expired.setdefault(order.service_center, []).append(order.number)
    _tell_stations(expired)
    return [number for numbers in expired.values() for number in numbers]


def _tell_stations(expired: dict) -> None:
    """One text per station with a phone; the dashboard lists them as well (``recently_expired``)."""
    notifications.queue_sms(
        notifications.Sms(
            str(station.phone),
            "orders_expired_station",
            {"count": len(numbers), "orders": "、".join(numbers[:5]), "hours": settings.ORDER_CONSENT_HOURS},
            reference=numbers[0],
        )
        for station, numbers in expired.items()
        if station.phone
    )


def recently_expired(station, *, days: int = 3):
    return Order.objects.filter(
        service_center=station, expired_at__gte=timezone.now() - timedelta(days=days)
    ).select_related("villager")
