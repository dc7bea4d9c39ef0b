"""Prices and commission rates in force at a moment, for a set of products, in two queries."""

from datetime import datetime
from decimal import Decimal

from django.db.models import F, Q

from .models import CommissionRule, Product, Promotion
from .money import discounted


def _in_force(prefix_from: str, prefix_until: str, at: datetime) -> Q:
    return (Q(**{f"{prefix_from}__isnull": True}) | Q(**{f"{prefix_from}__lte": at})) & (
        Q(**{f"{prefix_until}__isnull": True}) | Q(**{f"{prefix_until}__gt": at})
    )


def unit_prices(products: list[Product], *, at: datetime) -> dict[int, Decimal]:
    """The price of each product at ``at``: the lowest of its list price and the promotions running.

    A product's own promotion and its category's both apply; the villager gets the lower price.
    """
    prices = {p.pk: p.price for p in products}
    promotions = Promotion.objects.filter(
        Q(product__in=[p.pk for p in products]) | Q(category__in={p.category_id for p in products}),
        starts_at__lte=at,
        ends_at__gt=at,
    )
    by_category: dict[int, list[Promotion]] = {}
    by_product: dict[int, list[Promotion]] = {}
    for promo in promotions:
        if promo.product_id:
            by_product.setdefault(promo.product_id, []).append(promo)
        else:
            by_category.setdefault(promo.category_id, []).append(promo)
    for product in products:
        for promo in by_product.get(product.pk, []) + by_category.get(product.category_id, []):
            offer = promo.price if promo.price is not None else discounted(product.price, promo.percent_off)
            prices[product.pk] = min(prices[product.pk], offer)
    return prices


def commission_rates(products: list[Product], *, at: datetime) -> dict[int, Decimal]:
    """The commission rate of each product at ``at``: product rule, else category, else seller, else seller default."""
    rules = CommissionRule.objects.filter(
        Q(product__in=[p.pk for p in products])
        | Q(category__in={p.category_id for p in products})
        | Q(seller__in={p.seller_id for p in products}),
        _in_force("valid_from", "valid_until", at),
    ).order_by(F("valid_from").desc(nulls_last=True), "-pk")  # the newest rule wins a tie on the same target
    product_rule: dict[int, Decimal] = {}
    category_rule: dict[int, Decimal] = {}
    seller_rule: dict[int, Decimal] = {}
    for rule in rules:
        if rule.product_id:
            product_rule.setdefault(rule.product_id, rule.rate)
        elif rule.category_id:
            category_rule.setdefault(rule.category_id, rule.rate)
        else:
            seller_rule.setdefault(rule.seller_id, rule.rate)
    rates = {}
    for product in products:
        for candidate in (
            product_rule.get(product.pk),
            category_rule.get(product.category_id),
            seller_rule.get(product.seller_id),
            product.seller.default_commission_rate,
        ):
            if candidate is not None:
                rates[product.pk] = candidate
                break
    return rates
