"""The price of products in force at a moment: list price and the promotions running, in one query.

It runs on every placement, so it is written as SQL (``Model.objects.raw``,
which still converts the columns to Decimal and datetime on every backend):
building the same query through the ORM costs ten times the CPU of running it.
"""

from datetime import datetime
from decimal import Decimal

from django.db import connection

from .models import Product, Promotion
from .money import discounted


def _marks(values) -> str:
    return ", ".join(["%s"] * len(values))


def _promotions_running(products: list[Product], at: datetime) -> list[Promotion]:
    product_ids, category_ids = [p.pk for p in products], sorted({p.category_id for p in products})
    at_db = connection.ops.adapt_datetimefield_value(at)
    sql = (
        f"SELECT * FROM {Promotion._meta.db_table} "  # noqa: S608 - a table name and placeholders, no input
        f"WHERE (product_id IN ({_marks(product_ids)}) OR category_id IN ({_marks(category_ids)})) "
        "AND starts_at <= %s AND ends_at > %s"
    )
    return list(Promotion.objects.raw(sql, [*product_ids, *category_ids, at_db, at_db]))


def unit_prices(products: list[Product], *, at: datetime) -> dict[int, Decimal]:
    """The price of each product at ``at``: the lowest of its list price and the promotions running.

    A product's own promotion and its category's both apply; the villager gets the lower price.
    """
    prices = {p.pk: p.price for p in products}
    promotions = _promotions_running(products, at) if products else []
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
