"""The station API follows partners.access.STATION_ACTIONS as the pages do: an assistant never sees the commission."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate

from orders.api.views import StationApiView
from partners.access import station_may
from partners.models import StationStaff
from tests.factories import StationStaffFactory, UserFactory
from tests.orders.test_placement_costs import PLACEMENT_QUERIES  # the queries are listed there

URL = "/api/v1/orders/"


def body(villager) -> str:
    return json.dumps(
        {
            "villager": villager.pk,
            "lines": [{"sku": "FERT-50", "quantity": 1}],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        }
    )


def commission_keys(data) -> set[str]:
    """Every key naming the commission, anywhere in a JSON answer."""
    if isinstance(data, dict):
        return {k for k in data if "commission" in k} | {k for v in data.values() for k in commission_keys(v)}
    if isinstance(data, list):
        return {k for item in data for k in commission_keys(item)}
    return set()


@pytest.fixture
def assistant_a(station_a):
    return StationStaffFactory(
        user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user


@pytest.fixture
def token_of():
    return lambda user: {"Authorization": f"Token {Token.objects.create(user=user).key}"}


@pytest.mark.parametrize("role", ["partner", "assistant"])
def test_the_api_shows_the_commission_to_the_partner_only(
    role, staff_a, assistant_a, villager_a, fertilizer_stock, token_of
):
    # given the partner (staff_a) or an assistant of station A, by token
    user = staff_a if role == "partner" else assistant_a
    client, auth = Client(), token_of(user)

    # when they place an order (201), place it again under the same key (200), list and read it
    placed = client.post(
        URL, body(villager_a), content_type="application/json", headers={**auth, "Idempotency-Key": "k"}
    )
    replayed = client.post(
        URL, body(villager_a), content_type="application/json", headers={**auth, "Idempotency-Key": "k"}
    )
    number = placed.json()["number"]
    listed = client.get(URL, headers=auth)
    detail = client.get(f"{URL}{number}/", headers=auth)

    # then the commission is in every answer for the partner, in none for the assistant
    assert (placed.status_code, replayed.status_code, listed.status_code, detail.status_code) == (201, 200, 200, 200)
    expected = {"commission_total"} if station_may(role, "commissions") else set()
    for answer in (placed, replayed, listed, detail):
        assert commission_keys(answer.json()) == expected, answer.request["PATH_INFO"]
    assert number in json.dumps(listed.json())  # the list did show the order


def test_an_assistant_by_session_sees_no_commission_either(client, assistant_a, villager_a, fertilizer_stock):
    client.force_login(assistant_a)

    placed = client.post(URL, body(villager_a), content_type="application/json", headers={"Idempotency-Key": "k"})

    assert placed.status_code == 201
    assert commission_keys(placed.json()) == set()
    assert commission_keys(client.get(URL).json()) == set()


@pytest.mark.parametrize("role", ["partner", "assistant"])
def test_placing_by_token_costs_the_same_queries_for_both_roles(
    role, staff_a, assistant_a, villager_a, fertilizer_stock, token_of
):
    user = staff_a if role == "partner" else assistant_a
    client, auth = Client(), token_of(user)
    client.post(URL, body(villager_a), content_type="application/json", headers={**auth, "Idempotency-Key": "warm"})

    with CaptureQueriesContext(connection) as queries:
        placed = client.post(
            URL, body(villager_a), content_type="application/json", headers={**auth, "Idempotency-Key": "k"}
        )

    assert placed.status_code == 201
    assert len(queries) == PLACEMENT_QUERIES, "\n".join(q["sql"][:120] for q in queries.captured_queries)


class CommissionApi(StationApiView):
    """A station API endpoint of the commission: the partner's only, as its page is."""

    station_action = "commissions"

    def get(self, request):
        return Response({"commission_total": "1.00"})


@pytest.mark.parametrize(("role", "status"), [("partner", 200), ("assistant", 403)])
def test_a_commission_endpoint_of_the_api_refuses_an_assistant(role, status, staff_a, assistant_a):
    request = APIRequestFactory().get("/api/v1/commission/")
    force_authenticate(request, user=staff_a if role == "partner" else assistant_a)

    response = CommissionApi.as_view()(request)

    assert response.status_code == status
    if status == 403:
        assert "commission_total" not in json.dumps(response.data)


def test_an_api_view_cannot_name_an_action_the_table_does_not_have():
    with pytest.raises(ValueError, match="STATION_ACTIONS"):
        type("TypoApi", (StationApiView,), {"station_action": "comissions"})
