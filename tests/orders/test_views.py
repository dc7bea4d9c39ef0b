"""The partner's order pages: scoped to the station, forms that never lose work, pinned query counts."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from catalog.models import Stock
from orders import services
from orders.models import Order
from tests.factories import ProductFactory
from tests.order_steps import arrive, depart
from tests.orders.conftest import place

S = Order.Status


def order_form(villager, product, *, quantity="2", key="form-key-1", **extra):
    data = {
        "villager": villager.pk,
        "sku": [product.sku],
        "quantity": [quantity],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        "notes": "",
        "idempotency_key": key,
    }
    data.update(extra)
    return data


ORDER_PAGES = ["", "receipt/"]
ORDER_ACTIONS = ["confirm/", "cancel/", "hand-over/", "return/"]


@pytest.mark.parametrize("url", ["/orders/", "/orders/new/", "/orders/new/products/?q=a", "/orders/new/villagers/?q=a"])
def test_every_order_page_requires_login(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize("suffix", ORDER_PAGES)
def test_another_stations_order_is_a_404(client_a, order_b, suffix):
    assert client_a.get(f"/orders/{order_b.number}/{suffix}").status_code == 404


@pytest.mark.parametrize("suffix", ORDER_ACTIONS)
def test_another_stations_order_cannot_be_acted_on(client_a, order_b, suffix):
    response = client_a.post(f"/orders/{order_b.number}/{suffix}", {"pickup_code": order_b.pickup_code})

    assert response.status_code == 404
    order_b.refresh_from_db()
    assert order_b.status == S.PLACED


def test_the_list_shows_only_the_stations_orders(client_a, order_a, order_b):
    page = client_a.get("/orders/").content.decode()

    assert order_a.number in page
    assert order_b.number not in page


def test_the_list_filters_by_status(client_a, order_a, station_a, villager_a, staff_a, fertilizer_stock):
    other = place(station_a, villager_a, staff_a, fertilizer_stock.product, key="k2")
    services.confirm_payment(order=other, consent_code=other.consent_code, actor=staff_a)

    page = client_a.get("/orders/", {"status": "confirmed"}).content.decode()

    assert other.number in page
    assert order_a.number not in page


def test_the_list_ignores_filters_it_cannot_read(client_a, order_a):
    response = client_a.get("/orders/", {"status": "nonsense", "date_from": "yesterday", "villager": "x"})

    assert response.status_code == 200
    assert order_a.number in response.content.decode()


def test_the_list_costs_the_same_queries_for_3_or_30_orders(client_a, station_a, villager_a, staff_a, fertilizer_stock):
    # session, user, station, count, one page of orders with their villagers, session save
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=100)
    for n in range(3):
        place(station_a, villager_a, staff_a, fertilizer_stock.product, key=f"few-{n}")
    with CaptureQueriesContext(connection) as few:
        assert client_a.get("/orders/").status_code == 200
    for n in range(27):
        place(station_a, villager_a, staff_a, fertilizer_stock.product, key=f"many-{n}")
    with CaptureQueriesContext(connection) as many:
        client_a.get("/orders/")

    assert len(few) == len(many) <= 8


def test_the_dashboard_counts_orders_waiting_for_payment(client_a, order_a):
    response = client_a.get("/")

    assert response.context["figures"]["awaiting_payment"] == 1
    assert response.context["figures"]["today_count"] == 1
    assert response.context["figures"]["today_value"] == order_a.total


def test_the_order_form_places_an_order_and_shows_the_receipt(client_a, villager_a, fertilizer_stock):
    response = client_a.post("/orders/new/", order_form(villager_a, fertilizer_stock.product))

    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/orders/{order.number}/receipt/"
    assert order.lines.get().quantity == 2
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_the_order_form_submitted_twice_gives_one_order(client_a, villager_a, fertilizer_stock):
    first = client_a.post("/orders/new/", order_form(villager_a, fertilizer_stock.product))
    second = client_a.post("/orders/new/", order_form(villager_a, fertilizer_stock.product))

    assert Order.objects.count() == 1
    assert first["Location"] == second["Location"]


def test_the_order_form_keeps_the_cart_when_stock_is_short(client_a, villager_a, fertilizer_stock):
    response = client_a.post("/orders/new/", order_form(villager_a, fertilizer_stock.product, quantity="500"))

    page = response.content.decode()
    assert response.status_code == 200
    assert not Order.objects.exists()
    assert fertilizer_stock.product.name in page  # the short line is named...
    assert 'name="sku" value="FERT-50"' in page  # ...and the cart is still there
    assert 'value="500"' in page


@pytest.mark.parametrize("quantity", ["0", "-1", "abc", "1.5", "1000", "9" * 30, "\x00"])
def test_the_order_form_refuses_a_bad_quantity(client_a, villager_a, fertilizer_stock, quantity):
    response = client_a.post("/orders/new/", order_form(villager_a, fertilizer_stock.product, quantity=quantity))

    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert not Order.objects.exists()


def test_the_order_form_refuses_another_stations_villager(client_a, villager_b, fertilizer_stock):
    response = client_a.post("/orders/new/", order_form(villager_b, fertilizer_stock.product))

    assert response.status_code == 200
    assert "villager" in response.context["form"].errors
    assert not Order.objects.exists()


def test_the_order_form_refuses_an_empty_cart(client_a, villager_a):
    data = order_form(villager_a, ProductFactory.build(sku="X"))
    data.pop("sku")
    data.pop("quantity")

    response = client_a.post("/orders/new/", data)

    assert response.status_code == 200
    assert not Order.objects.exists()


def test_the_order_form_refuses_home_installation_of_fertilizer(client_a, villager_a, fertilizer_stock):
    data = order_form(villager_a, fertilizer_stock.product, delivery_method="home_installation")

    response = client_a.post("/orders/new/", data)

    assert response.status_code == 200
    assert not Order.objects.exists()


def test_the_order_form_preselects_a_villager_from_the_link(client_a, villager_a):
    response = client_a.get(f"/orders/new/?villager={villager_a.pk}")

    assert response.context["villager"] == villager_a
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', response.content.decode())


def test_the_order_form_does_not_preselect_another_stations_villager(client_a, villager_b):
    response = client_a.get(f"/orders/new/?villager={villager_b.pk}")

    assert response.context["villager"] is None


def test_product_search_shows_stock_at_the_stations_warehouse(client_a, fertilizer_stock):
    response = client_a.get("/orders/new/products/", {"q": "复合肥"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert fertilizer_stock.product.name in page
    assert "20" in page


def test_a_cart_line_for_a_missing_product_is_a_404(client_a, warehouse_a):
    assert client_a.get("/orders/new/line/", {"product": "999999"}).status_code == 404
    assert client_a.get("/orders/new/line/", {"product": "abc"}).status_code == 404


def test_villager_search_for_the_order_finds_only_the_stations_villagers(client_a, villager_a, villager_b):
    page = client_a.get("/orders/new/villagers/", {"q": "1"}).content.decode()

    assert villager_a.name in page
    assert villager_b.name not in page


def test_the_receipt_says_where_the_pickup_code_went_and_has_a_qr_code(client_a, order_a):
    page = client_a.get(f"/orders/{order_a.number}/receipt/").content.decode()

    assert order_a.pickup_code not in page  # the villager gets it by SMS (orders.consent)
    assert "<svg" in page
    assert "138****5678" in page
    assert "13812345678" not in page


def test_the_partner_confirms_payment(client_a, order_a):
    response = client_a.post(f"/orders/{order_a.number}/confirm/", {"consent_code": order_a.consent_code})

    assert response.status_code == 302
    order_a.refresh_from_db()
    assert order_a.status == S.CONFIRMED


def test_confirming_twice_says_why_it_cannot(client_a, order_a):
    client_a.post(f"/orders/{order_a.number}/confirm/", {"consent_code": order_a.consent_code})

    response = client_a.post(f"/orders/{order_a.number}/confirm/", {"consent_code": order_a.consent_code}, follow=True)

    assert response.status_code == 409  # the order page, saying the order moved on
    assert any("cannot" in str(m) or "不能" in str(m) for m in response.context["messages"])


def test_the_partner_cancels_and_the_stock_is_released(client_a, order_a, fertilizer_stock):
    response = client_a.post(f"/orders/{order_a.number}/cancel/", {"cancel-reason": "买错了"})

    assert response.status_code == 302
    order_a.refresh_from_db()
    assert order_a.status == S.CANCELLED
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 0
    assert order_a.events.last().note == "买错了"


def at_station(order: Order) -> Order:
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=None)
    services.transition(order, to=S.BATCHED)
    depart(order=order)
    return arrive(order=order)


def test_a_wrong_pickup_code_changes_nothing(client_a, order_a):
    at_station(order_a)
    wrong = "000000" if order_a.pickup_code != "000000" else "111111"

    response = client_a.post(f"/orders/{order_a.number}/hand-over/", {"pickup_code": wrong})

    assert response.status_code == 409
    order_a.refresh_from_db()
    assert order_a.status == S.AT_STATION


def test_a_malformed_pickup_code_is_a_form_error(client_a, order_a):
    at_station(order_a)

    response = client_a.post(f"/orders/{order_a.number}/hand-over/", {"pickup_code": "12ab"})

    assert response.status_code == 400
    assert response.context["hand_over_form"].errors


def test_the_goods_are_handed_over_and_can_be_returned(client_a, order_a, fertilizer_stock):
    at_station(order_a)

    client_a.post(f"/orders/{order_a.number}/hand-over/", {"pickup_code": order_a.pickup_code})
    order_a.refresh_from_db()
    assert order_a.status == S.COLLECTED

    line = order_a.lines.get()
    response = client_a.post(
        f"/orders/{order_a.number}/return/",
        {
            f"return-qty_{line.pk}": "1",
            f"return-reason_{line.pk}": "damaged",
            "return-note": "包装破损",
            "step": "confirm",
            "refund": str(line.line_total),
            "commission": str(line.commission_amount),
        },
    )

    assert response.status_code == 302
    order_a.refresh_from_db()
    assert order_a.status == S.RETURNED
    stock = Stock.objects.get(pk=fertilizer_stock.pk)
    assert (stock.on_hand, stock.reserved) == (19, 0)  # on hand again once the warehouse receives them
    assert order_a.goods_returns.get().status == "waiting"


def test_a_return_of_nothing_is_a_form_error(client_a, order_a):
    at_station(order_a)
    services.hand_over(order=order_a, actor=None, pickup_code=order_a.pickup_code)
    line = order_a.lines.get()

    response = client_a.post(
        f"/orders/{order_a.number}/return/", {f"return-qty_{line.pk}": "0", f"return-reason_{line.pk}": "damaged"}
    )

    assert response.status_code == 400
    assert response.context["return_form"].non_field_errors()
    order_a.refresh_from_db()
    assert order_a.status == S.COLLECTED


def test_the_order_page_costs_a_fixed_number_of_queries(client_a, order_a):
    # session, user, station, order + villager + station + warehouse, lines, events, session save
    with CaptureQueriesContext(connection) as queries:
        assert client_a.get(f"/orders/{order_a.number}/").status_code == 200

    assert len(queries) <= 9


def test_the_villager_page_lists_their_orders_through_the_order_list(client_a, order_a, villager_a):
    page = client_a.get(f"/villagers/{villager_a.pk}/").content.decode()
    rows = client_a.get("/orders/", {"villager": villager_a.pk}, HTTP_HX_REQUEST="true").content.decode()

    assert f"/orders/?villager={villager_a.pk}" in page
    assert f"/orders/new/?villager={villager_a.pk}" in page
    assert order_a.number in rows
    assert "<html" not in rows
