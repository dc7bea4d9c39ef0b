"""Catalog 0003 turns the free-text product unit into a list: units typed another way become the list's, any
other unit is kept as it was."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog.models import Category, Product

BEFORE = [("catalog", "0002_quarantine_return_days")]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_it_maps_the_units_typed_before_the_list_and_keeps_the_others():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        # given products of the release before, their units typed by hand
        executor = _migrate(BEFORE)
        old = executor.loader.project_state(BEFORE).apps
        category = old.get_model("catalog", "Category").objects.create(name="化肥", slug="fertilizer")
        seller = old.get_model("catalog", "Seller").objects.create(name="中化化肥")
        typed = {"A": "袋", "B": " 袋 ", "C": "千克", "D": "KG", "E": "pcs", "F": "头", "G": "坛", "H": "件"}
        for sku, unit in typed.items():
            old.get_model("catalog", "Product").objects.create(
                sku=sku,
                name=f"商品 {sku}",
                category=category,
                seller=seller,
                unit=unit,
                price=Decimal("10.00"),
                weight_kg=1,
                volume_m3=Decimal("0.001"),
            )
    finally:
        # when the database comes forward
        _migrate(leaves)

    # then each unit is the list's, or kept as typed when the list has none like it
    units = dict(Product.objects.values_list("sku", "unit"))
    assert units == {"A": "袋", "B": "袋", "C": "公斤", "D": "公斤", "E": "件", "F": "只", "G": "坛", "H": "件"}
    assert set(units.values()) - set(Product.Unit.values) == {"坛"}
    assert Category.objects.get(slug="fertilizer").name_en == ""  # blank: shown in Chinese in English too
