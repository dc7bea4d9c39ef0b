"""The order API under real concurrency: 20 HTTP requests released together against the live server.

Each request is served in its own thread with its own database connection,
as in production.  SQLite serialises every write transaction, so races there
prove nothing; these run on PostgreSQL only.
"""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest
from rest_framework.authtoken.models import Token

from catalog.models import Stock
from orders.models import Order
from tests.conftest import requires_postgres
from tests.factories import VillagerFactory

pytestmark = [requires_postgres, pytest.mark.postgres]

THREADS = 20


def at_once(work, n: int = THREADS) -> list:
    """Run ``work(i)`` in ``n`` threads released together by a barrier; a result or an exception per thread."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=90)
    assert not any(thread.is_alive() for thread in threads), "a request is stuck: a deadlock or a lock never released"
    return outcomes


@pytest.fixture
def quiet_villager(transactional_db, station_a):
    # No phone: placing for them queues no SMS, so no message is left on the broker.
    return VillagerFactory(service_center=station_a, name="张大爷", phone="", sms_consent=False)


@pytest.fixture
def post_order(live_server, staff_a, quiet_villager):
    """POST one order of FERT-50 over HTTP with staff A's token: ``(status, decoded JSON or raw text)``."""
    token = Token.objects.create(user=staff_a).key

    def post(*, key: str, quantity: int):
        body = {
            "villager": quiet_villager.pk,
            "lines": [{"sku": "FERT-50", "quantity": quantity}],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        }
        request = urllib.request.Request(  # noqa: S310 - the live server's own http:// URL
            f"{live_server.url}/api/v1/orders/",
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Token {token}", "Idempotency-Key": key},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - as above
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            raw = error.read().decode(errors="replace")
            is_json = error.headers.get("Content-Type", "").startswith("application/json")
            return error.code, json.loads(raw) if is_json else raw

    return post


def test_it_makes_one_order_of_twenty_requests_with_one_key(post_order, fertilizer_stock):
    # when the same order is sent 20 times at once (a client retrying on a flaky link)
    outcomes = at_once(lambda i: post_order(key="retry-storm", quantity=2))

    # then one request placed it, the others got it back, and its stock was reserved once
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Counter(status for status, _ in outcomes) == {201: 1, 200: THREADS - 1}
    order = Order.objects.get()
    assert {body["number"] for _, body in outcomes} == {order.number}
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 2


def test_it_sells_the_last_5_units_to_exactly_5_of_20_requests(post_order, fertilizer_stock):
    # given 5 units at the county warehouse
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=5)

    # when 20 different orders of one unit arrive at once
    outcomes = at_once(lambda i: post_order(key=f"order-{i}", quantity=1))

    # then 5 are placed and 15 refused with the short line named; nothing oversold, no server error
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Counter(status for status, _ in outcomes) == {201: 5, 409: 15}
    refusals = [body for status, body in outcomes if status == 409]
    assert all(body["short_lines"][0]["sku"] == "FERT-50" for body in refusals)
    assert {body["short_lines"][0]["available"] for body in refusals} == {0}
    assert Order.objects.count() == 5
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 5
