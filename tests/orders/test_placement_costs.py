"""What placing an order costs in queries, through the station API and through the partner's form.

Pinned at today's counts so that a refactor cannot add a query unnoticed: the
counts are the same on SQLite and PostgreSQL.  A second placement is measured,
after a first one has warmed the per-process caches (content types, prepared
statements), as bench/placement_costs.py measures the same path.
"""

import json

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

API_URL = "/api/v1/orders/"
FORM_URL = "/orders/new/"

# By token: 1 the token with its user, station and role (the role costs none), 2 the villager of that
# station, 3 the stock of the products at the station's warehouse (with product, category and seller),
# 4 the running promotions, 5 the commission rules, 6 the station's route for the delivery promise (this
# station is on none; on a route, the county's holidays are one query more); then a savepoint around the
# order: 7 SAVEPOINT, 8 the order, 9 its line, 10 its event, 11 its SMS (the consent code), 12 the reservation
# (a conditional UPDATE of the stock), 13 its stock movement, 14 RELEASE.  tests/orders/test_api_roles.py
# checks it for both roles.
PLACEMENT_QUERIES = 14

# The form: 1 the session, 2 its user, 3 the user's station membership (station and role), 4 the villager,
# 5 the stock, 6 the promotions, 7 the commission rules, 8 the route, 9-16 the same savepoint and six writes
# as the API, then the session saved (SESSION_SAVE_EVERY_REQUEST: the 8-hour idle expiry): 17 SAVEPOINT,
# 18 UPDATE, 19 RELEASE.
FORM_PLACEMENT_QUERIES = 19


def api_body(villager) -> str:
    return json.dumps(
        {
            "villager": villager.pk,
            "lines": [{"sku": "FERT-50", "quantity": 1}],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        }
    )


def form_data(villager, key: str) -> dict:
    return {
        "villager": villager.pk,
        "sku": ["FERT-50"],
        "quantity": ["1"],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        "idempotency_key": key,
    }


@pytest.fixture
def api_client(staff_a):
    return Client(headers={"Authorization": f"Token {Token.objects.create(user=staff_a).key}"})


def test_placing_through_the_station_api_costs_fourteen_queries(
    api_client, villager_a, fertilizer_stock, django_assert_num_queries
):
    # given a first placement (per-process caches warm)
    warm = api_client.post(
        API_URL, api_body(villager_a), content_type="application/json", headers={"Idempotency-Key": "w"}
    )
    assert warm.status_code == 201

    # when the station places another order, then it costs the pinned queries
    with django_assert_num_queries(PLACEMENT_QUERIES):
        placed = api_client.post(
            API_URL, api_body(villager_a), content_type="application/json", headers={"Idempotency-Key": "k"}
        )

    assert placed.status_code == 201


def test_placing_through_the_partners_form_costs_nineteen_queries(
    client_a, villager_a, fertilizer_stock, django_assert_num_queries
):
    # given a first placement (per-process caches warm)
    assert client_a.post(FORM_URL, form_data(villager_a, "w")).status_code == 302

    # when the partner places another order with the form, then it costs the pinned queries
    with django_assert_num_queries(FORM_PLACEMENT_QUERIES):
        placed = client_a.post(FORM_URL, form_data(villager_a, "k"))

    assert placed.status_code == 302
    assert placed["Location"].endswith("/receipt/")
