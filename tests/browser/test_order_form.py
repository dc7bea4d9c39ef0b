"""The new-order page in a real Chromium at 360 px: nothing picked is lost, a double tap adds one, the cart shows.

And the receipt right after placing: the next step on screen, neither it nor the flash message on paper.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.factories import ProductFactory, StockFactory, VillagerFactory

from .conftest import ARTIFACTS, PASSWORD, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIPT_URL = re.compile(r"/orders/(?P<number>[0-9A-Z-]{6,20})/receipt/$")


@pytest.fixture
def partner(transactional_db, staff_a, fertilizer_stock, warehouse_a):
    """alice of 里叶村服务站; her county warehouse has 复合肥 50kg (FERT-50, 168.00) and 尿素 50kg (UREA-50, 135.00)."""
    staff_a.set_password(PASSWORD)
    staff_a.save()
    urea = ProductFactory(
        sku="UREA-50", name="尿素 50kg", price=Decimal("135.00"), category=fertilizer_stock.product.category
    )
    StockFactory(product=urea, warehouse=warehouse_a, on_hand=20)
    return staff_a


@pytest.fixture
def villagers(station_a):
    # No SMS consent: placing an order queues no message on the real broker.
    return (
        VillagerFactory(service_center=station_a, name="王建国", phone="+8613812345678", sms_consent=False),
        VillagerFactory(service_center=station_a, name="王秀英", phone="+8613912345678", sms_consent=False),
    )


def search_products(page, query: str):
    page.fill("#product-q", query)
    button = page.locator("#product-results button.add").first
    button.wait_for()
    expect(page.locator("#product-results")).to_contain_text(query)
    return button


def add_to_cart(page, query: str) -> None:
    rows_before = page.locator("#cart-lines tr").count()
    search_products(page, query).click()
    page.locator("#cart-lines tr").nth(rows_before).wait_for()


def choose_villager(page, name: str) -> None:
    page.fill("#villager-q", name)
    page.locator("#villager-choices a", has_text=name).click()


def cart(page) -> list[tuple[str, str]]:
    rows = page.locator("#cart-lines tr")
    return [
        (
            rows.nth(i).locator("input[name=sku]").input_value(),
            rows.nth(i).locator("input[name=quantity]").input_value(),
        )
        for i in range(rows.count())
    ]


def test_a_cart_picked_before_the_villager_survives_choosing_and_changing_them(phone, partner, villagers):
    page = phone
    first, second = villagers
    log_in(page, partner.username)
    page.goto("/orders/new/")
    page.evaluate("window.notReloaded = true")

    # given: two products in the cart, no villager yet
    add_to_cart(page, "复合肥")
    add_to_cart(page, "尿素")
    page.fill("#id_notes", "下午来取")

    # when: the villager is chosen ...
    choose_villager(page, "王建国")

    # then: the cart and the notes are still there, on the same page
    expect(page.locator(".chosen")).to_contain_text("王建国")
    assert cart(page) == [("FERT-50", "1"), ("UREA-50", "1")]
    expect(page.locator("#villager-search")).to_be_hidden()
    assert page.locator("#order-form input[name=villager]").input_value() == str(first.pk)
    assert page.evaluate("window.notReloaded") is True
    assert page.input_value("#id_notes") == "下午来取"

    # when: ... and changed
    page.locator("#villager-chosen [data-change-villager]").click()
    expect(page.locator("#villager-search")).to_be_visible()
    choose_villager(page, "王秀英")

    # then: still the same cart, now for the second villager
    expect(page.locator("#villager-chosen")).to_contain_text("139****5678")
    assert cart(page) == [("FERT-50", "1"), ("UREA-50", "1")]
    assert page.locator("#order-form input[name=villager]").input_value() == str(second.pk)
    assert page.evaluate("window.notReloaded") is True

    page.locator("#order-form button[data-once]").click()
    page.wait_for_url(RECEIPT_URL)
    order = Order.objects.get()
    assert order.villager == second and order.notes == "下午来取"
    assert sorted(order.lines.values_list("product__sku", "quantity")) == [("FERT-50", 1), ("UREA-50", 1)]


def test_a_double_tap_on_add_adds_one_and_the_cart_bar_shows_it(phone, partner, villagers):
    page = phone
    log_in(page, partner.username)
    page.goto(f"/orders/new/?villager={villagers[0].pk}")
    bar = page.locator("#cart-bar")
    expect(bar).to_be_hidden()

    # when: a double tap on "add"
    add = search_products(page, "复合肥")
    add.dblclick()
    page.locator("#cart-lines tr").first.wait_for()
    page.wait_for_timeout(400)  # a second row, had one been asked for, would have arrived by now

    # then: one row of one, and the sticky bar at the bottom of the screen says so
    assert cart(page) == [("FERT-50", "1")]
    expect(bar).to_be_in_viewport()
    expect(bar.locator("[data-cart-count]")).to_have_text("1")
    expect(bar.locator("[data-cart-total]")).to_have_text("168.00")
    box = bar.bounding_box()
    assert box["y"] + box["height"] <= 740 and box["width"] <= 360

    # when: the same product is added again later, and another one
    page.wait_for_timeout(1100)
    add.click()
    expect(page.locator("#cart-lines tr input[name=quantity]").first).to_have_value("2")
    add_to_cart(page, "尿素")

    # then: its row counts two, no second row; the bar counts three
    assert cart(page) == [("FERT-50", "2"), ("UREA-50", "1")]
    expect(bar.locator("[data-cart-count]")).to_have_text("3")
    expect(bar.locator("[data-cart-total]")).to_have_text("471.00")
    page.locator("#product-q").scroll_into_view_if_needed()
    shot(page, "30-order-form-cart")
    page.screenshot(path=str(ARTIFACTS / "30-order-form-cart-bar.png"))  # the screen as the partner sees it


def test_the_receipt_offers_to_take_payment_and_prints_without_buttons_or_messages(phone, partner, villagers):
    page = phone
    log_in(page, partner.username)
    page.goto(f"/orders/new/?villager={villagers[0].pk}")
    add_to_cart(page, "复合肥")
    page.locator("#order-form button[data-once]").click()
    page.wait_for_url(RECEIPT_URL)
    number = RECEIPT_URL.search(page.url)["number"]
    # on screen: the flash message and the next step: the slip to print (the villager has no SMS)
    expect(page.locator(".messages")).to_be_visible()
    page.add_init_script("window.print = () => {};")
    page.locator(f'form[action="/orders/{number}/slip/"] button').click()
    page.wait_for_url(f"**/orders/{number}/slip/")
    take_payment = page.locator(f'form[action="/orders/{number}/confirm/"] button')
    expect(take_payment).to_contain_text("168.00")
    shot(page, "31-receipt-take-payment")

    # on paper: no buttons, no navigation; the slip itself is there, with the pickup code
    page.emulate_media(media="print")
    for hidden in ("header.top", ".actions", "button"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator(".receipt .pickup .code")).to_be_visible()
    page.emulate_media(media="screen")

    page.fill("#id_consent_code", page.locator(".sign strong").inner_text())
    take_payment.click()
    page.wait_for_url(f"**/orders/{number}/receipt/")  # back on the receipt, to print it paid
    assert Order.objects.get(number=number).status == Order.Status.CONFIRMED
    expect(take_payment).to_have_count(0)
