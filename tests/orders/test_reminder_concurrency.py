"""The reminder run twice at once (a beat tick and a manual run, two workers): one SMS per order and day.

On PostgreSQL only: SQLite serialises every write transaction, so a race there proves nothing.
"""

from collections import Counter
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from notifications.models import Notification
from notifications.tasks import send_notification
from orders import services
from orders.models import Order, PickupReminder
from orders.reminders import send_pickup_reminders
from tests.conftest import requires_postgres
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart
from tests.orders.test_concurrency import at_once

pytestmark = [requires_postgres, pytest.mark.postgres]

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVED = date(2026, 9, 1)
ORDERS = 6
RUNS = 8


@pytest.fixture
def waiting(transactional_db, station_a, staff_a, fertilizer_stock) -> list[Order]:
    """Six orders whose goods reached station A on ARRIVED, each for its own villager."""
    orders = []
    with time_machine.travel(datetime.combine(ARRIVED, time(10), tzinfo=SHANGHAI), tick=False):
        for i in range(ORDERS):
            order = services.place_order(
                station=station_a,
                villager=VillagerFactory(service_center=station_a),
                placed_by=staff_a,
                lines=[services.LineRequest(fertilizer_stock.product.sku, 1)],
                delivery_method="station_pickup",
                payment_method="cash_at_station",
                idempotency_key=f"c-{i}",
                notify=False,
            ).order
            services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
            services.transition(order, to=Order.Status.BATCHED, actor=staff_a)
            depart(order=order, actor=staff_a)
            orders.append(arrive(order=order, actor=staff_a, notify=False))
    return orders


def test_eight_runs_at_once_send_each_reminder_once(waiting, monkeypatch):
    monkeypatch.setattr(send_notification, "delay", lambda *args: None)  # no messages left on the broker

    outcomes = at_once(lambda i: send_pickup_reminders(today=ARRIVED + timedelta(days=3)), n=RUNS)

    # then one run sent all six, the others found them sent (or waited for it and stood down)
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    assert Counter(outcomes) == {ORDERS: 1, 0: RUNS - 1}
    assert PickupReminder.objects.count() == ORDERS
    texts = Notification.objects.filter(template="order_reminder")
    assert sorted(texts.values_list("reference", flat=True)) == sorted(o.number for o in waiting)
