"""The new-order page and the receipt, as served (the browser half is in tests/browser/test_order_form.py)."""

import gzip
import re
from pathlib import Path

import pytest
from django.conf import settings

from orders.models import Order
from tests.factories import ProductFactory, StockFactory

S = Order.Status
APP_CSS = Path(settings.BASE_DIR) / "static" / "ruralshop" / "app.css"


@pytest.fixture
def english(client_a):
    client_a.cookies["django_language"] = "en"
    return client_a


def confirm_forms(page: str, number: str) -> list[str]:
    return re.findall(rf'<form method="post" action="/orders/{number}/confirm/".*?</form>', page, re.S)


# --- 5. choosing the villager keeps the cart ---------------------------------------------


def test_choosing_a_villager_is_done_on_the_page_not_by_reloading_it(client_a, villager_a):
    choices = client_a.get("/orders/new/villagers/", {"q": "王"}).content.decode()
    form = client_a.get("/orders/new/").content.decode()

    # the choice carries what app.js needs to fill the order form's hidden field (the link stays for no JS)
    assert re.search(
        rf'href="/orders/new/\?villager={villager_a.pk}" data-choose-villager="{villager_a.pk}"'
        rf' data-name="王建国" data-phone="138\*\*\*\*5678"',
        choices,
    )
    # and the page has the place to show it, hidden until then, and the search it replaces
    assert re.search(r'<p class="chosen" id="villager-chosen" hidden>', form)
    assert '<div id="villager-search">' in form


def test_a_villager_chosen_by_the_link_is_shown_and_the_search_hidden(client_a, villager_a):
    form = client_a.get(f"/orders/new/?villager={villager_a.pk}").content.decode()

    assert '<p class="chosen" id="villager-chosen">' in form
    assert '<div id="villager-search" hidden>' in form
    assert f'name="villager" value="{villager_a.pk}"' in form


# --- 6. one row per product, a sticky cart bar ------------------------------------------------


def test_cart_rows_and_add_buttons_name_their_product(client_a, fertilizer_stock):
    product = fertilizer_stock.product
    results = client_a.get("/orders/new/products/", {"q": "复合肥"}).content.decode()
    row = client_a.get("/orders/new/line/", {"product": product.pk}).content.decode()

    # app.js finds the row of a product already in the cart by it, and drops a repeated tap
    assert f'data-add-product="{product.pk}"' in results
    assert 'hx-sync="this:drop"' in results
    assert f'data-product="{product.pk}"' in row


def test_the_order_form_has_a_cart_bar_with_the_count(client_a, villager_a, fertilizer_stock):
    empty = client_a.get("/orders/new/").content.decode()
    # a refused form comes back with its cart: the bar shows it from the start
    refused = client_a.post(
        "/orders/new/", {"villager": "", "sku": ["FERT-50"], "quantity": ["2"], "idempotency_key": "k"}
    ).content.decode()

    assert re.search(r'<div class="cart-bar" id="cart-bar" hidden>', empty)
    assert re.search(r'<div class="cart-bar" id="cart-bar">', refused)
    assert "data-cart-count" in refused and 'href="#cart"' in refused
    assert re.search(r"\.cart-bar\{position:sticky;bottom:0", APP_CSS.read_text())


# --- 8. the receipt offers the next step and prints without it -------------------------------------


def test_the_receipt_of_a_placed_cash_order_offers_to_take_payment(english, order_a):
    page = english.get(f"/orders/{order_a.number}/receipt/").content.decode()

    (form,) = confirm_forms(page, order_a.number)
    assert f"Take payment ¥{order_a.total}" in form
    assert "csrfmiddlewaretoken" in form


def test_the_receipt_of_a_placed_pay_on_pickup_order_offers_to_confirm(english, order_a):
    Order.objects.filter(pk=order_a.pk).update(payment_method=Order.PaymentMethod.PAY_ON_PICKUP)

    page = english.get(f"/orders/{order_a.number}/receipt/").content.decode()

    (form,) = confirm_forms(page, order_a.number)
    assert "Confirm (pay on pickup)" in form
    assert "Take payment" not in form


def test_the_receipt_of_a_confirmed_order_offers_no_confirmation(english, order_a):
    Order.objects.filter(pk=order_a.pk).update(status=S.CONFIRMED)

    page = english.get(f"/orders/{order_a.number}/receipt/").content.decode()

    assert confirm_forms(page, order_a.number) == []
    assert "Print the receipt" in page


def test_taking_payment_from_the_receipt_confirms_the_order(english, order_a):
    page = english.get(f"/orders/{order_a.number}/receipt/").content.decode()
    (form,) = confirm_forms(page, order_a.number)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)[1]

    response = english.post(
        f"/orders/{order_a.number}/confirm/",
        {"csrfmiddlewaretoken": token, "next": "receipt", "consent_code": order_a.consent_code},
    )

    assert 'name="next" value="receipt"' in form and 'name="consent_code"' in form
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order_a.number}/receipt/"  # back to print it, now paid
    order_a.refresh_from_db()
    assert order_a.status == S.CONFIRMED


def test_the_receipt_keeps_messages_and_buttons_off_the_printout(english, villager_a, fertilizer_stock):
    # given: the receipt right after placing, with its flash message
    data = {
        "villager": villager_a.pk,
        "sku": ["FERT-50"],
        "quantity": ["1"],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        "idempotency_key": "receipt-key",
    }
    page = english.post("/orders/new/", data, follow=True).content.decode()
    number = Order.objects.get().number

    # then: the message sits in the .messages list, the buttons and the confirm form in .no-print ...
    assert re.search(
        rf'<ul class="messages"><li class="success" role="status">Order {number} is placed.</li></ul>', page
    )
    actions = re.search(r'<div class="actions no-print">(.*?)\n</div>', page, re.S)[1]
    assert confirm_forms(actions, number) and "data-print" in actions
    # ... and the print style sheet hides them, with the navigation and every button
    hidden = set()
    for rules in print_blocks(APP_CSS.read_text()):
        for selectors in re.findall(r"([^{}]*)\{display:none!important\}", rules):
            hidden |= {s.strip() for s in selectors.split(",")}
    assert {".messages", ".no-print", "nav", ".top", "button", ".actions"} <= hidden


def print_blocks(css: str) -> list[str]:
    """The rules inside each ``@media print{...}`` of a style sheet (comments dropped)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    blocks = []
    for start in (m.end() for m in re.finditer(r"@media print\s*\{", css)):
        depth, end = 1, start
        while depth:
            depth += {"{": 1, "}": -1}.get(css[end], 0)
            end += 1
        blocks.append(css[start : end - 1])
    return blocks


def test_the_order_form_with_a_full_search_is_under_the_page_budget(client_a, villager_a, fertilizer_stock):
    from tests.test_page_weight import BUDGET, page_weight

    category = fertilizer_stock.product.category
    for n in range(25):
        StockFactory(
            product=ProductFactory(name=f"复合肥 {n} 号 40kg", category=category), warehouse=fertilizer_stock.warehouse
        )
    form, _ = page_weight(client_a.get(f"/orders/new/?villager={villager_a.pk}").content)
    results = client_a.get("/orders/new/products/", {"q": "fhf"}).content

    assert results.count(b'class="add"') == 20
    assert form + len(gzip.compress(results)) < BUDGET
