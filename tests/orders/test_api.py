"""The station JSON API: placement with an Idempotency-Key, the station's list and detail, auth and the schema."""

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token

from catalog.models import Stock
from orders import services
from orders.models import Order
from partners.models import ServiceCenter
from tests.factories import ProductFactory, StationStaffFactory, StockFactory, UserFactory
from tests.orders.conftest import place

URL = "/api/v1/orders/"


def order_body(villager, lines=(("FERT-50", 2),), **fields) -> dict:
    return {
        "villager": villager.pk,
        "lines": [{"sku": sku, "quantity": quantity} for sku, quantity in lines],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        "notes": "",
        **fields,
    }


def post(client, body, *, key: str | None = "key-1", **headers):
    """POST to the API: ``body`` as a dict is sent as JSON, as a string it is sent as is."""
    if key is not None:
        headers["Idempotency-Key"] = key
    raw = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, raw, content_type="application/json", headers=headers)


def reserved(stock) -> int:
    return Stock.objects.get(pk=stock.pk).reserved


# --- placing an order ----------------------------------------------------------------


def test_it_places_an_order_then_returns_the_same_order_for_the_same_key(client_a, villager_a, fertilizer_stock):
    # when
    first = post(client_a, order_body(villager_a, notes="放在门口"), key="tablet-7f3a")
    again = post(client_a, order_body(villager_a, notes="放在门口"), key="tablet-7f3a")

    # then
    assert first.status_code == 201
    order = first.json()
    assert order["number"] == Order.objects.get().number
    assert order["status"] == "placed"
    assert (order["total"], order["commission_total"]) == ("336.00", "10.08")
    assert "pickup_code" not in order  # a villager with SMS gets it by text (orders.consent)
    assert (order["consent_via"], order["consent_given_at"]) == ("sms", None)
    assert (order["delivery_method"], order["payment_method"], order["notes"]) == (
        "station_pickup",
        "cash_at_station",
        "放在门口",
    )
    assert order["created_at"]
    assert order["villager"] == {"id": villager_a.pk, "name": "王建国", "masked_phone": "138****5678"}
    assert "13812345678" not in first.content.decode()
    assert order["lines"] == [
        {
            "sku": "FERT-50",
            "name": "复合肥 50kg",
            "quantity": 2,
            "unit_price": "168.00",
            "line_total": "336.00",
            "returned_quantity": 0,
        }
    ]
    assert order["taken_offline_at"] is None  # taken online
    assert again.status_code == 200
    assert again.json() == order
    assert Order.objects.count() == 1
    assert reserved(fertilizer_stock) == 2


def test_it_refuses_a_different_body_under_a_key_already_used(client_a, villager_a, fertilizer_stock):
    first = post(client_a, order_body(villager_a), key="k")

    response = post(client_a, order_body(villager_a, lines=[("FERT-50", 3)]), key="k")

    assert response.status_code == 422
    assert first.json()["number"] in response.json()["detail"]
    assert Order.objects.count() == 1
    assert reserved(fertilizer_stock) == 2


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Idempotency-Key": ""},
        {"Idempotency-Key": "   "},
        {"Idempotency-Key": "k" * 65},
        {"Idempotency-Key": "a\x00b"},
    ],
    ids=["missing", "empty", "blank", "too-long", "nul-byte"],
)
def test_it_requires_an_idempotency_key_header(client_a, villager_a, fertilizer_stock, headers):
    response = post(client_a, order_body(villager_a), key=None, **headers)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Order.objects.exists()


def test_it_takes_a_key_of_64_characters(client_a, villager_a, fertilizer_stock):
    assert post(client_a, order_body(villager_a), key="k" * 64).status_code == 201


def test_it_answers_409_naming_only_the_short_lines(client_a, villager_a, warehouse_a, fertilizer_stock):
    # given fertilizer enough (20) and seeds short (3)
    seeds = ProductFactory(sku="SEED-RICE", name="杂交水稻种子 1kg")
    seeds_stock = StockFactory(product=seeds, warehouse=warehouse_a, on_hand=3)

    # when
    response = post(client_a, order_body(villager_a, lines=[("FERT-50", 2), ("SEED-RICE", 5)]))

    # then the whole order is refused and nothing is reserved
    assert response.status_code == 409
    assert response.json()["detail"]
    assert response.json()["short_lines"] == [
        {"sku": "SEED-RICE", "name": "杂交水稻种子 1kg", "requested": 5, "available": 3}
    ]
    assert not Order.objects.exists()
    assert (reserved(fertilizer_stock), reserved(seeds_stock)) == (0, 0)


def test_it_refuses_a_villager_of_another_station(client_a, villager_b, fertilizer_stock):
    response = post(client_a, order_body(villager_b))

    assert response.status_code == 400
    assert list(response.json()) == ["villager"]
    assert not Order.objects.exists()


def test_it_answers_a_missing_villager_as_it_answers_another_stations(client_a, villager_a, villager_b):
    missing = post(client_a, {**order_body(villager_a), "villager": villager_b.pk + 1000})
    elsewhere = post(client_a, order_body(villager_b))

    assert missing.status_code == elsewhere.status_code == 400
    assert missing.json() == elsewhere.json()


def _valid(body: dict) -> str:
    return json.dumps(body)


def _with(**fields):
    return lambda body: json.dumps({**body, **fields})


def _without(field: str):
    return lambda body: json.dumps({k: v for k, v in body.items() if k != field})


def _line(**fields):
    return lambda body: json.dumps({**body, "lines": [{"sku": "FERT-50", "quantity": 1, **fields}]})


MALFORMED = {
    "not-json": lambda body: '{"villager": 1, "lines": [',
    "not-utf-8": lambda body: _valid(body).encode().replace(b'"notes": ""', b'"notes": "\xff\xfe"'),
    "empty-body": lambda body: "",
    "json-array": lambda body: "[]",
    "json-string": lambda body: '"order"',
    "nested-too-deep": lambda body: "[" * 100_000 + "]" * 100_000,
    "nan-quantity": lambda body: _valid(body).replace('"quantity": 2', '"quantity": NaN'),
    "huge-integer-literal": lambda body: _valid(body).replace('"quantity": 2', '"quantity": ' + "9" * 5000),
    "no-villager": _without("villager"),
    "villager-null": _with(villager=None),
    "villager-text": _with(villager="王建国"),
    "villager-zero": _with(villager=0),
    "villager-beyond-bigint": _with(villager=2**70),
    "villager-float": _with(villager=1.5),
    "no-lines": _without("lines"),
    "lines-empty": _with(lines=[]),
    "lines-not-a-list": _with(lines="FERT-50"),
    "line-not-an-object": _with(lines=["FERT-50"]),
    "too-many-lines": _with(lines=[{"sku": f"S-{n}", "quantity": 1} for n in range(services.MAX_LINES + 1)]),
    "quantity-missing": lambda body: json.dumps({**body, "lines": [{"sku": "FERT-50"}]}),
    "quantity-zero": _line(quantity=0),
    "quantity-negative": _line(quantity=-1),
    "quantity-1000": _line(quantity=1000),
    "quantity-text": _line(quantity="2"),
    "quantity-float": _line(quantity=2.5),
    "quantity-whole-float": _line(quantity=2.0),
    "quantity-true": _line(quantity=True),
    "quantity-null": _line(quantity=None),
    "sku-missing": lambda body: json.dumps({**body, "lines": [{"quantity": 1}]}),
    "sku-empty": _line(sku=""),
    "sku-huge": _line(sku="F" * 100_000),
    "sku-nul-byte": _line(sku="FERT\x0050"),
    "sku-object": _line(sku={"$ne": ""}),
    "no-delivery-method": _without("delivery_method"),
    "delivery-by-drone": _with(delivery_method="drone"),
    "delivery-method-list": _with(delivery_method=["station_pickup"]),
    "payment-in-bitcoin": _with(payment_method="bitcoin"),
    "notes-huge": _with(notes="很" * 100_000),
    "notes-nul-byte": _with(notes="门口\x00"),
    "notes-lone-surrogate": lambda body: _valid(body).replace('"notes": ""', '"notes": "\\ud800"'),
    # Not field errors but domain refusals from place_order: 400 with a detail.
    "unknown-sku": _line(sku="NO-SUCH-SKU"),
    "same-sku-over-999-in-total": _with(lines=[{"sku": "FERT-50", "quantity": 999}, {"sku": "FERT-50", "quantity": 1}]),
    "installation-of-fertilizer": _with(delivery_method="home_installation"),
}


@pytest.mark.parametrize("malform", MALFORMED.values(), ids=MALFORMED.keys())
def test_it_answers_400_to_malformed_input_and_stores_nothing(client_a, villager_a, fertilizer_stock, malform):
    response = post(client_a, malform(order_body(villager_a)))

    assert response.status_code == 400, response.content[:500]
    assert response.json()
    assert not Order.objects.exists()
    assert reserved(fertilizer_stock) == 0


def test_it_answers_413_to_a_body_over_the_upload_limit(client_a, villager_a, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000

    response = post(client_a, {**order_body(villager_a), "padding": "x" * 20_000})

    assert response.status_code == 413
    assert not Order.objects.exists()


def test_it_takes_only_json(client_a, villager_a, fertilizer_stock):
    response = client_a.post(URL, {"villager": villager_a.pk}, headers={"Idempotency-Key": "k"})

    assert response.status_code == 415


def test_it_turns_a_domain_refusal_into_400_with_the_reason(client_a, station_a, villager_a, fertilizer_stock):
    ServiceCenter.objects.filter(pk=station_a.pk).update(status=ServiceCenter.Status.SUSPENDED)

    response = post(client_a, order_body(villager_a))

    assert response.status_code == 400
    assert response.json()["detail"]
    assert not Order.objects.exists()


def test_it_checks_csrf_for_a_session_post(staff_a, villager_a, fertilizer_stock):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_a)

    response = post(browser, order_body(villager_a))

    assert response.status_code == 403
    assert not Order.objects.exists()


# --- reading orders ---------------------------------------------------------------------


def test_it_lists_only_the_stations_orders(client_a, order_a, order_b):
    response = client_a.get(URL)

    assert response.status_code == 200
    assert [o["number"] for o in response.json()["results"]] == [order_a.number]


def test_it_shows_an_order_of_the_station(client_a, order_a):
    response = client_a.get(f"{URL}{order_a.number}/")

    assert response.status_code == 200
    assert response.json()["number"] == order_a.number
    assert response.json()["lines"][0]["sku"] == "FERT-50"


def test_it_answers_404_for_another_stations_order(client_a, order_b):
    assert client_a.get(f"{URL}{order_b.number}/").status_code == 404


def test_it_answers_404_for_an_order_that_does_not_exist(client_a, db):
    assert client_a.get(f"{URL}NO-SUCH/").status_code == 404


def test_it_lists_newest_first_a_page_at_a_time(client_a, station_a, villager_a, staff_a, fertilizer_stock):
    numbers = [place(station_a, villager_a, staff_a, fertilizer_stock.product, key=f"k{n}").number for n in range(5)]

    first = client_a.get(URL, {"page_size": 3}).json()
    second = client_a.get(first["next"]).json()

    assert [o["number"] for o in first["results"] + second["results"]] == numbers[::-1]
    assert second["next"] is None


def test_it_filters_the_list_by_status(client_a, order_a, station_a, villager_a, staff_a, fertilizer_stock):
    confirmed = place(station_a, villager_a, staff_a, fertilizer_stock.product, key="k2")
    services.confirm_payment(order=confirmed, consent_code=confirmed.consent_code, actor=staff_a)

    response = client_a.get(URL, {"status": "confirmed"})

    assert [o["number"] for o in response.json()["results"]] == [confirmed.number]


def test_it_refuses_an_unknown_status_filter(client_a, order_a):
    response = client_a.get(URL, {"status": "lost"})

    assert response.status_code == 400
    assert "status" in response.json()


@pytest.mark.parametrize(
    ("auth", "queries"),
    [
        # session, user, station, a page of orders with their villagers, their lines with their
        # products, then the session save of SESSION_SAVE_EVERY_REQUEST (savepoint, update, release)
        ("session", 8),
        # token with its user and station (one query), a page of orders with their villagers,
        # their lines with their products
        ("token", 3),
    ],
)
def test_it_lists_3_or_30_orders_in_the_same_queries(
    client, station_a, villager_a, staff_a, fertilizer_stock, auth, queries
):
    # given
    if auth == "session":
        client.force_login(staff_a)
        headers = {}
    else:
        headers = {"Authorization": f"Token {Token.objects.create(user=staff_a).key}"}
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=100)
    for n in range(3):
        place(station_a, villager_a, staff_a, fertilizer_stock.product, key=f"few-{n}")

    # when the list shows 3 orders, then a full page of the 30
    with CaptureQueriesContext(connection) as few:
        assert len(client.get(URL, headers=headers).json()["results"]) == 3
    for n in range(27):
        place(station_a, villager_a, staff_a, fertilizer_stock.product, key=f"many-{n}")
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(URL, headers=headers).json()["results"]) == 25

    # then
    assert len(few) == len(many) == queries


# --- who may call it -------------------------------------------------------------------


def test_it_accepts_a_token_instead_of_a_session(client, staff_a, villager_a, fertilizer_stock):
    token = Token.objects.create(user=staff_a)
    auth = {"Authorization": f"Token {token.key}"}

    placed = post(client, order_body(villager_a), **auth)
    listed = client.get(URL, headers=auth)

    assert placed.status_code == 201
    assert [o["number"] for o in listed.json()["results"]] == [placed.json()["number"]]
    assert Order.objects.get().placed_by == staff_a


@pytest.mark.parametrize("path", [URL, f"{URL}ANY/"])
def test_it_answers_401_without_credentials(client, db, path):
    response = client.get(path)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_it_answers_401_to_an_unknown_token(client, db):
    assert client.get(URL, headers={"Authorization": "Token nope"}).status_code == 401


def test_it_answers_401_to_a_post_without_credentials(client, villager_a, fertilizer_stock):
    assert post(client, order_body(villager_a)).status_code == 401
    assert not Order.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_tells_a_user_without_a_station_why_they_are_refused(client, county_manager, villager_a, method):
    client.force_login(county_manager)

    response = client.get(URL) if method == "get" else post(client, order_body(villager_a))

    assert response.status_code == 403
    assert "服务站" in response.json()["detail"]  # the reason, in the Chinese the UI speaks first
    assert not Order.objects.exists()


def test_it_refuses_an_admin_without_a_station_too(client, admin_user, order_a):
    client.force_login(admin_user)

    assert client.get(f"{URL}{order_a.number}/").status_code == 403


def test_it_keeps_an_assistant_to_their_own_station(client, station_a, order_a, order_b):
    assistant = StationStaffFactory(user=UserFactory(username="dan"), service_center=station_a, role="assistant").user
    client.force_login(assistant)

    assert client.get(f"{URL}{order_a.number}/").status_code == 200
    assert client.get(f"{URL}{order_b.number}/").status_code == 404


# --- documentation ----------------------------------------------------------------------


def test_it_documents_the_api_in_the_schema(client, db):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    schema = json.loads(response.content)
    assert "/api/v1/orders/" in schema["paths"]
    create = schema["paths"]["/api/v1/orders/"]["post"]
    key = next(p for p in create["parameters"] if p["name"] == "Idempotency-Key")
    assert (key["in"], key["required"]) == ("header", True)
    assert set(create["responses"]) >= {"200", "201", "400", "409", "422"}


def test_it_serves_the_api_docs_from_local_files_only(client, db):
    response = client.get("/api/docs/")

    page = response.content.decode()
    assets = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", page)
    assert response.status_code == 200
    assert assets
    # Swagger UI's start-up script comes from the docs' own URL (no inline script: the CSP forbids them).
    assert all(url.startswith("/static/") or url == "/api/docs/?script=" for url in assets), assets
    assert not re.search(r"https?://", page)
    assert not re.search(r"https?://", client.get("/api/docs/?script=").content.decode())


def test_the_placement_answer_carries_the_code_for_a_slip_once_and_records_the_print(
    client_a, fertilizer_stock, station_a
):
    from orders.models import SlipPrint
    from tests.factories import VillagerFactory

    granny = VillagerFactory(service_center=station_a, name="张奶奶", phone="", sms_consent=False)
    first = post(client_a, order_body(granny), key="slip-api")
    assert first.status_code == 201 and first.json()["consent_via"] == "slip"
    order = Order.objects.get(number=first.json()["number"])
    assert first.json()["pickup_code"] == order.pickup_code
    assert list(SlipPrint.objects.filter(order=order).values_list("reprint", "channel")) == [(False, "api")]
    # a replay, the detail and the list do not carry it
    again = post(client_a, order_body(granny), key="slip-api")
    assert again.status_code == 200 and "pickup_code" not in again.json()
    assert order.pickup_code not in client_a.get(f"/api/v1/orders/{order.number}/").content.decode()
