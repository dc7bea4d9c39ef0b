"""Reads of promotional SMS: who a campaign may reach."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from catalog.models import Category
from notifications.models import Notification
from orders.models import Order, OrderLine
from partners.models import ServiceCenter, Villager

from .models import Recipient

MONTH = timedelta(days=30)  # "within the last N months" counts 30-day months: a filter, not an accounting period


def audience(
    station: ServiceCenter,
    *,
    category: Category | None = None,
    months: int | None = None,
    at: datetime | None = None,
) -> QuerySet[Villager]:
    """The station's villagers a campaign may text: agreed to promotional SMS, with a phone, not anonymised;
    with ``category``, only those who collected an order with a product of it (or of a subcategory of it),
    within the last ``months`` if given.  One query; ``.count()`` is what the partner sees before sending."""
    villagers = (
        Villager.objects.filter(service_center=station, marketing_consent=True, anonymised_at__isnull=True)
        .filter(~Q(phone="") | ~Q(code_phone=""))
        .order_by("pk")
    )
    if category is not None:
        bought = OrderLine.objects.filter(
            Q(product__category=category) | Q(product__category__parent=category),
            order__villager=OuterRef("pk"),
            order__status=Order.Status.COLLECTED,  # a fully returned order is not something they kept
        )
        if months:
            bought = bought.filter(order__collected_at__gte=(at or timezone.now()) - months * MONTH)
        villagers = villagers.filter(Exists(bought))
    return villagers


ATTRIBUTION_WINDOW = timedelta(days=7)


def recipient_counts(campaign) -> dict[str, int]:
    """How many recipients of ``campaign`` are in each status: one query.  A recipient written to the outbox
    whose SMS the outbox finally gave up on counts as failed (the outbox, not this app, knows)."""
    counts = dict.fromkeys(Recipient.Status.values, 0)
    rows = (
        Recipient.objects.filter(campaign=campaign)
        .values_list("status", "notification__status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for status, sms_status, n in rows:
        failed = status == Recipient.Status.SENT and sms_status == Notification.Status.FAILED
        counts[Recipient.Status.FAILED if failed else status] += n
    return counts


def attributed_orders(campaign) -> dict:
    """Orders placed by the campaign's texted recipients within 7 days after their SMS, and their total: one query.

    Attributed, not claimed: a villager who would have ordered anyway counts too.  Orders called off
    (cancelled) are left out; the campaign's station only.
    """
    texted = Recipient.objects.filter(
        campaign=campaign,
        status=Recipient.Status.SENT,
        villager=OuterRef("villager"),
        sent_at__lte=OuterRef("created_at"),
        sent_at__gt=OuterRef("created_at") - ATTRIBUTION_WINDOW,
    )
    orders = Order.objects.filter(Exists(texted), service_center_id=campaign.service_center_id).exclude(
        status=Order.Status.CANCELLED
    )
    return orders.aggregate(orders=Count("pk"), total=Coalesce(Sum("total"), Decimal("0.00")))
