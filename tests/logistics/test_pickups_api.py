"""The way back in the logistics API: pickups per stop in the manifest, the driver's report, the pickup webhooks."""

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from logistics import pickups, services, webhooks
from logistics.admin import WebhookEndpointForm
from logistics.api.output import manifest_json
from logistics.api.serializers import ManifestOutputSerializer
from logistics.clients import create_client
from logistics.models import DeliveryBatch, Pickup, WebhookDelivery, WebhookEndpoint
from logistics.selectors import BATCH_VALUES
from orders.models import GoodsReturn

from .test_api import Receiver, receiver  # noqa: F401 - the receiving endpoint and its fixture

P = Pickup.Status


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def client_key(warehouse_a):
    return create_client(name="顺丰县域", warehouse_codes=[warehouse_a.code])


@pytest.fixture
def api(client_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {client_key[1]}")
    return api


def collected_url(way_back) -> str:
    return f"/api/v1/batches/{way_back.batch.code}/stops/{way_back.stop.sequence}/pickups/collected/"


def stop_pickups(api, way_back) -> list[dict]:
    body = api.get(f"/api/v1/batches/{way_back.batch.code}/").json()
    [stop] = [s for s in body["stops"] if s["sequence"] == way_back.stop.sequence]
    return stop["pickups"]


def test_the_manifest_lists_each_stops_pickups_exactly_as_the_serializer_does(api, way_back):
    fresh = DeliveryBatch.objects.select_related("warehouse", "route", "vehicle").get(pk=way_back.batch.pk)
    row = DeliveryBatch.objects.filter(pk=fresh.pk).values(*BATCH_VALUES, "version").get()

    served = api.get(f"/api/v1/batches/{fresh.code}/").json()

    assert manifest_json(row) == ManifestOutputSerializer(fresh).data == served
    assert stop_pickups(api, way_back) == [
        {
            "label": way_back.pickup.label,
            "what": "goods",
            "lot": "",
            "weight_kg": "150.000",
            "volume_m3": "0.1800",
            "status": "planned",
        }
    ]


def test_the_driver_reports_a_pickup_collected_once_and_the_cached_manifest_follows(api, way_back, county_manager):
    assert stop_pickups(api, way_back)[0]["status"] == "planned"  # now cached
    services.depart_batch(batch=way_back.batch)
    labels = {"labels": [way_back.pickup.label]}

    first = api.post(collected_url(way_back), labels, format="json")
    again = api.post(collected_url(way_back), labels, format="json")

    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert first.json()["pickups"][0] == {**stop_pickups(api, way_back)[0], "status": "collected"}
    assert stop_pickups(api, way_back)[0]["status"] == "collected"
    goods = GoodsReturn.objects.get(pk=way_back.goods.pk)
    assert goods.status == GoodsReturn.Status.ON_ITS_WAY
    # the warehouse counts it in: the manifest says so (pickups.receive bumps the batch's version)
    pickups.receive(pickup=way_back.pickup, actor=county_manager)
    assert stop_pickups(api, way_back)[0]["status"] == "received"
    # reported again after it was received, even with the run over: still no change, 200
    services.receive_stop(stop=way_back.stop, actor=None, notify=False)
    assert api.post(collected_url(way_back), labels, format="json").status_code == 200


def test_a_run_that_ends_without_the_pickup_leaves_it_behind_in_the_manifest(api, way_back):
    services.depart_batch(batch=way_back.batch)
    services.arrive_at_stop(batch=way_back.batch, sequence=way_back.stop.sequence)
    assert stop_pickups(api, way_back)[0]["status"] == "planned"  # cached
    # the stop's parcel goes missing, so the station never hands the goods over; the run is closed
    parcel = way_back.stop.parcels.get()
    services.report_parcel_exception(parcel=parcel, kind="missing")
    services.complete_batch(batch=way_back.batch)

    assert stop_pickups(api, way_back)[0]["status"] == "left"
    assert api.post(collected_url(way_back), {"labels": [way_back.pickup.label]}, format="json").status_code == 409
    goods = GoodsReturn.objects.get(pk=way_back.goods.pk)
    assert (goods.status, bool(goods.waiting_reason)) == (GoodsReturn.Status.WAITING, True)


def test_the_driver_api_refuses_runs_not_on_the_road_unknown_labels_and_bad_bodies(api, way_back):
    url = collected_url(way_back)
    label = way_back.pickup.label

    not_left = api.post(url, {"labels": [label]}, format="json")
    services.depart_batch(batch=way_back.batch)
    unknown = api.post(url, {"labels": [label, "B999999"]}, format="json")
    bodies = [
        api.post(url, body, format="json").status_code
        for body in ({}, {"labels": []}, {"labels": label}, {"labels": ["P1"]}, {"labels": ["B1\x00"]})
    ]
    no_stop = api.post(url.replace(f"/stops/{way_back.stop.sequence}/", "/stops/9/"), {"labels": [label]})

    assert not_left.status_code == 409
    assert way_back.batch.code in not_left.json()["detail"]
    assert unknown.status_code == 404
    assert "B999999" in unknown.json()["detail"]
    assert bodies == [400] * 5
    assert no_stop.status_code == 404
    way_back.pickup.refresh_from_db()
    assert way_back.pickup.status == P.PLANNED  # nothing was collected by a refused report


def test_another_warehouses_client_cannot_report_the_pickup(way_back, warehouse_b):
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {create_client(name='B 物流', warehouse_codes=['WH-B'])[1]}")
    services.depart_batch(batch=way_back.batch)

    response = other.post(collected_url(way_back), {"labels": [way_back.pickup.label]}, format="json")

    assert response.status_code == 404
    way_back.pickup.refresh_from_db()
    assert way_back.pickup.status == P.PLANNED


def test_the_schema_documents_the_drivers_report(client, db):
    schema = client.get("/api/schema/", headers={"Accept": "application/json"}).json()

    operation = schema["paths"]["/api/v1/batches/{code}/stops/{sequence}/pickups/collected/"]["post"]
    assert {"200", "400", "401", "404", "409", "429"} <= set(operation["responses"])
    stop = schema["components"]["schemas"]["ManifestStop"]
    assert "pickups" in stop["properties"]


# --- webhooks ----------------------------------------------------------------------------------


def test_a_subscribed_endpoint_gets_a_signed_delivery_for_each_pickup_event(
    client_key,
    receiver,  # noqa: F811 - the fixture imported above
    way_back,
    staff_a,
    county_manager,
):
    WebhookEndpoint.objects.create(
        client=client_key[0], url=receiver, secret=Receiver.secret, events="pickup.collected,pickup.received"
    )
    WebhookEndpoint.objects.create(client=client_key[0], url=receiver + "/batches", secret="x")  # the default events

    way_back.depart_and_collect(staff_a)
    pickups.receive(pickup=way_back.pickup, actor=county_manager, counts={way_back.goods.lines.get().pk: (2, 1)})
    deliveries = list(WebhookDelivery.objects.filter(event__startswith="pickup.").order_by("pk"))
    outcomes = [webhooks.deliver(d.pk) for d in deliveries]

    assert [(d.event, d.endpoint.url) for d in deliveries] == [
        ("pickup.collected", receiver),
        ("pickup.received", receiver),
    ]
    assert outcomes == [webhooks.DELIVERED] * 2
    assert [valid for valid, _body in Receiver.received] == [True, True]
    bodies = [body for _valid, body in Receiver.received]
    assert [(b["event"], b["pickup"]["label"], b["pickup"]["status"]) for b in bodies] == [
        ("pickup.collected", way_back.pickup.label, "collected"),
        ("pickup.received", way_back.pickup.label, "received"),
    ]
    assert {b["pickup"]["batch"] for b in bodies} == {way_back.batch.code}


def test_an_endpoint_subscribes_to_the_pickup_events_in_the_admin_and_nothing_unknown(client_key, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    base = {"url": "https://hooks.example.com/ruralshop", "secret": "s3cret", "is_active": "on"}

    form = WebhookEndpointForm({**base, "events": ["pickup.collected", "pickup.received"]})
    bogus = WebhookEndpointForm({**base, "events": ["pickup.stolen"]})
    none = WebhookEndpointForm({**base, "events": []})

    assert form.is_valid(), form.errors
    endpoint = form.save(commit=False)
    assert endpoint.events == "pickup.collected,pickup.received"
    assert endpoint.wants("pickup.received") and not endpoint.wants("batch.planned")
    assert not bogus.is_valid() and "events" in bogus.errors
    assert not none.is_valid()
    with pytest.raises(ValidationError, match="pickup.stolen"):
        WebhookEndpoint(client=client_key[0], url=base["url"], secret="s", events="batch.planned,pickup.stolen").clean()
    # the stored events show as ticked boxes when the endpoint is edited
    endpoint.client = client_key[0]
    endpoint.save()
    assert WebhookEndpointForm(instance=endpoint).initial["events"] == ["pickup.collected", "pickup.received"]


def test_the_client_admin_page_shows_the_event_boxes(admin_client, client_key):
    page = admin_client.get(reverse("admin:logistics_logisticsclient_change", args=[client_key[0].pk]))

    assert page.status_code == 200
    assert 'value="pickup.received"' in page.content.decode()
