"""A partner's assisted order in a real Chromium at 360 px: from logging in to handing the goods over.

The browser only sees what a partner sees (ids, names, roles and URLs; the UI
is in Chinese); the test body checks the database between the steps and
plays the county warehouse and the truck through the services.
"""

import re

import pytest

from catalog.models import Stock
from orders import services
from orders.models import CommissionEntry, Order, OrderEvent
from partners.models import Villager
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart

from .conftest import PASSWORD, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECEIPT_URL = re.compile(r"/orders/(?P<number>[0-9A-Z-]{6,20})/receipt/$")


@pytest.fixture
def partner(transactional_db, staff_a, fertilizer_stock):
    """alice, partner of 里叶村服务站, whose county warehouse has 20 bags of 复合肥 50kg (FERT-50)."""
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


def stock_of(product_stock: Stock) -> tuple[int, int]:
    product_stock.refresh_from_db()
    return product_stock.on_hand, product_stock.reserved


def add_to_cart(page, query: str) -> None:
    """Type part of a product name, wait for htmx's results, add the first one to the cart."""
    rows_before = page.locator("#cart-lines tr").count()
    page.fill("#product-q", query)
    page.locator("#product-results button.add").first.wait_for()
    page.locator("#product-results button.add").first.click()
    page.locator("#cart-lines tr").nth(rows_before).wait_for()


def test_a_partner_registers_a_villager_orders_takes_payment_and_hands_over(
    phone, partner, station_a, fertilizer_stock
):
    page = phone
    fertilizer = fertilizer_stock.product
    log_in(page, partner.username, screenshot="01-login")
    assert page.locator("header .station").inner_text() == "里叶村服务站"
    shot(page, "02-dashboard")

    # --- 1. the villager is new: register them from the order form, and come back with them chosen
    page.goto("/orders/new/")
    shot(page, "03-order-form-empty")
    page.locator('a[href="/villagers/new/?next=/orders/new/"]').click()
    page.wait_for_url("**/villagers/new/?next=/orders/new/")
    page.fill("#id_name", "王秀英")
    page.fill("#id_phone", "139 1234 5678")
    shot(page, "04-register-villager")
    page.locator("main form button.primary").click()
    page.wait_for_url(re.compile(r"/orders/new/\?villager=\d+$"))
    villager_id = int(page.url.rsplit("=", 1)[1])
    villager = Villager.objects.get(pk=villager_id)
    assert (villager.name, villager.service_center, villager.created_by) == ("王秀英", station_a, partner)
    assert str(villager.phone) == "+8613912345678" and not villager.sms_consent
    chosen = page.locator(".chosen").inner_text()
    assert "王秀英" in chosen and "139****5678" in chosen
    assert page.locator("#order-form input[name=villager]").input_value() == str(villager_id)
    assert page.locator(".messages .success").count() == 1  # "王秀英 is registered."

    # --- 2. find the product by typing part of its name (htmx), add it, make it two bags
    add_to_cart(page, "复合")
    assert "复合肥 50kg" in page.locator("#product-results").inner_text()
    cart = page.locator("#cart-lines tr")
    assert cart.count() == 1
    assert cart.locator("input[name=sku]").input_value() == "FERT-50"
    assert page.locator(".cart-empty").is_hidden()  # the "add products" hint goes once the cart has a row
    cart.locator("input[name=quantity]").fill("2")
    shot(page, "05-cart")

    # --- 3. place it: the receipt says to print the slip first (the villager has no SMS); the slip carries
    # the number the villager signs and, below the cut, the pickup code with its QR code
    page.add_init_script("window.print = () => {};")  # the slip page prints itself; headless has no dialog
    page.locator("#order-form button[data-once]").click()
    page.wait_for_url(RECEIPT_URL)
    number = RECEIPT_URL.search(page.url)["number"]
    assert page.locator(".messages .success").count() == 1
    assert page.locator(".pickup .code").count() == 0  # not on the receipt: only on the printed slip
    shot(page, "06-receipt")
    page.locator(f'form[action="/orders/{number}/slip/"] button').click()
    page.wait_for_url(f"**/orders/{number}/slip/")
    code = page.locator(".pickup .code").inner_text().strip()
    slip_number = page.locator(".sign strong").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code), code
    assert page.locator(".pickup .qr svg").is_visible()
    assert number in page.locator(".receipt").inner_text()
    shot(page, "06-slip")

    order = Order.objects.get(number=number)
    line = order.lines.get()
    assert (order.status, order.pickup_code, order.consent_code, order.villager_id, order.placed_by) == (
        "placed",
        code,
        slip_number,
        villager_id,
        partner,
    )
    assert (line.product_id, line.quantity, order.total) == (fertilizer.pk, 2, 2 * fertilizer.price)
    assert stock_of(fertilizer_stock) == (20, 2)  # on hand, reserved

    # --- 4. the villager signed the slip and pays at the counter: the slip's number confirms the order
    page.locator(f'.actions a[href="/orders/{number}/"]').click()
    page.wait_for_url(f"**/orders/{number}/")
    assert page.locator(".heading .status-placed").is_visible()
    assert code not in page.content()
    shot(page, "07-order-placed")
    page.fill("#id_consent_code", slip_number)
    page.locator(f'form[action="/orders/{number}/confirm/"] button').click()
    page.locator(".heading .status-confirmed").wait_for()
    fits_the_screen(page)
    order.refresh_from_db()
    assert order.status == "confirmed" and order.confirmed_at is not None
    assert order.consent_evidence == Order.ConsentEvidence.SIGNED_SLIP
    shot(page, "08-order-confirmed")

    # --- 5. the county warehouse batches it, the truck leaves and reaches the station
    services.transition(order, to="batched")
    depart(order=order)
    arrive(order=order)
    assert stock_of(fertilizer_stock) == (18, 0)
    page.reload()
    assert page.locator(".heading .status-at_station").is_visible()
    shot(page, "09-at-station")

    # --- 6. a wrong pickup code is refused and changes nothing
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page.fill("#id_pickup_code", wrong)
    with page.expect_response(f"**/orders/{number}/hand-over/") as refused:
        page.locator(f'form.inline-form[action="/orders/{number}/hand-over/"] button').click()
    assert refused.value.status == 409
    page.locator(".next-step [role=alert]").wait_for()
    assert page.locator(".heading .status-at_station").is_visible()
    shot(page, "10-wrong-pickup-code")
    order.refresh_from_db()
    assert order.status == "at_station" and order.collected_at is None
    assert not CommissionEntry.objects.filter(order=order).exists()

    # --- 7. the right code hands the goods over; the commission is earned now
    page.fill("#id_pickup_code", code)
    page.locator(f'form.inline-form[action="/orders/{number}/hand-over/"] button').click()
    page.locator(".heading .status-collected").wait_for()
    assert page.locator(".messages .success").count() == 1
    shot(page, "11-collected")
    order.refresh_from_db()
    assert order.status == "collected" and order.collected_at is not None
    assert list(order.events.order_by("pk").values_list("to_status", flat=True)) == [
        "placed",
        "confirmed",
        "batched",
        "in_transit",
        "at_station",
        "collected",
    ]
    assert OrderEvent.objects.get(order=order, to_status="collected").actor == partner
    assert CommissionEntry.objects.filter(order=order, kind="accrual").count() == 1
    assert stock_of(fertilizer_stock) == (18, 0)


def test_the_same_order_form_sent_twice_gives_one_order(phone, partner, station_a, fertilizer_stock):
    page = phone
    # No SMS consent: placing the order queues no message on the real broker.
    villager = VillagerFactory(service_center=station_a, name="王建国", phone="+8613812345678", sms_consent=False)
    log_in(page, partner.username)
    page.goto(f"/orders/new/?villager={villager.pk}")
    add_to_cart(page, "复合肥")
    form = page.locator("#order-form")
    key = form.locator("input[name=idempotency_key]").input_value()
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    # What the browser is about to send, read from the page itself (the key is the hidden field).
    data = {
        name: form.locator(f'[name="{name}"]').first.input_value()
        for name in ("csrfmiddlewaretoken", "villager", "idempotency_key", "sku", "quantity", "notes")
    }
    data["delivery_method"] = form.locator("input[name=delivery_method]:checked").input_value()
    data["payment_method"] = form.locator("input[name=payment_method]:checked").input_value()

    # The partner taps "place the order" ...
    form.locator("button[data-once]").click()
    page.wait_for_url(RECEIPT_URL)
    first_receipt = page.url
    # ... and the same form arrives a second time (a retry of the slow link, a resubmit after going back).
    again = page.request.post("/orders/new/", form=data, max_redirects=0)
    assert again.status == 302
    assert first_receipt.endswith(again.headers["location"])
    page.goto(again.headers["location"])
    assert page.locator(".messages .info").count() == 1  # "This order was already placed; here it is."
    shot(page, "20-resubmitted-receipt")

    order = Order.objects.get()
    assert (order.idempotency_key, order.lines.get().quantity) == (key, 1)
    assert stock_of(fertilizer_stock) == (20, 1)

    # The same key with a different cart is refused on the form, not turned into a second order.
    changed = page.request.post("/orders/new/", form=data | {"quantity": "3"}, max_redirects=0)
    assert changed.status == 200
    assert order.number in changed.text()
    assert Order.objects.count() == 1
    assert stock_of(fertilizer_stock) == (20, 1)
