"""The catalog's move out of orders (catalog 0001, orders 0008) keeps every row: it moves models in state only.

A database with the demo data is taken back to the previous release (orders 0007, no catalog app),
written to there through the models as they were, and brought forward again.
"""

import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from catalog import stock as stocks
from catalog.models import Product, Stock, StockMovement
from county.management.commands import seed_demo

PREVIOUS_RELEASE = [("orders", "0007_notification_claims"), ("catalog", None)]
MOVED_TABLES = [
    "orders_seller",
    "orders_category",
    "orders_product",
    "orders_stock",
    "orders_promotion",
    "orders_stockmovement",
]
# The tables that point at the moved ones.
REFERRING_TABLES = ["orders_orderline", "orders_commissionrule"]


def _rows() -> dict[str, int]:
    with connection.cursor() as cursor:
        counts = {}
        for table in MOVED_TABLES + REFERRING_TABLES:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608 - our own table names
            counts[table] = cursor.fetchone()[0]
        return counts


def _movement_sums() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT product_id, warehouse_id, SUM(on_hand_delta), SUM(reserved_delta), COUNT(order_id) "
            "FROM orders_stockmovement GROUP BY product_id, warehouse_id ORDER BY product_id, warehouse_id"
        )
        return cursor.fetchall()


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_it_keeps_every_row_of_the_demo_data_from_the_previous_release(monkeypatch):
    # given the demo data, without produce (its commission entries are a kind the previous release refuses)
    monkeypatch.setattr(seed_demo, "seed_produce", lambda: 0)
    call_command("seed_demo", "--password", "migration-test", stdout=io.StringIO())
    rows, sums = _rows(), _movement_sums()
    assert all(rows.values()), rows  # every table holds rows, so a lost one shows
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()

    try:
        # when the database goes back to the previous release, where the catalog was in orders
        executor = _migrate(PREVIOUS_RELEASE)
        old = executor.loader.project_state(PREVIOUS_RELEASE[:1]).apps
        assert _rows() == rows and _movement_sums() == sums
        assert old.get_model("orders", "Product").objects.count() == rows["orders_product"]
        assert ContentType.objects.filter(app_label="orders", model="product").exists()
        # ...is written to there (goods received through the models of that release)...
        stock = old.get_model("orders", "Stock").objects.order_by("pk").first()
        old.get_model("orders", "StockMovement").objects.create(
            product_id=stock.product_id, warehouse_id=stock.warehouse_id, kind="received", on_hand_delta=5
        )
        old.get_model("orders", "Stock").objects.filter(pk=stock.pk).update(on_hand=stock.on_hand + 5)
        product = old.get_model("orders", "Product").objects.create(
            sku="OLD-RELEASE-1",
            name="旧版本录入的商品",
            category_id=stock.product.category_id,
            seller_id=stock.product.seller_id,
            price=Decimal("9.90"),
            weight_kg=1,
            volume_m3=Decimal("0.001"),
        )
    finally:
        # ...and comes forward again
        ContentType.objects.clear_cache()
        _migrate(leaves)
        ContentType.objects.clear_cache()

    # then no row was lost, and the catalog's models read them all
    after = _rows()
    assert after == {
        **rows,
        "orders_product": rows["orders_product"] + 1,
        "orders_stockmovement": rows["orders_stockmovement"] + 1,
    }
    assert Product.objects.count() == after["orders_product"] and Product.objects.filter(pk=product.pk).exists()
    assert (
        Stock.objects.count() == rows["orders_stock"] and StockMovement.objects.count() == after["orders_stockmovement"]
    )
    assert stocks.stock_mismatches() == []
    changed = {row[:2] for row in set(_movement_sums()) ^ set(sums)}
    assert changed == {(stock.product_id, stock.warehouse_id)}
    # the admin log and permissions of the moved models follow them into catalog
    assert ContentType.objects.filter(app_label="catalog", model="product").exists()
    assert not ContentType.objects.filter(app_label="orders", model="product").exists()
