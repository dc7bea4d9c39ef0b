"""Stock through catalog.stock: goods in, stock-takes and write-offs, each recorded as a StockMovement."""

import importlib

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from catalog import stock as stocks
from catalog.models import Stock, StockMovement
from orders import returns, services, stock_moves
from orders.models import Order
from ruralshop.ledgers import LedgerIsAppendOnly
from tests.conftest import requires_postgres
from tests.factories import ProductFactory, StockFactory

K = StockMovement.Kind


@pytest.fixture(autouse=True)
def english():
    # The refusals are matched on their English text; the default language is Chinese.
    with translation.override("en"):
        yield


@pytest.fixture
def pump(db):
    return ProductFactory(sku="PUMP-1", name="水泵")


def row(product, warehouse) -> Stock:
    return Stock.objects.get(product=product, warehouse=warehouse)


def assert_row_equals_its_movements(product, warehouse):
    stock = row(product, warehouse)
    level = stocks.stock_from_movements(product_ids=[product.pk], warehouse_ids=[warehouse.pk])[
        (product.pk, warehouse.pk)
    ]
    assert (stock.on_hand, stock.reserved) == (level.on_hand, level.reserved)
    assert stocks.stock_mismatches(warehouse_ids=[warehouse.pk]) == []


def test_it_receives_counts_and_writes_off_and_the_row_equals_the_sum_of_its_movements(pump, warehouse_a, staff_a):
    # when goods come in twice, a stock-take finds fewer, and two are written off
    first = stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=30, actor=staff_a, note="truck 7")
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=12, actor=staff_a)
    count = stocks.count_stock(product=pump, warehouse=warehouse_a, counted=40, actor=staff_a, note="November")
    stocks.write_off_stock(product=pump, warehouse=warehouse_a, quantity=2, actor=staff_a, note="cracked housing")

    # then the row moved by each, and each change is a movement with its actor and note
    assert first.stock.on_hand == 30
    assert count.movement.on_hand_delta == -2  # 40 counted against 42 on hand
    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved) == (38, 0)
    assert list(
        StockMovement.objects.order_by("pk").values_list("kind", "on_hand_delta", "reserved_delta", "actor", "note")
    ) == [
        (K.RECEIVED, 30, 0, staff_a.pk, "truck 7"),
        (K.RECEIVED, 12, 0, staff_a.pk, ""),
        (K.COUNTED, -2, 0, staff_a.pk, "November"),
        (K.WRITTEN_OFF, -2, 0, staff_a.pk, "cracked housing"),
    ]
    assert_row_equals_its_movements(pump, warehouse_a)


def test_it_creates_the_stock_row_on_the_first_receipt_or_count(pump, warehouse_a, warehouse_b, staff_a):
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=5, actor=staff_a)
    stocks.count_stock(product=pump, warehouse=warehouse_b, counted=3, actor=staff_a)

    assert row(pump, warehouse_a).on_hand == 5
    assert row(pump, warehouse_b).on_hand == 3
    assert_row_equals_its_movements(pump, warehouse_b)


def test_it_records_a_count_that_matches_with_a_zero_change(pump, warehouse_a, staff_a):
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=5, actor=staff_a)

    change = stocks.count_stock(product=pump, warehouse=warehouse_a, counted=5, actor=staff_a, note="checked")

    assert (change.movement.kind, change.movement.on_hand_delta) == (K.COUNTED, 0)
    assert row(pump, warehouse_a).on_hand == 5


@pytest.fixture
def pump_with_two_reserved(pump, warehouse_a, staff_a, place_at_a):
    """10 pumps received, 2 of them reserved by a placed order."""
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=10, actor=staff_a)
    place_at_a((pump, 2), notify=False)
    return row(pump, warehouse_a)


def test_it_refuses_a_count_below_what_orders_hold_reserved(pump_with_two_reserved, pump, warehouse_a, staff_a):
    with pytest.raises(stocks.StockError, match="reserved"):
        stocks.count_stock(product=pump, warehouse=warehouse_a, counted=1, actor=staff_a)

    assert row(pump, warehouse_a).on_hand == 10
    assert not StockMovement.objects.filter(kind=K.COUNTED).exists()


def test_it_counts_down_to_exactly_what_is_reserved(pump_with_two_reserved, pump, warehouse_a, staff_a):
    stocks.count_stock(product=pump, warehouse=warehouse_a, counted=2, actor=staff_a)

    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved) == (2, 2)


def test_it_refuses_a_write_off_into_reserved_units(pump_with_two_reserved, pump, warehouse_a, staff_a):
    with pytest.raises(stocks.StockError, match="only 8 units are free"):
        stocks.write_off_stock(product=pump, warehouse=warehouse_a, quantity=9, actor=staff_a, note="flood")

    stocks.write_off_stock(product=pump, warehouse=warehouse_a, quantity=8, actor=staff_a, note="flood")
    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved) == (2, 2)


def test_it_refuses_a_write_off_without_a_note_or_without_stock(pump, warehouse_a, staff_a):
    with pytest.raises(stocks.StockError, match="no stock"):
        stocks.write_off_stock(product=pump, warehouse=warehouse_a, quantity=1, actor=staff_a, note="lost")
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=3, actor=staff_a)
    with pytest.raises(stocks.StockError, match="Say why"):
        stocks.write_off_stock(product=pump, warehouse=warehouse_a, quantity=1, actor=staff_a, note="  ")

    assert row(pump, warehouse_a).on_hand == 3


@pytest.mark.parametrize("quantity", [0, -1, 1.5, True, "3", None, stocks.MAX_QUANTITY + 1])
def test_it_refuses_quantities_that_are_not_whole_positive_numbers(pump, warehouse_a, staff_a, quantity):
    with pytest.raises(stocks.StockError, match="whole number"):
        stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=quantity, actor=staff_a)
    with pytest.raises(stocks.StockError, match="whole number"):
        stocks.count_stock(
            product=pump, warehouse=warehouse_a, counted=-1 if quantity == 0 else quantity, actor=staff_a
        )

    assert not Stock.objects.filter(product=pump).exists()
    assert not StockMovement.objects.exists()


def test_it_refuses_a_note_longer_than_the_record_holds(pump, warehouse_a, staff_a):
    with pytest.raises(stocks.StockError, match="500"):
        stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=1, actor=staff_a, note="x" * 501)


def test_it_never_updates_or_deletes_a_movement(pump, warehouse_a, staff_a):
    movement = stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=5, actor=staff_a).movement

    movement.on_hand_delta = 500
    with pytest.raises(LedgerIsAppendOnly):
        movement.save()
    with pytest.raises(LedgerIsAppendOnly):
        movement.delete()
    with pytest.raises(LedgerIsAppendOnly):
        StockMovement.objects.filter(pk=movement.pk).update(on_hand_delta=500)
    with pytest.raises(LedgerIsAppendOnly):
        StockMovement.objects.all().delete()
    assert StockMovement.objects.get().on_hand_delta == 5


@requires_postgres
def test_the_database_itself_refuses_to_change_or_delete_a_movement(pump, warehouse_a, staff_a):
    movement = stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=5, actor=staff_a).movement
    table = StockMovement._meta.db_table

    for sql in (f"UPDATE {table} SET on_hand_delta = 500 WHERE id = %s", f"DELETE FROM {table} WHERE id = %s"):  # noqa: S608
        with pytest.raises(IntegrityError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [movement.pk])

    assert StockMovement.objects.get().on_hand_delta == 5


def test_the_helpers_for_the_order_services_keep_the_row_equal_to_its_movements(pump, warehouse_a, staff_a, place_at_a):
    # given 10 pumps received, and an order placed for 3 whose reservation is recorded as placement would
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=10, actor=staff_a)
    order = place_at_a((pump, 3), notify=False).order  # placement records its reservation itself
    assert_row_equals_its_movements(pump, warehouse_a)

    # when it is confirmed, batched and leaves on the truck, moved and recorded by move_stock_for_orders
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    services.transition(order, to=Order.Status.BATCHED)
    with transaction.atomic():
        services.transition(order, to=Order.Status.IN_TRANSIT)
        shipped = stock_moves.move_stock_for_orders(order_ids=[order.pk], kind=K.SHIPPED)

    # then the units left the stock, and the row still equals its movements
    assert [(m.kind, m.on_hand_delta, m.reserved_delta, m.order_id) for m in shipped] == [(K.SHIPPED, -3, -3, order.pk)]
    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved) == (7, 0)
    assert_row_equals_its_movements(pump, warehouse_a)


def test_it_refuses_an_order_kind_it_does_not_know(order_placed):
    with pytest.raises(ValueError, match="received"):
        stock_moves.record_order_movements(order_ids=[order_placed.pk], kind=K.RECEIVED)


def test_the_order_services_record_every_stock_change_they_make(pump, warehouse_a, staff_a, place_at_a, deliver):
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=10, actor=staff_a)
    cancelled = place_at_a((pump, 1), key="c", notify=False).order
    services.cancel_order(order=cancelled, actor=staff_a, reason="changed mind")
    returned = deliver(place_at_a((pump, 2), key="r", notify=False).order, actor=staff_a)
    services.hand_over(order=returned, actor=staff_a, pickup_code=returned.pickup_code)
    returns.return_order(order=returned, actor=staff_a, reason="broken")
    place_at_a((pump, 4), key="held", notify=False)
    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved) == (8, 4)  # the goods are at the station
    goods = returned.goods_returns.get()
    returns.receive_goods_back(goods=goods, actor=staff_a, counts={goods.lines.get().pk: (1, 1)})  # one came broken

    assert (row(pump, warehouse_a).on_hand, row(pump, warehouse_a).reserved, row(pump, warehouse_a).quarantined) == (
        9,
        4,
        1,
    )
    assert_row_equals_its_movements(pump, warehouse_a)


def test_it_lists_a_row_that_differs_from_its_movements(fertilizer_stock, warehouse_a):
    # a row written directly (as before the ledger), with no movement behind it
    mismatches = stocks.stock_mismatches(warehouse_ids=[warehouse_a.pk])

    assert [(s.pk, level) for s, level in mismatches] == [(fertilizer_stock.pk, stocks.StockLevel(0, 0))]


def test_the_migration_turns_the_rows_as_they_stand_into_opening_balances(fertilizer, warehouse_a):
    # given a row from before the ledger: 20 on hand, 2 reserved by a placed order
    StockFactory(product=fertilizer, warehouse=warehouse_a, on_hand=20, reserved=2)
    migration = importlib.import_module("orders.migrations.0006_stock_movement")

    # The models as the migration saw them (Stock was in orders then); the same tables.
    django_apps = MigrationExecutor(connection).loader.project_state(("orders", "0006_stock_movement")).apps
    migration.record_opening_balances(django_apps, None)

    opening = StockMovement.objects.get()
    assert (opening.kind, opening.on_hand_delta, opening.reserved_delta) == (K.OPENING, 20, 2)
    assert stocks.stock_mismatches() == []
