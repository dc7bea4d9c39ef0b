"""The logistics API's fast paths: rows built without serializers, the cached manifest, one-query keys, the counter throttle."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from logistics import services
from logistics.api.output import batch_json, manifest_json
from logistics.api.serializers import BatchOutputSerializer, ManifestOutputSerializer
from logistics.clients import create_client
from logistics.models import BatchStop, DeliveryBatch, LogisticsClient, Parcel
from logistics.selectors import BATCH_VALUES

from .conftest import DAY, local


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def client_key(warehouse_a):
    return create_client(name="顺丰县域", warehouse_codes=[warehouse_a.code])


def api_for(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.fixture
def api(client_key):
    api = api_for(client_key[1])
    api.get("/api/v1/batches/")  # the first request of the minute also records last_used_at
    return api


def row_of(batch: DeliveryBatch) -> dict:
    return DeliveryBatch.objects.filter(pk=batch.pk).values(*BATCH_VALUES, "version").get()


def manifest(api, batch) -> dict:
    response = api.get(f"/api/v1/batches/{batch.code}/")
    assert response.status_code == 200
    return response.json()


# --- the same JSON as the serializers ---------------------------------------------------------


def test_it_builds_the_list_and_manifest_exactly_as_the_serializers_do(api, batch):
    # given a batch on the road: a stop reached, a parcel damaged, the other delivered
    services.depart_batch(batch=batch)
    services.arrive_at_stop(batch=batch, sequence=1)
    parcel = Parcel.objects.filter(batch_stop__batch=batch).order_by("label").first()
    services.report_parcel_exception(parcel=parcel, kind="damaged", note="湿了")

    # when
    fresh = DeliveryBatch.objects.select_related("warehouse", "route", "vehicle").get(pk=batch.pk)
    serialized = ManifestOutputSerializer(fresh).data

    # then
    assert batch_json(row_of(batch)) == BatchOutputSerializer(fresh).data
    assert manifest_json(row_of(batch)) == serialized
    assert api.get(f"/api/v1/batches/{batch.code}/").json() == serialized
    assert api.get("/api/v1/batches/").json()["results"] == [BatchOutputSerializer(fresh).data]


def test_it_sends_the_browsable_api_and_indented_json_from_the_same_data(api, batch):
    plain = api.get(f"/api/v1/batches/{batch.code}/")
    indented = api.get(f"/api/v1/batches/{batch.code}/", HTTP_ACCEPT="application/json; indent=2")
    html = api.get(f"/api/v1/batches/{batch.code}/", HTTP_ACCEPT="text/html")

    assert plain["Content-Type"] == "application/json"
    assert b"\n  " in indented.content
    assert indented.json() == plain.json()
    assert html.status_code == 200
    assert batch.code in html.content.decode()


# --- the cached manifest follows every change -----------------------------------------------


def test_the_cached_manifest_follows_every_change_of_the_batch(api, batch):
    first = manifest(api, batch)
    assert manifest(api, batch) == first  # served from the cache
    assert first["status"] == "planned"

    services.depart_batch(batch=batch)
    assert manifest(api, batch)["status"] == "in_transit"

    services.arrive_at_stop(batch=batch, sequence=1)
    stops = manifest(api, batch)["stops"]
    assert [s["status"] for s in stops] == ["arrived", "pending"]
    assert stops[0]["arrived_at"]

    label = stops[1]["parcels"][0]["label"]
    services.report_parcel_exception(parcel=Parcel.objects.get(label=label), kind="missing")
    assert manifest(api, batch)["stops"][1]["parcels"][0]["status"] == "missing"

    services.report_parcel_exception(parcel=Parcel.objects.get(label=label), kind="damaged")
    assert manifest(api, batch)["stops"][1]["parcels"][0]["status"] == "damaged"


def test_the_cached_manifest_follows_a_station_receiving_its_parcels(api, batch, staff_a2):
    services.depart_batch(batch=batch)
    before = manifest(api, batch)

    stop = BatchStop.objects.get(batch=batch, sequence=1)
    services.receive_stop(stop=stop, actor=staff_a2)

    after = manifest(api, batch)
    assert before["stops"][0]["status"] == "pending"
    assert after["stops"][0]["status"] == "received"
    assert {p["status"] for p in after["stops"][0]["parcels"]} == {"delivered"}


def test_a_cancelled_batch_manifest_has_no_stops(api, batch):
    manifest(api, batch)

    services.cancel_batch(batch=batch)

    body = manifest(api, batch)
    assert (body["status"], body["stops"]) == ("cancelled", [])


def test_every_service_that_changes_a_manifest_bumps_the_version(api, batch, staff_a2):
    def version():
        return DeliveryBatch.objects.values_list("version", flat=True).get(pk=batch.pk)

    seen = [version()]
    services.depart_batch(batch=batch)
    seen.append(version())
    services.arrive_at_stop(batch=batch, sequence=1)
    seen.append(version())
    services.report_parcel_exception(parcel=Parcel.objects.filter(batch_stop__batch=batch).first(), kind="missing")
    seen.append(version())
    services.receive_stop(stop=BatchStop.objects.get(batch=batch, sequence=2), actor=staff_a2)
    seen.append(version())
    services.receive_stop(stop=BatchStop.objects.get(batch=batch, sequence=1), actor=staff_a2)
    seen.append(version())

    assert seen == sorted(set(seen))  # strictly increasing
    assert DeliveryBatch.objects.get(pk=batch.pk).status == "completed"


def test_an_etag_poll_is_a_304_until_the_manifest_changes(api, batch):
    etag = api.get(f"/api/v1/batches/{batch.code}/")["ETag"]

    unchanged = api.get(f"/api/v1/batches/{batch.code}/", HTTP_IF_NONE_MATCH=etag)
    services.depart_batch(batch=batch)
    changed = api.get(f"/api/v1/batches/{batch.code}/", HTTP_IF_NONE_MATCH=etag)

    assert (unchanged.status_code, unchanged["ETag"]) == (304, etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_the_cached_manifest_is_only_served_to_clients_of_its_warehouse(api, batch, warehouse_b):
    manifest(api, batch)  # cached now
    outsider = api_for(create_client(name="另一家物流", warehouse_codes=[warehouse_b.code])[1])

    assert outsider.get(f"/api/v1/batches/{batch.code}/").status_code == 404


# --- fixed query counts -------------------------------------------------------------------------


def test_the_list_costs_two_queries(api, batch, warehouse_a, django_assert_num_queries):
    # 1. the key with its client (one indexed lookup by prefix)
    # 2. the page of batches with warehouse, route and vehicle (joined)
    with django_assert_num_queries(2):
        assert api.get("/api/v1/batches/").status_code == 200
    with django_assert_num_queries(2):
        assert api.get("/api/v1/batches/", {"status": "planned", "warehouse": warehouse_a.code}).status_code == 200


def test_the_manifest_costs_five_queries_then_two(api, batch, django_assert_num_queries):
    # 1. the key with its client
    # 2. the batch row, scoped to the client's warehouses (it keys the cache)
    # 3. the stops with their stations, 4. the parcels with order numbers and villager names, 5. the pickups
    with django_assert_num_queries(5):
        api.get(f"/api/v1/batches/{batch.code}/")
    # cached: 1 and 2 only
    with django_assert_num_queries(2):
        api.get(f"/api/v1/batches/{batch.code}/")


# --- keys ------------------------------------------------------------------------------------------


def test_an_expired_key_or_an_inactive_client_is_refused_on_the_next_request(client_key, batch):
    client, key = client_key
    api = api_for(key)
    assert api.get("/api/v1/batches/").status_code == 200

    client.api_keys.update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert api.get("/api/v1/batches/").status_code == 401

    client.api_keys.update(expiry_date=None)
    assert api.get("/api/v1/batches/").status_code == 200
    LogisticsClient.objects.filter(pk=client.pk).update(is_active=False)
    assert api.get("/api/v1/batches/").status_code == 401


def test_a_key_with_a_known_prefix_and_a_wrong_secret_is_refused(client_key, batch):
    prefix = client_key[1].split(".", 1)[0]

    assert api_for(f"{prefix}.wrong-secret").get("/api/v1/batches/").status_code == 401


# --- the throttle ------------------------------------------------------------------------------------


@pytest.fixture
def three_a_minute(settings):
    from logistics.api.authentication import PerClientThrottle

    PerClientThrottle.THROTTLE_RATES = {"logistics": "3/min"}
    yield
    PerClientThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


def test_the_throttle_counts_per_client(client_key, batch, warehouse_a, three_a_minute):
    one, other = api_for(client_key[1]), api_for(create_client(name="另一家", warehouse_codes=[warehouse_a.code])[1])

    with time_machine.travel(local(DAY, 10) + timedelta(seconds=5), tick=False):
        codes = [one.get("/api/v1/batches/").status_code for _ in range(4)]
        assert other.get("/api/v1/batches/").status_code == 200

    assert codes == [200, 200, 200, 429]


def test_the_throttle_slides_refused_requests_do_not_count(client_key, batch, three_a_minute):
    api = api_for(client_key[1])
    with time_machine.travel(local(DAY, 10) + timedelta(seconds=50), tick=False):  # late in a minute
        assert [api.get("/api/v1/batches/").status_code for _ in range(3)] == [200] * 3
        refused = api.get("/api/v1/batches/")
        for _ in range(5):
            api.get("/api/v1/batches/")  # refused: must not push the next allowance further away
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60

    # 25 s into the next minute the previous one still counts for 35/60: 3 x 35/60 + 1 <= 3 < 3 x 35/60 + 2
    with time_machine.travel(local(DAY, 10, 1) + timedelta(seconds=25), tick=False):
        assert api.get("/api/v1/batches/").status_code == 200
        assert api.get("/api/v1/batches/").status_code == 429
    with time_machine.travel(local(DAY, 10, 3) + timedelta(seconds=30), tick=False):  # two minutes on: forgotten
        assert [api.get("/api/v1/batches/").status_code for _ in range(3)] == [200] * 3
