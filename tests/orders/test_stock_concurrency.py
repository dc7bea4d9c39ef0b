"""Receipts, counts and write-offs at the same moment as orders reserving and shipping the same stock, on PostgreSQL.

SQLite serialises every write transaction, so races there prove nothing; these run on PostgreSQL only.
"""

from collections import Counter

import pytest
from django.db.models import Sum

from catalog import stock as stocks
from catalog.models import Stock, StockMovement
from orders import services
from orders.models import Order, OrderLine
from tests.conftest import requires_postgres
from tests.factories import ProductFactory
from tests.order_steps import depart
from tests.orders.test_concurrency import at_once, place

pytestmark = [requires_postgres, pytest.mark.postgres]

S = Order.Status
HOLDING = (S.PLACED, S.CONFIRMED, S.BATCHED)  # the statuses whose lines are reserved stock


def held_by_orders(product, warehouse) -> int:
    lines = OrderLine.objects.filter(product=product, order__warehouse=warehouse, order__status__in=HOLDING)
    return lines.aggregate(n=Sum("quantity"))["n"] or 0


@pytest.fixture
def pump_at_a(transactional_db, warehouse_a, staff_a):
    pump = ProductFactory(sku="PUMP-1", name="水泵")
    stocks.receive_stock(product=pump, warehouse=warehouse_a, quantity=50, actor=staff_a, note="opening")
    return pump


@pytest.fixture
def order_pump(station_a, villager_a, staff_a):
    def order(key, quantity=1):
        return place(
            station_pk=station_a.pk, villager_pk=villager_a.pk, user=staff_a, lines=[("PUMP-1", quantity)], key=key
        )

    return order


def test_receipts_and_departures_while_orders_reserve_lose_no_update(pump_at_a, warehouse_a, staff_a, order_pump):
    # given 50 pumps, 5 of them reserved by orders batched onto a truck
    batched = []
    for i in range(5):
        order = order_pump(f"batched-{i}").order
        services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
        batched.append(services.transition(order, to=S.BATCHED, actor=staff_a))

    # when, all at once, 10 clerks order a pump, 5 deliveries of 2 come in and the 5 batched orders leave
    def work(i):
        if i < 10:
            return order_pump(f"clerk-{i}")
        if i < 15:
            return stocks.receive_stock(
                product=pump_at_a, warehouse=warehouse_a, quantity=2, actor=staff_a, note=f"truck {i}"
            )
        return depart(order=Order.objects.get(pk=batched[i - 15].pk), actor=staff_a)

    outcomes = at_once(work)

    # then nothing was refused or lost: on hand = 50 + 10 received - 5 shipped, reserved = what orders hold
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    stock = Stock.objects.get(product=pump_at_a, warehouse=warehouse_a)
    assert (stock.on_hand, stock.reserved) == (55, 10)
    assert stock.reserved == held_by_orders(pump_at_a, warehouse_a)
    received = StockMovement.objects.filter(product=pump_at_a, kind=StockMovement.Kind.RECEIVED)
    assert received.aggregate(n=Sum("on_hand_delta"))["n"] == 60


def test_a_count_while_orders_reserve_keeps_every_reservation(pump_at_a, warehouse_a, staff_a, order_pump):
    # when a stock-take finds 40 pumps while 19 clerks order one each
    def work(i):
        if i == 0:
            return stocks.count_stock(product=pump_at_a, warehouse=warehouse_a, counted=40, actor=staff_a)
        return order_pump(f"clerk-{i}")

    outcomes = at_once(work)

    # then the count set on hand (its delta taken under the lock) and no reservation was overwritten
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    stock = Stock.objects.get(product=pump_at_a, warehouse=warehouse_a)
    assert (stock.on_hand, stock.reserved) == (40, 19)
    assert stock.reserved == held_by_orders(pump_at_a, warehouse_a)
    assert StockMovement.objects.get(kind=StockMovement.Kind.COUNTED).on_hand_delta == -10


def test_a_count_or_write_off_below_what_orders_reserve_meanwhile_never_oversells(
    pump_at_a, warehouse_a, staff_a, order_pump
):
    # when a count of 8 and a write-off of 35 race 18 clerks ordering 2 pumps each (36 of the 50)
    def work(i):
        if i == 0:
            return stocks.count_stock(product=pump_at_a, warehouse=warehouse_a, counted=8, actor=staff_a)
        if i == 1:
            return stocks.write_off_stock(
                product=pump_at_a, warehouse=warehouse_a, quantity=35, actor=staff_a, note="flood"
            )
        return order_pump(f"clerk-{i}", quantity=2)

    outcomes = at_once(work)

    # then whatever won, the orders refused are refused for stock, and reserved never exceeds on hand
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert set(kinds) <= {"Placement", "InsufficientStock", "StockChange", "StockError"}
    stock = Stock.objects.get(product=pump_at_a, warehouse=warehouse_a)
    assert 0 <= stock.reserved <= stock.on_hand
    assert stock.reserved == held_by_orders(pump_at_a, warehouse_a) == 2 * kinds["Placement"]
    non_order = StockMovement.objects.filter(product=pump_at_a).aggregate(n=Sum("on_hand_delta"))["n"]
    assert stock.on_hand == non_order  # no order shipped: on hand is exactly its recorded movements
