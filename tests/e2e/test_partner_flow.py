"""The partner's whole assisted order, in a real browser at phone width."""

import re

import pytest

from orders import services
from orders.models import Order, Stock
from tests.factories import StockFactory, UserFactory

from .conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def partner(staff_a, fertilizer, warehouse_a):
    StockFactory(product=fertilizer, warehouse=warehouse_a, on_hand=20)
    staff_a.set_password("pw-for-the-browser")
    staff_a.save()
    return staff_a


def log_in(page, user):
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", "pw-for-the-browser")
    page.click("button.primary")
    page.wait_for_url("**/")


def test_a_partner_registers_a_villager_orders_confirms_and_hands_over(phone, partner, fertilizer, warehouse_a):
    page = phone
    log_in(page, partner)
    shot(page, "1-dashboard")

    # register the neighbour on the spot from the order form
    page.goto("/orders/new/")
    page.click("a[href^='/villagers/new/']")
    page.fill("#id_name", "王秀英")
    page.fill("#id_phone", "139 1234 5678")
    page.check("#id_sms_consent")
    shot(page, "2-register-villager")
    page.click("form button.primary")
    page.wait_for_url(re.compile(r"/orders/new/\?villager=\d+"))
    assert "王秀英" in page.inner_text(".chosen")

    # find the product by typing, add it, make it two bags
    page.fill("#product-q", "复合肥")
    page.wait_for_selector("#product-results button.add")
    page.click("#product-results button.add")
    page.wait_for_selector("#cart-lines tr")
    page.fill("#cart-lines input[name=quantity]", "2")
    shot(page, "3-cart")
    page.click("#order-form button.primary")

    # the receipt, with its pickup code and QR code
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z-]+/receipt/"))
    code = page.inner_text(".pickup .code").strip()
    assert re.fullmatch(r"\d{6}", code)
    assert page.locator(".qr svg").count() == 1
    shot(page, "4-receipt")
    order = Order.objects.get()
    assert (order.status, order.pickup_code, order.lines.get().quantity) == ("placed", code, 2)
    assert Stock.objects.get(product=fertilizer, warehouse=warehouse_a).reserved == 2

    # payment at the counter
    page.goto(f"/orders/{order.number}/")
    page.click(f"form[action='/orders/{order.number}/confirm/'] button")
    page.wait_for_load_state()
    order.refresh_from_db()
    assert order.status == "confirmed"

    # the county warehouse and the truck bring it
    services.transition(order, to="batched")
    services.depart(order=order)
    services.arrive(order=order)

    # a wrong code is refused and changes nothing
    page.goto(f"/orders/{order.number}/")
    page.fill("#id_pickup_code", "000000" if code != "000000" else "111111")
    page.click(f"form[action='/orders/{order.number}/hand-over/'] button")
    assert page.locator(".error").count() >= 1
    order.refresh_from_db()
    assert order.status == "at_station"
    shot(page, "5-wrong-code")

    # the villager shows the right one
    page.fill("#id_pickup_code", code)
    page.click(f"form[action='/orders/{order.number}/hand-over/'] button")
    page.wait_for_load_state()
    order.refresh_from_db()
    assert order.status == "collected"
    shot(page, "6-collected")


def test_a_double_submitted_order_form_gives_one_order(phone, partner, villager_a, fertilizer):
    page = phone
    log_in(page, partner)
    page.goto(f"/orders/new/?villager={villager_a.pk}")
    page.fill("#product-q", fertilizer.sku)
    page.wait_for_selector("#product-results button.add")
    page.click("#product-results button.add")
    page.wait_for_selector("#cart-lines tr")
    form = page.locator("#order-form")
    data = {
        name: form.locator(f"[name={name}]").first.input_value()
        for name in ("csrfmiddlewaretoken", "villager", "idempotency_key", "sku", "quantity")
    }
    data |= {"delivery_method": "station_pickup", "payment_method": "cash_at_station"}

    first = page.request.post("/orders/new/", form=data, max_redirects=0)
    second = page.request.post("/orders/new/", form=data, max_redirects=0)

    assert first.status == second.status == 302
    assert first.headers["location"] == second.headers["location"]
    assert Order.objects.count() == 1


def test_a_user_without_a_station_is_told_so(phone, db):
    user = UserFactory(username="newcomer")
    user.set_password("pw-for-the-browser")
    user.save()

    log_in(phone, user)

    assert phone.locator("h1").inner_text() == "您的账号尚未关联服务站"
