"""The goods waiting for pickup on the partner's dashboard and order page, in a real Chromium at 360 px (issue #14)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from orders import services
from orders.models import Order
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart

from .conftest import PASSWORD, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partner(transactional_db, staff_a, fertilizer_stock):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


def waiting_since(days: int, *, station, villager, user, product, key: str) -> Order:
    """An order at the station whose goods arrived ``days`` ago: placed and carried there that day."""
    with time_machine.travel(timezone.now() - timedelta(days=days), tick=False):
        return _carried_to_the_station(station=station, villager=villager, user=user, product=product, key=key)


def _carried_to_the_station(*, station, villager, user, product, key: str) -> Order:
    order = services.place_order(
        station=station,
        villager=villager,
        placed_by=user,
        lines=[services.LineRequest(product.sku, 1)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key=key,
        notify=False,
    ).order
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=user)
    services.transition(order, to=Order.Status.BATCHED, actor=user)
    depart(order=order, actor=user)
    return arrive(order=order, actor=user, notify=False)


def test_the_waiting_orders_fit_a_phone_with_thumb_sized_rows(phone, partner, station_a, fertilizer_stock):
    page = phone
    long_name = VillagerFactory(service_center=station_a, name="欧阳诸葛长名字村民测试")
    orders = [
        waiting_since(days, station=station_a, villager=villager, user=partner, product=fertilizer_stock.product, key=k)
        for days, villager, k in [
            (13, long_name, "a"),
            (8, VillagerFactory(service_center=station_a), "b"),
            (1, VillagerFactory(service_center=station_a), "c"),
        ]
    ]
    log_in(page, partner.username)

    rows = page.locator("#waiting li a")
    assert rows.count() == 3
    shot(page, "waiting-01-dashboard")
    assert "已等13天" in rows.nth(0).inner_text() and "1天后退回仓库" in rows.nth(0).inner_text()
    for i in range(3):
        box = rows.nth(i).bounding_box()
        assert box["height"] >= 44 and box["x"] >= 0 and box["x"] + box["width"] <= 360

    rows.nth(0).click()
    page.wait_for_url(f"**/orders/{orders[0].number}/")
    assert "货物已在服务站等了 13 天。" in page.locator(".next-step").inner_text()
    shot(page, "waiting-02-order-page")

    page.goto("/orders/?status=at_station")
    assert page.locator("main .rows li").count() == 3
    fits_the_screen(page)
