"""Placement under real concurrency: threads released together against PostgreSQL.

SQLite serialises every write transaction, so races there prove nothing; these run on PostgreSQL only.
"""

import threading
from collections import Counter

import pytest
from django.db import connection

from catalog.models import Stock
from orders import services
from orders.models import Order
from partners.models import ServiceCenter, Villager
from tests.conftest import requires_postgres
from tests.factories import ProductFactory, StockFactory

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 20


def at_once(work, n: int = THREADS) -> list:
    """Run ``work(i)`` in ``n`` threads released together by a barrier; a result or an exception per thread."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        try:
            connection.ensure_connection()  # connect first, so the barrier releases them into the queries together
            barrier.wait(timeout=10)
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            outcomes[i] = exc
        finally:
            connection.close()  # each thread has its own connection: left open it would block the flush

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck: a deadlock or a lock never released"
    return outcomes


def place(*, station_pk, villager_pk, user, lines, key) -> services.Placement:
    # Each thread loads its own rows, as each request would.
    station = ServiceCenter.objects.select_related("village__county").get(pk=station_pk)
    return services.place_order(
        station=station,
        villager=Villager.objects.get(pk=villager_pk),
        placed_by=user,
        lines=[services.LineRequest(sku, qty) for sku, qty in lines],
        delivery_method=Order.DeliveryMethod.STATION_PICKUP,
        payment_method=Order.PaymentMethod.CASH_AT_STATION,
        idempotency_key=key,
        notify=False,  # no SMS messages left on the broker by these tests
    )


@pytest.fixture
def order_at_a(transactional_db, station_a, villager_a, staff_a, warehouse_a):
    def order(lines, key):
        return place(station_pk=station_a.pk, villager_pk=villager_a.pk, user=staff_a, lines=lines, key=key)

    return order


@pytest.mark.parametrize("on_hand", [100, 2], ids=["plenty", "just-enough-for-one"])
def test_twenty_submissions_of_one_key_make_exactly_one_order(order_at_a, fertilizer_stock, on_hand):
    # given the stock (with just enough, the later submissions find it reserved by the first)
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=on_hand)

    # when the same form is submitted 20 times at once
    outcomes = at_once(lambda i: order_at_a([("FERT-50", 2)], key="double-click"))

    # then every submission got the one order, and it reserved its stock once
    errors = [o for o in outcomes if isinstance(o, Exception)]
    assert errors == []
    assert Order.objects.count() == 1
    assert {o.order.pk for o in outcomes} == {Order.objects.get().pk}
    assert Counter(o.created for o in outcomes) == {True: 1, False: THREADS - 1}
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_twenty_orders_for_the_last_five_units_make_five_orders(order_at_a, fertilizer_stock):
    # given 5 units left
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=5)

    # when 20 clerks order one unit each at once
    outcomes = at_once(lambda i: order_at_a([("FERT-50", 1)], key=f"clerk-{i}"))

    # then 5 orders, 15 told there is not enough stock, and nothing oversold
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"Placement": 5, "InsufficientStock": 15}
    assert Order.objects.count() == 5
    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.reserved, fertilizer_stock.on_hand) == (5, 5)


def test_orders_of_the_same_products_in_opposite_order_never_deadlock(order_at_a, warehouse_a):
    # given two products in stock
    for sku in ("PUMP-A", "HOSE-B"):
        StockFactory(product=ProductFactory(sku=sku), warehouse=warehouse_a, on_hand=100)

    # when half the clerks order A then B and the other half B then A, all at once
    def work(i):
        lines = [("PUMP-A", 1), ("HOSE-B", 1)]
        return order_at_a(lines if i % 2 else lines[::-1], key=f"clerk-{i}")

    outcomes = at_once(work)

    # then no "deadlock detected": the stock rows are locked in primary-key order whatever the line order
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Order.objects.count() == THREADS
    assert sorted(Stock.objects.values_list("product__sku", "reserved")) == [("HOSE-B", THREADS), ("PUMP-A", THREADS)]
