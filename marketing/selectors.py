"""Reads of promotional SMS: who a campaign may reach."""

from datetime import datetime, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from catalog.models import Category
from orders.models import Order, OrderLine
from partners.models import ServiceCenter, Villager

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
