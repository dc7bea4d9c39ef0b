"""The station API the offline counter needs (issue 18): placement's extras (the total shown, when the order was
taken), the copies of the catalog and the villagers (ETag and 304), and the counter's steps on an order."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token

from catalog.models import Stock, StockMovement
from notifications.models import Notification
from orders import services
from orders.models import GoodsReturn, Order, Refund
from partners.models import StationStaff
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    PromotionFactory,
    StationStaffFactory,
    StockFactory,
    UserFactory,
    VillagerFactory,
)

URL = "/api/v1/orders/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def order_body(villager, lines=(("FERT-50", 2),), **fields) -> dict:
    return {
        "villager": villager.pk,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        **fields,
    }


def place(client, body, *, key="offline-1"):
    return client.post(URL, json.dumps(body), content_type="application/json", headers={"Idempotency-Key": key})


def step(client, order, action: str, body=None, **headers):
    raw = body if isinstance(body, str | bytes) else json.dumps(body if body is not None else {})
    return client.post(f"{URL}{order.number}/{action}/", raw, content_type="application/json", headers=headers)


def reserved(stock) -> int:
    return Stock.objects.get(pk=stock.pk).reserved


@pytest.fixture
def assistant_a(station_a):
    return StationStaffFactory(
        user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user


@pytest.fixture
def token_client():
    """A client with ``user``'s DRF token: no session, no CSRF (the offline counter's way in)."""
    return lambda user: Client(headers={"Authorization": f"Token {Token.objects.create(user=user).key}"})


@pytest.fixture
def promotion(fertilizer):
    """Fertilizer at 150.00 instead of 168.00, from an hour ago to an hour from now."""
    now = timezone.now()
    return PromotionFactory(
        product=fertilizer,
        price=Decimal("150.00"),
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )


# --- placement: the total the partner showed ------------------------------------------------------


def test_an_order_that_costs_other_than_expected_is_refused_and_nothing_is_placed(
    client_a, villager_a, fertilizer_stock, promotion
):
    # given the offline copy said 168.00 a bag, and a promotion started since (150.00)

    # when the queued order comes in with the total shown to the villager
    response = place(client_a, order_body(villager_a, expected_total="336.00"))

    # then it is refused with today's prices, and nothing is written or reserved
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "price_changed"
    assert body["detail"]
    assert (body["expected_total"], body["total"]) == ("336.00", "300.00")
    assert body["lines"] == [{"sku": "FERT-50", "quantity": 2, "unit_price": "150.00", "line_total": "300.00"}]
    assert not Order.objects.exists()
    assert reserved(fertilizer_stock) == 0
    assert not StockMovement.objects.exists()
    assert not Notification.objects.exists()  # no consent SMS for an order that was not placed


def test_the_same_key_with_the_new_total_places_the_order(client_a, villager_a, fertilizer_stock, promotion):
    refused = place(client_a, order_body(villager_a, expected_total="336.00"), key="k")

    # the villager agrees to the new total: the counter sends the order again, same key, the new total
    placed = place(client_a, order_body(villager_a, expected_total=refused.json()["total"]), key="k")

    assert placed.status_code == 201
    assert placed.json()["total"] == "300.00"
    assert Order.objects.get().total == Decimal("300.00")
    assert reserved(fertilizer_stock) == 2


def test_a_price_that_went_up_is_refused_too(client_a, villager_a, fertilizer_stock):
    response = place(client_a, order_body(villager_a, expected_total="300.00"))

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["total"]) == ("price_changed", "336.00")


def test_the_expected_total_is_compared_to_the_fen(client_a, villager_a, fertilizer_stock):
    assert place(client_a, order_body(villager_a, expected_total="336")).status_code == 201
    assert place(client_a, order_body(villager_a, expected_total=336.0), key="k2").status_code == 201


def test_without_an_expected_total_the_order_is_placed_at_todays_prices(
    client_a, villager_a, fertilizer_stock, promotion
):
    response = place(client_a, order_body(villager_a, expected_total=None))

    assert response.status_code == 201
    assert response.json()["total"] == "300.00"


def test_a_key_that_placed_an_order_returns_it_whatever_the_expected_total_says(
    client_a, villager_a, fertilizer, fertilizer_stock
):
    # given the order was placed (the answer was lost on the way back to the counter)
    first = place(client_a, order_body(villager_a, expected_total="336.00"), key="k")
    assert first.status_code == 201
    # and a promotion started since
    now = timezone.now()
    PromotionFactory(product=fertilizer, price=Decimal("150.00"), starts_at=now, ends_at=now + timedelta(hours=1))

    # when the counter sends it again, with the total it showed, or another one
    again = place(client_a, order_body(villager_a, expected_total="336.00"), key="k")
    other = place(client_a, order_body(villager_a, expected_total="300.00"), key="k")

    # then it gets the first order, at the price it was placed at
    assert (again.status_code, other.status_code) == (200, 200)
    assert again.json()["number"] == other.json()["number"] == first.json()["number"]
    assert again.json()["total"] == "336.00"
    assert Order.objects.count() == 1
    assert reserved(fertilizer_stock) == 2


def test_the_service_refuses_a_changed_price_with_the_lines(station_a, villager_a, staff_a, fertilizer_stock):
    with pytest.raises(services.PriceChanged) as refused:
        services.place_order(
            station=station_a,
            villager=villager_a,
            placed_by=staff_a,
            lines=[services.LineRequest("FERT-50", 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key="svc",
            expected_total=Decimal("160"),
        )

    assert (refused.value.expected_total, refused.value.total) == (Decimal("160.00"), Decimal("168.00"))
    assert refused.value.lines == [services.PricedLine("FERT-50", 1, Decimal("168.00"), Decimal("168.00"))]
    assert not Order.objects.exists()


def test_short_stock_keeps_its_answer_with_a_code(client_a, villager_a, fertilizer_stock):
    response = place(client_a, order_body(villager_a, lines=[("FERT-50", 21)], expected_total="3528.00"))

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert response.json()["short_lines"] == [
        {"sku": "FERT-50", "name": "复合肥 50kg", "requested": 21, "available": 20}
    ]
    assert not Order.objects.exists()


# --- placement: when the order was taken, by the device's clock ---------------------------------------


def test_taken_at_is_recorded_as_reported_even_from_a_clock_three_hours_wrong(client_a, villager_a, fertilizer_stock):
    # given the server's clock says 12:00, and the tablet's clock is 3 hours slow
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        # when the order it took "at 09:00" (by its clock, a minute ago) is sent
        response = place(client_a, order_body(villager_a, taken_at="2026-05-01T09:00:00+08:00"))
        detail = client_a.get(f"{URL}{response.json()['number']}/").json()

    # then the reported time is kept as it came, and the server's time of placing is created_at
    assert response.status_code == 201
    order = Order.objects.get()
    assert order.taken_offline_at == datetime(2026, 5, 1, 1, 0, tzinfo=UTC)
    assert order.created_at == datetime(2026, 5, 1, 4, 0, tzinfo=UTC)
    assert response.json()["taken_offline_at"] == "2026-05-01T09:00:00+08:00"
    assert response.json()["created_at"] == "2026-05-01T12:00:00+08:00"
    assert detail["taken_offline_at"] == "2026-05-01T09:00:00+08:00"


def test_taken_at_from_a_clock_hours_ahead_is_recorded_too(client_a, villager_a, fertilizer_stock):
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        response = place(client_a, order_body(villager_a, taken_at="2026-05-02T11:00:00+08:00"))  # 23 hours ahead

    assert response.status_code == 201
    assert Order.objects.get().taken_offline_at == datetime(2026, 5, 2, 3, 0, tzinfo=UTC)


def test_taken_at_in_utc_or_another_offset_is_the_same_instant(client_a, villager_a, fertilizer_stock):
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        assert place(client_a, order_body(villager_a, taken_at="2026-05-01T01:30:00Z"), key="a").status_code == 201
        assert place(client_a, order_body(villager_a, taken_at="2026-04-30T20:30:00-05:00"), key="b").status_code == 201

    assert set(Order.objects.values_list("taken_offline_at", flat=True)) == {datetime(2026, 5, 1, 1, 30, tzinfo=UTC)}


@pytest.mark.parametrize(
    "taken_at",
    [
        "2026-05-02T12:01:00+08:00",  # a day and a minute ahead of the server
        "2027-05-01T09:00:00+08:00",
        "9999-12-31T23:59:59+00:00",
        "2026-05-01T09:00:00",  # no offset: could be any of 24 instants
        "2026-05-01",
        "yesterday",
        "2026-02-30T09:00:00+08:00",
        "2026-05-01T09:00:00+25:00",
        "0001-01-01T00:00:00+08:00",  # before the first instant there is
        "",
        "x" * 10_000,
        "2026-05-01T09:00:00\x00+08:00",
        1714525200,
        True,
        ["2026-05-01T09:00:00+08:00"],
        {"at": "2026-05-01T09:00:00+08:00"},
    ],
)
def test_a_taken_at_far_ahead_or_unreadable_is_refused(client_a, villager_a, fertilizer_stock, taken_at):
    with time_machine.travel(datetime(2026, 5, 1, 12, 0, tzinfo=SHANGHAI), tick=False):
        response = place(client_a, order_body(villager_a, taken_at=taken_at))

    assert response.status_code == 400
    assert list(response.json()) == ["taken_at"]
    assert not Order.objects.exists()
    assert reserved(fertilizer_stock) == 0


def test_the_service_refuses_a_taken_at_far_ahead(station_a, villager_a, staff_a, fertilizer_stock):
    with pytest.raises(services.OrderError):
        services.place_order(
            station=station_a,
            villager=villager_a,
            placed_by=staff_a,
            lines=[services.LineRequest("FERT-50", 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key="svc",
            taken_at=timezone.now() + timedelta(days=2),
        )

    assert not Order.objects.exists()


def test_a_resend_with_another_taken_at_returns_the_first_order_as_it_was_taken(client_a, villager_a, fertilizer_stock):
    first = place(client_a, order_body(villager_a, taken_at="2026-05-01T09:00:00+08:00"), key="k")
    again = place(client_a, order_body(villager_a, taken_at="2026-05-01T10:00:00+08:00"), key="k")

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["taken_offline_at"] == "2026-05-01T09:00:00+08:00"
    assert Order.objects.count() == 1


@pytest.mark.parametrize("expected_total", ["abc", "-1.00", "1.234", "1e309", "NaN", "9" * 20, [], {}, True])
def test_an_unreadable_expected_total_is_refused(client_a, villager_a, fertilizer_stock, expected_total):
    response = place(client_a, order_body(villager_a, expected_total=expected_total))

    assert response.status_code == 400
    assert list(response.json()) == ["expected_total"]
    assert not Order.objects.exists()


# --- the catalog copy -------------------------------------------------------------------------------


@pytest.fixture
def shelf(warehouse_a, warehouse_b, fertilizer_stock):
    """Fertilizer (20 at A, 4 reserved), a pump needing installation (3 at A), seeds stocked nowhere, a product
    off sale; and 50 of fertilizer at B's warehouse."""
    Stock.objects.filter(pk=fertilizer_stock.pk).update(reserved=4)
    pumps = CategoryFactory(slug="pumps", name="水泵", position=1)
    pump = ProductFactory(sku="PUMP-1", name="水泵 1 匹", category=pumps, unit="台", needs_installation=True)
    StockFactory(product=pump, warehouse=warehouse_a, on_hand=3)
    ProductFactory(sku="SEED-RICE", name="杂交水稻种子 1kg", category=pumps, price=Decimal("45.50"))
    ProductFactory(sku="OLD-1", name="旧货", is_active=False)
    StockFactory(product=fertilizer_stock.product, warehouse=warehouse_b, on_hand=50)


def test_the_catalog_lists_every_product_on_sale_at_todays_price_with_what_is_free(
    client_a, shelf, fertilizer, promotion
):
    response = client_a.get("/api/v1/catalog/")

    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["as_of"]) <= timezone.now()
    by_sku = {product["sku"]: product for product in body["products"]}
    assert set(by_sku) == {"FERT-50", "PUMP-1", "SEED-RICE"}  # not the product off sale
    assert "fuhefei" in by_sku["FERT-50"].pop("search")  # the offline search finds 复合肥 by its pinyin too
    by_sku["PUMP-1"].pop("search")
    assert by_sku["FERT-50"] == {
        "sku": "FERT-50",
        "name": "复合肥 50kg",
        "category": fertilizer.category.name,
        "unit": "袋",
        "price": "150.00",  # the promotion running now
        "needs_installation": False,
        "available": 16,  # 20 on hand, 4 reserved
    }
    assert by_sku["PUMP-1"] == {
        "sku": "PUMP-1",
        "name": "水泵 1 匹",
        "category": "水泵",
        "unit": "台",
        "price": "100.00",
        "needs_installation": True,
        "available": 3,
    }
    assert by_sku["SEED-RICE"]["available"] == 0  # never stocked at this county's warehouse


def test_the_catalog_says_what_the_stations_own_county_warehouse_has(client, shelf, staff_b):
    client.force_login(staff_b)

    products = {p["sku"]: p for p in client.get("/api/v1/catalog/").json()["products"]}

    assert (products["FERT-50"]["available"], products["PUMP-1"]["available"]) == (50, 0)


def test_the_catalog_answers_304_to_the_copy_held_and_200_once_it_changed(
    client_a, shelf, fertilizer_stock, villager_a
):
    first = client_a.get("/api/v1/catalog/")
    etag = first.headers["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert first.headers["Cache-Control"] == "private, no-cache"

    # the same copy: 304, no body (whatever as_of the server's clock gives it now)
    held = client_a.get("/api/v1/catalog/", headers={"If-None-Match": etag})
    assert held.status_code == 304
    assert held.content == b""
    assert held.headers["ETag"] == etag
    assert client_a.get("/api/v1/catalog/", headers={"If-None-Match": f'"old", W/{etag}'}).status_code == 304
    assert client_a.get("/api/v1/catalog/", headers={"If-None-Match": "*"}).status_code == 304
    assert client_a.get("/api/v1/catalog/", headers={"If-None-Match": '"old"'}).status_code == 200

    # an order takes 2 bags: the copy changed
    assert place(client_a, order_body(villager_a)).status_code == 201
    changed = client_a.get("/api/v1/catalog/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert {p["sku"]: p["available"] for p in changed.json()["products"]}["FERT-50"] == 14


def test_a_promotion_that_starts_changes_the_catalogs_etag(client_a, shelf, fertilizer):
    etag = client_a.get("/api/v1/catalog/").headers["ETag"]
    now = timezone.now()
    PromotionFactory(
        product=fertilizer, price=Decimal("99.00"), starts_at=now + timedelta(hours=1), ends_at=now + timedelta(hours=2)
    )

    assert client_a.get("/api/v1/catalog/", headers={"If-None-Match": etag}).status_code == 304  # not running yet
    with time_machine.travel(now + timedelta(hours=1, minutes=1)):
        assert client_a.get("/api/v1/catalog/", headers={"If-None-Match": etag}).status_code == 200


# By token: 1 the token with its user and station, 2 the products on sale with their categories, 3 their stock at
# the station's warehouse, 4 the promotions running.
CATALOG_QUERIES = 4


def test_the_catalog_costs_the_same_queries_for_3_products_or_30(token_client, staff_a, warehouse_a):
    client = token_client(staff_a)
    for _ in range(3):
        StockFactory(product=ProductFactory(), warehouse=warehouse_a)

    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/catalog/").json()["products"]) == 3
    for _ in range(27):
        StockFactory(product=ProductFactory(), warehouse=warehouse_a)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/catalog/").json()["products"]) == 30
    with CaptureQueriesContext(connection) as held:
        etag = client.get("/api/v1/catalog/").headers["ETag"]
        assert client.get("/api/v1/catalog/", headers={"If-None-Match": etag}).status_code == 304

    assert len(few) == len(many) == CATALOG_QUERIES
    assert len(held) == 2 * CATALOG_QUERIES


# --- the villagers copy -----------------------------------------------------------------------------


def test_the_villagers_copy_lists_the_stations_villagers_masked(client_a, station_a, villager_a, villager_b):
    granny = VillagerFactory(service_center=station_a, name="张奶奶", phone="", sms_consent=False, address="三组 12 号")
    VillagerFactory(service_center=station_a, name="李四", address="   ")

    response = client_a.get("/api/v1/villagers/")

    assert response.status_code == 200
    body = response.json()
    assert datetime.fromisoformat(body["as_of"]) <= timezone.now()
    by_name = {villager["name"]: villager for villager in body["villagers"]}
    assert set(by_name) == {"王建国", "张奶奶", "李四"}  # not B's 李秀英
    assert by_name["王建国"] == {
        "id": villager_a.pk,
        "name": "王建国",
        "phone": "138****5678",
        "has_address": False,
        "gets_sms": True,
    }
    assert by_name["张奶奶"] == {"id": granny.pk, "name": "张奶奶", "phone": "", "has_address": True, "gets_sms": False}
    assert by_name["李四"]["has_address"] is False  # spaces are no address
    assert "13812345678" not in response.content.decode()
    assert "李秀英" not in response.content.decode()


def test_the_villagers_copy_answers_304_until_a_villager_is_added(client_a, station_a, villager_a):
    etag = client_a.get("/api/v1/villagers/").headers["ETag"]

    assert client_a.get("/api/v1/villagers/", headers={"If-None-Match": etag}).status_code == 304
    VillagerFactory(service_center=station_a, name="新人")
    changed = client_a.get("/api/v1/villagers/", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert "新人" in {v["name"] for v in changed.json()["villagers"]}


def test_another_stations_villagers_copy_has_another_etag(client, villager_a, villager_b, staff_a, staff_b):
    client.force_login(staff_a)
    etag_a = client.get("/api/v1/villagers/").headers["ETag"]
    client.force_login(staff_b)

    answer = client.get("/api/v1/villagers/", headers={"If-None-Match": etag_a})

    assert answer.status_code == 200
    assert [v["name"] for v in answer.json()["villagers"]] == ["李秀英"]


# By token: 1 the token with its user and station, 2 the villagers.
VILLAGERS_QUERIES = 2


def test_the_villagers_copy_costs_the_same_queries_for_3_villagers_or_30(token_client, staff_a, station_a):
    client = token_client(staff_a)
    VillagerFactory.create_batch(3, service_center=station_a)

    with CaptureQueriesContext(connection) as few:
        assert len(client.get("/api/v1/villagers/").json()["villagers"]) == 3
    VillagerFactory.create_batch(27, service_center=station_a)
    with CaptureQueriesContext(connection) as many:
        assert len(client.get("/api/v1/villagers/").json()["villagers"]) == 30

    assert len(few) == len(many) == VILLAGERS_QUERIES


@pytest.mark.parametrize("path", ["/api/v1/catalog/", "/api/v1/villagers/"])
def test_the_copies_are_for_station_staff_only(client, county_manager, db, path):
    assert client.get(path).status_code == 401
    client.force_login(county_manager)
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("page", ["/orders/offline/", "/orders/new/"])
def test_the_counter_pages_give_the_script_the_copies_addresses_from_the_url_names(client_a, page):
    html = client_a.get(page).content.decode()
    assert f'data-catalog="{reverse("api-catalog")}"' in html
    assert f'data-villagers="{reverse("api-villagers")}"' in html
    assert f'data-orders="{reverse("api-orders")}"' in html


# --- confirm ----------------------------------------------------------------------------------------


def test_confirm_takes_the_villagers_code_and_the_cash(client_a, order_placed):
    response = step(
        client_a,
        order_placed,
        "confirm",
        {"consent_code": order_placed.consent_code, "tender": {"method": "cash", "received": "400"}},
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["number"], body["status"], body["change_given"]) == (order_placed.number, "confirmed", "64.00")
    assert body["consent_given_at"]
    assert body["commission_total"] == "10.08"  # the partner's answer
    order_placed.refresh_from_db()
    assert order_placed.status == Order.Status.CONFIRMED and order_placed.paid_at is not None


def test_confirm_without_a_tender_is_cash_exactly(client_a, order_placed):
    response = step(client_a, order_placed, "confirm", {"consent_code": order_placed.consent_code})

    assert (response.status_code, response.json()["change_given"]) == (200, "0.00")


def test_confirm_takes_a_mobile_payment_with_its_number(client_a, order_placed):
    tender = {"method": "mobile", "reference": "4200001234"}

    response = step(client_a, order_placed, "confirm", {"consent_code": order_placed.consent_code, "tender": tender})

    assert (response.status_code, response.json()["status"]) == (200, "confirmed")


def test_an_assistant_confirms_too_and_sees_no_commission(token_client, assistant_a, order_placed):
    response = step(token_client(assistant_a), order_placed, "confirm", {"consent_code": order_placed.consent_code})

    assert response.status_code == 200
    assert not [key for key in response.json() if "commission" in key]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"consent_code": "0000x"}, "wrong_consent_code"),
        ({}, "consent_required"),
        ({"consent_code": "CODE", "tender": {"method": "cash", "received": "100.00"}}, "partial_payment"),
        ({"consent_code": "CODE", "tender": {"method": "mobile"}}, "refused"),  # no transaction number
    ],
)
def test_confirm_refusals_are_409_and_change_nothing(client_a, order_placed, body, code):
    if body.get("consent_code") == "CODE":
        body["consent_code"] = order_placed.consent_code

    response = step(client_a, order_placed, "confirm", body)

    assert response.status_code == 409
    assert (response.json()["code"], bool(response.json()["detail"])) == (code, True)
    order_placed.refresh_from_db()
    assert (order_placed.status, order_placed.consent_given_at) == (Order.Status.PLACED, None)


def test_confirming_twice_says_the_order_is_confirmed_already(client_a, order_placed):
    assert step(client_a, order_placed, "confirm", {"consent_code": order_placed.consent_code}).status_code == 200

    again = step(client_a, order_placed, "confirm", {"consent_code": order_placed.consent_code})

    assert again.status_code == 409
    assert (again.json()["code"], again.json()["status"]) == ("invalid_transition", "confirmed")


def test_pay_on_pickup_past_the_stations_limit_is_refused(client_a, place_at_a, fertilizer_stock, station_a):
    station_a.pay_on_pickup_limit = Decimal("100.00")
    station_a.save()
    order = place_at_a((fertilizer_stock.product, 1), payment_method="pay_on_pickup").order

    response = step(client_a, order, "confirm", {"consent_code": order.consent_code})

    assert (response.status_code, response.json()["code"]) == (409, "credit_limit_reached")


@pytest.mark.parametrize(
    "body",
    [
        {"consent_code": ["1234"]},
        {"consent_code": 1234},
        {"consent_code": "1" * 13},
        {"consent_code": "12\x0034"},
        {"consent_code": "1234", "tender": "cash"},
        {"consent_code": "1234", "tender": {"method": "bitcoin"}},
        {"consent_code": "1234", "tender": {"received": "-1"}},
        {"consent_code": "1234", "tender": {"received": "1e309"}},
        {"consent_code": "1234", "tender": {"reference": "x" * 65}},
        [],
        "not-json",
    ],
)
def test_confirm_answers_400_to_malformed_input(client_a, order_placed, body):
    response = step(client_a, order_placed, "confirm", body if body != "not-json" else '{"consent_code": ')

    assert response.status_code == 400
    order_placed.refresh_from_db()
    assert order_placed.status == Order.Status.PLACED


def test_another_stations_order_does_not_exist_here(client_a, order_b):
    for action, body in [
        ("confirm", {"consent_code": order_b.consent_code}),
        ("hand-over", {"pickup_code": order_b.pickup_code}),
        ("cancel", {}),
        ("return", {"lines": [{"sku": "FERT-50", "quantity": 1}]}),
    ]:
        assert step(client_a, order_b, action, body).status_code == 404, action
    order_b.refresh_from_db()
    assert order_b.status == Order.Status.PLACED


@pytest.mark.parametrize("number", ["NO-SUCH", "%00", "a%00b", "X" * 5000, "%FF%FE", "260501-AAAAA-AAAAA"])
def test_an_order_number_that_is_none_of_ours_is_a_404(client_a, db, number):
    for action in ("confirm", "hand-over", "cancel", "return"):
        response = client_a.post(f"{URL}{number}/{action}/", "{}", content_type="application/json")
        assert response.status_code == 404, (action, response.content[:200])


def test_the_steps_check_csrf_for_a_session(staff_a, order_placed):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_a)

    response = step(browser, order_placed, "confirm", {"consent_code": order_placed.consent_code})

    assert response.status_code == 403
    order_placed.refresh_from_db()
    assert order_placed.status == Order.Status.PLACED


def test_the_steps_take_a_token_without_csrf(token_client, staff_a, order_placed):
    response = step(token_client(staff_a), order_placed, "confirm", {"consent_code": order_placed.consent_code})

    assert response.status_code == 200


# --- hand over ----------------------------------------------------------------------------------------


@pytest.fixture
def at_station(order_placed, deliver, staff_a) -> Order:
    return deliver(order_placed, actor=staff_a)


def test_hand_over_against_the_pickup_code(client_a, at_station):
    response = step(client_a, at_station, "hand-over", {"pickup_code": f" {at_station.pickup_code} "})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["change_given"]) == ("collected", "0.00")
    assert "pickup_code" not in response.json()
    at_station.refresh_from_db()
    assert at_station.status == Order.Status.COLLECTED


def test_an_assistant_hands_over_too(token_client, assistant_a, at_station):
    response = step(token_client(assistant_a), at_station, "hand-over", {"pickup_code": at_station.pickup_code})

    assert response.status_code == 200
    assert not [key for key in response.json() if "commission" in key]


def test_a_wrong_pickup_code_is_409(client_a, at_station):
    response = step(
        client_a, at_station, "hand-over", {"pickup_code": "000000" if at_station.pickup_code != "000000" else "111111"}
    )

    assert response.status_code == 409
    assert (response.json()["code"], bool(response.json()["detail"])) == ("wrong_pickup_code", True)
    at_station.refresh_from_db()
    assert at_station.status == Order.Status.AT_STATION


def test_an_order_not_at_the_station_is_not_handed_over(client_a, order_placed):
    response = step(client_a, order_placed, "hand-over", {"pickup_code": order_placed.pickup_code})

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_transition", "placed")


def test_pay_on_pickup_is_handed_over_with_its_payment(client_a, place_at_a, fertilizer_stock, deliver, staff_a):
    order = place_at_a((fertilizer_stock.product, 1), payment_method="pay_on_pickup").order
    deliver(order, actor=staff_a)

    unpaid = step(client_a, order, "hand-over", {"pickup_code": order.pickup_code})
    paid = step(
        client_a,
        order,
        "hand-over",
        {"pickup_code": order.pickup_code, "tender": {"method": "cash", "received": "200.00"}},
    )

    assert (unpaid.status_code, unpaid.json()["code"]) == (409, "payment_required")
    assert (paid.status_code, paid.json()["status"], paid.json()["change_given"]) == (200, "collected", "32.00")
    order.refresh_from_db()
    assert order.paid_at is not None


def test_payment_taken_says_the_amount_due_was_taken_in_cash(client_a, place_at_a, fertilizer_stock, deliver, staff_a):
    order = place_at_a((fertilizer_stock.product, 1), payment_method="pay_on_pickup").order
    deliver(order, actor=staff_a)

    response = step(client_a, order, "hand-over", {"pickup_code": order.pickup_code, "payment_taken": True})

    assert (response.status_code, response.json()["status"]) == (200, "collected")


def test_an_installation_order_is_not_handed_over_at_the_counter(client_a, station_a, staff_a, warehouse_a, deliver):
    pump = ProductFactory(sku="PUMP-1", name="水泵", needs_installation=True)
    StockFactory(product=pump, warehouse=warehouse_a, on_hand=3)
    order = services.place_order(
        station=station_a,
        villager=VillagerFactory(service_center=station_a, address="三组 1 号"),
        placed_by=staff_a,
        lines=[services.LineRequest("PUMP-1", 1)],
        delivery_method="home_installation",
        payment_method="cash_at_station",
        idempotency_key="pump",
        notify=False,
    ).order
    deliver(order, actor=staff_a)

    response = step(client_a, order, "hand-over", {"pickup_code": order.pickup_code})

    assert (response.status_code, response.json()["code"]) == (409, "refused")
    assert response.json()["detail"]
    order.refresh_from_db()
    assert order.status == Order.Status.AT_STATION


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"pickup_code": ""},
        {"pickup_code": 123456},
        {"pickup_code": "1" * 13},
        {"pickup_code": "12\x003456"},
        {"pickup_code": "123456", "payment_taken": "yes"},
        {"pickup_code": "123456", "payment_taken": 1},
        {"pickup_code": "123456", "tender": {"method": "gold"}},
    ],
)
def test_hand_over_answers_400_to_malformed_input(client_a, at_station, body):
    assert step(client_a, at_station, "hand-over", body).status_code == 400
    at_station.refresh_from_db()
    assert at_station.status == Order.Status.AT_STATION


# --- cancel -------------------------------------------------------------------------------------------------


def test_cancel_releases_the_stock(client_a, order_placed, fertilizer_stock):
    assert reserved(fertilizer_stock) == 2

    response = step(client_a, order_placed, "cancel", {"reason": "价格变了"})

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert reserved(fertilizer_stock) == 0
    assert order_placed.events.order_by("-pk").first().note == "价格变了"


def test_cancel_without_a_reason(token_client, assistant_a, order_placed):
    response = step(token_client(assistant_a), order_placed, "cancel")

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")


def test_a_paid_order_cancelled_owes_a_refund(client_a, order_placed, staff_a):
    services.confirm_payment(order=order_placed, actor=staff_a, consent_code=order_placed.consent_code)

    response = step(client_a, order_placed, "cancel", {"reason": "缺货"})

    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    assert Refund.objects.get(order=order_placed).amount == Decimal("336.00")


def test_an_order_at_the_station_cannot_be_cancelled(client_a, at_station):
    response = step(client_a, at_station, "cancel", {"reason": "不要了"})

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_transition", "at_station")


@pytest.mark.parametrize("body", [{"reason": "很" * 501}, {"reason": None}, {"reason": ["x"]}, {"reason": "a\x00b"}])
def test_cancel_answers_400_to_malformed_input(client_a, order_placed, body):
    assert step(client_a, order_placed, "cancel", body).status_code == 400
    order_placed.refresh_from_db()
    assert order_placed.status == Order.Status.PLACED


# --- return ---------------------------------------------------------------------------------------------


@pytest.fixture
def collected(at_station, staff_a) -> Order:
    return services.hand_over(order=at_station, actor=staff_a, pickup_code=at_station.pickup_code)


def test_the_partner_takes_units_back(client_a, collected):
    response = step(client_a, collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 1, "reason": "damaged"}]})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "collected"  # one of two bags back
    assert body["lines"][0]["returned_quantity"] == 1
    goods = GoodsReturn.objects.get(order=collected)
    assert body["goods_return"] == {
        "id": goods.pk,
        "refund": "168.00",
        "lines": [
            {
                "sku": "FERT-50",
                "name": "复合肥 50kg",
                "quantity": 1,
                "reason": "damaged",
                "refund_back": "168.00",
                "commission_back": "5.04",
            }
        ],
    }
    assert Refund.objects.get(goods_return=goods).amount == Decimal("168.00")


def test_every_unit_back_makes_the_order_returned(client_a, collected):
    response = step(client_a, collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 2}], "note": "不要了"})

    assert response.status_code == 200
    assert response.json()["status"] == "returned"
    assert response.json()["goods_return"]["lines"][0]["reason"] == "not_wanted"  # the default


def test_an_assistant_may_not_take_goods_back(token_client, assistant_a, collected):
    response = step(token_client(assistant_a), collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 1}]})

    assert response.status_code == 403
    assert not GoodsReturn.objects.exists()


def test_more_than_is_left_is_409(client_a, collected):
    assert step(client_a, collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 1}]}).status_code == 200

    response = step(client_a, collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 2}]})

    assert (response.status_code, response.json()["code"]) == (409, "refused")
    assert GoodsReturn.objects.count() == 1


def test_an_order_not_collected_is_not_returned(client_a, order_placed):
    response = step(client_a, order_placed, "return", {"lines": [{"sku": "FERT-50", "quantity": 1}]})

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["status"]) == ("invalid_transition", "placed")


def test_a_return_after_the_window_is_409(token_client, staff_a, collected, settings):
    client = token_client(staff_a)  # a token does not expire with the session's idle time

    with time_machine.travel(timezone.now() + timedelta(days=settings.ORDER_RETURN_WINDOW_DAYS + 1)):
        response = step(client, collected, "return", {"lines": [{"sku": "FERT-50", "quantity": 1}]})

    assert (response.status_code, response.json()["code"]) == (409, "refused")
    assert not GoodsReturn.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"lines": []},
        {"lines": [{"sku": "NO-SUCH", "quantity": 1}]},  # not a line of the order
        {"lines": [{"sku": "FERT-50", "quantity": 1}, {"sku": "FERT-50", "quantity": 1}]},
        {"lines": [{"sku": "FERT-50", "quantity": 0}]},
        {"lines": [{"sku": "FERT-50", "quantity": "1"}]},
        {"lines": [{"sku": "FERT-50", "quantity": 1, "reason": "bored"}]},
        {"lines": [{"sku": "FERT-50\x00", "quantity": 1}]},
        {"lines": "FERT-50"},
        {"lines": [{"sku": "FERT-50", "quantity": 1}], "note": "x" * 501},
    ],
)
def test_return_answers_400_to_malformed_input(client_a, collected, body):
    response = step(client_a, collected, "return", body)

    assert response.status_code == 400
    assert not GoodsReturn.objects.exists()


# --- no input makes a 500 ---------------------------------------------------------------------------------

JSON_JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "x" * 10_000, "１２３４５６", "²", "NaN", "1e309", "-1", "2026-02-30T00:00:00+08:00"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _field(valid):
    """A field of a body: missing (None from the strategy drops it), a valid value, or junk."""
    return st.one_of(st.just(None), st.just(valid), JSON_JUNK.map(lambda junk: {"junk": junk}))


def _body(fields: dict):
    def build(drawn: dict):
        return {
            name: value["junk"] if isinstance(value, dict) and set(value) == {"junk"} else value
            for name, value in drawn.items()
            if value is not None
        }

    return st.one_of(
        st.fixed_dictionaries({name: _field(valid) for name, valid in fields.items()}).map(build), JSON_JUNK
    )


@pytest.fixture
def counter(client_a, order_placed, at_station, place_at_a, fertilizer_stock, deliver, staff_a):
    """An order placed, one at the station and one collected."""
    placed = place_at_a((fertilizer_stock.product, 1), key="junk-placed").order
    done = deliver(place_at_a((fertilizer_stock.product, 1), key="junk-collected").order, actor=staff_a)
    done = services.hand_over(order=done, actor=staff_a, pickup_code=done.pickup_code)
    return {"placed": placed, "at_station": at_station, "collected": done}


ENDPOINTS = {
    "confirm": (
        "placed",
        lambda o: {
            "consent_code": o.consent_code,
            "tender": {"method": "cash", "received": "400.00", "reference": ""},
        },
    ),
    "hand-over": ("at_station", lambda o: {"pickup_code": o.pickup_code, "payment_taken": True}),
    "cancel": ("placed", lambda o: {"reason": "价格变了"}),
    "return": ("collected", lambda o: {"lines": [{"sku": "FERT-50", "quantity": 1, "reason": "damaged"}], "note": ""}),
}


@pytest.mark.parametrize("action", list(ENDPOINTS))
def test_no_junk_makes_a_500(client_a, counter, action):
    kind, valid = ENDPOINTS[action]
    order = counter[kind]

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(body=_body(valid(order)))
    def holds(body):
        with transaction.atomic():
            response = step(client_a, order, action, body)
            assert response.status_code in (200, 400, 409), (response.status_code, body)
            transaction.set_rollback(True)

    holds()


def test_no_junk_in_placements_extras_makes_a_500(client_a, villager_a, fertilizer_stock):
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(extras=_body({"expected_total": "168.00", "taken_at": "2026-05-01T09:00:00+08:00"}), key=st.integers(0, 9))
    def holds(extras, key):
        extras = extras if isinstance(extras, dict) else {"expected_total": extras}
        with transaction.atomic():
            response = place(client_a, order_body(villager_a, lines=[("FERT-50", 1)], **extras), key=f"junk-{key}")
            assert response.status_code in (200, 201, 400, 409), (response.status_code, extras)
            transaction.set_rollback(True)

    holds()


# --- the schema -------------------------------------------------------------------------------------------


def test_the_schema_documents_the_offline_counters_endpoints(client, db):
    schema = json.loads(client.get("/api/schema/", headers={"Accept": "application/json"}).content)
    paths = schema["paths"]

    for path in ("/api/v1/catalog/", "/api/v1/villagers/"):
        responses = paths[path]["get"]["responses"]
        assert {"200", "304", "401", "403"} <= set(responses), path
        assert "ETag" in responses["200"]["headers"]
        assert any(p["name"] == "If-None-Match" for p in paths[path]["get"]["parameters"])
    for action in ("confirm", "hand-over", "cancel", "return"):
        operation = paths[f"/api/v1/orders/{{number}}/{action}/"]["post"]
        assert {"200", "400", "401", "403", "404", "409"} <= set(operation["responses"]), action
    create = schema["components"]["schemas"]["OrderCreateInputRequest"]["properties"]
    assert {"expected_total", "taken_at"} <= set(create)
    assert "taken_offline_at" in schema["components"]["schemas"]["OrderOutput"]["properties"]
