"""The logistics REST API: keys, scoping, state changes and their idempotency, ETags, throttling, webhooks."""

import http.server
import json
import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from logistics import services, tasks, webhooks
from logistics.clients import create_client, revoke_keys
from logistics.models import DeliveryBatch, LogisticsClient, WebhookDelivery, WebhookEndpoint
from orders.models import Order
from ruralshop.celery import app as celery_app
from tests.factories import WarehouseFactory

from .conftest import DAY, local


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()


@pytest.fixture
def client_key(warehouse_a):
    return create_client(name="顺丰县域", warehouse_codes=[warehouse_a.code])


@pytest.fixture
def api(client_key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {client_key[1]}")
    return api


@pytest.fixture
def other_batch(station_b, warehouse_b, confirm):
    """A batch of another county's warehouse, which the client must never see."""
    from catalog.models import Product
    from tests.factories import RouteFactory, RouteStopFactory, StockFactory, VehicleFactory

    route = RouteFactory(warehouse=warehouse_b, code="B-R1")
    RouteStopFactory(route=route, service_center=station_b, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse_b))
    StockFactory(product=Product.objects.get(sku="BAG-50"), warehouse=warehouse_b, on_hand=100)
    confirm(station_b)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_b, dispatch_date=DAY)
    return DeliveryBatch.objects.get(warehouse=warehouse_b)


ENDPOINTS = [
    ("get", "/api/v1/batches/"),
    ("get", "/api/v1/batches/{code}/"),
    ("post", "/api/v1/batches/{code}/depart/"),
    ("post", "/api/v1/batches/{code}/stops/1/arrive/"),
    ("post", "/api/v1/batches/{code}/stops/1/pickups/collected/"),
    ("post", "/api/v1/batches/{code}/complete/"),
    ("get", "/api/v1/parcels/{label}/"),
    ("post", "/api/v1/parcels/{label}/exception/"),
]


def url(template, batch):
    label = batch.stops.first().parcels.first().label
    return template.format(code=batch.code, label=label)


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_every_endpoint_needs_a_valid_key(client_key, batch, method, template):
    anonymous, wrong = APIClient(), APIClient()
    wrong.credentials(HTTP_AUTHORIZATION="Token nope.nothing")

    assert getattr(anonymous, method)(url(template, batch)).status_code == 401
    assert getattr(wrong, method)(url(template, batch)).status_code == 401


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
def test_a_revoked_key_stops_working_at_once(api, client_key, batch, method, template):
    assert api.get("/api/v1/batches/").status_code == 200

    revoke_keys(client_key[0])

    assert getattr(api, method)(url(template, batch)).status_code == 401


@pytest.mark.parametrize(("method", "template"), ENDPOINTS[1:])
def test_another_warehouses_objects_are_404_and_unchanged(api, batch, other_batch, method, template):
    response = getattr(api, method)(url(template, other_batch), {"kind": "missing"}, format="json")

    assert response.status_code == 404
    other_batch.refresh_from_db()
    assert other_batch.status == DeliveryBatch.Status.PLANNED
    assert not other_batch.stops.first().parcels.exclude(status="loaded").exists()


def test_the_list_shows_only_the_clients_batches_with_filters(api, batch, other_batch):
    codes = [b["code"] for b in api.get("/api/v1/batches/").json()["results"]]

    assert codes == [batch.code]
    assert api.get("/api/v1/batches/", {"status": "in_transit"}).json()["results"] == []
    assert api.get("/api/v1/batches/", {"dispatch_date": DAY.isoformat()}).json()["results"][0]["code"] == batch.code
    assert api.get("/api/v1/batches/", {"status": "nonsense"}).status_code == 400


def test_the_manifest_masks_villagers_and_has_no_villager_phones(api, batch):
    body = api.get(f"/api/v1/batches/{batch.code}/").json()

    assert [s["sequence"] for s in body["stops"]] == [1, 2]
    parcel = body["stops"][0]["parcels"][0]
    order = Order.objects.get(number=parcel["order"])
    assert parcel["villager"] == order.villager.name[0] + "*" * (len(order.villager.name) - 1)
    assert str(order.villager.phone.national_number) not in json.dumps(body, ensure_ascii=False)
    assert body["stops"][0]["station"]["code"]


def test_an_etag_lets_a_client_poll_cheaply(api, batch):
    first = api.get(f"/api/v1/batches/{batch.code}/")

    again = api.get(f"/api/v1/batches/{batch.code}/", HTTP_IF_NONE_MATCH=first["ETag"])
    api.post(f"/api/v1/batches/{batch.code}/depart/")
    changed = api.get(f"/api/v1/batches/{batch.code}/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert changed.status_code == 200


def test_state_changes_are_idempotent_and_impossible_ones_are_409(api, batch):
    code = batch.code
    assert api.post(f"/api/v1/batches/{code}/stops/1/arrive/").status_code == 409  # not departed
    assert api.post(f"/api/v1/batches/{code}/complete/").status_code == 409

    assert api.post(f"/api/v1/batches/{code}/depart/").json()["status"] == "in_transit"
    assert api.post(f"/api/v1/batches/{code}/depart/").status_code == 200  # repeated: same state
    assert "2" in api.post(f"/api/v1/batches/{code}/complete/").json()["detail"]  # stops 1, 2 not reached
    for sequence in (1, 2, 1):
        assert api.post(f"/api/v1/batches/{code}/stops/{sequence}/arrive/").json()["status"] == "arrived"
    assert api.post(f"/api/v1/batches/{code}/stops/9/arrive/").status_code == 404
    # Any integer gets a JSON 404, however long (schemathesis found a 37-digit one answered by Django's HTML page).
    for sequence in ("0", "-1", "99999", "9" * 37, "9" * 5000):
        response = api.post(f"/api/v1/batches/{code}/stops/{sequence}/arrive/")
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), sequence
    # Reached but not checked in: completing now would strand their orders in transit.
    refused = api.post(f"/api/v1/batches/{code}/complete/")
    assert (refused.status_code, "1, 2" in refused.json()["detail"]) == (409, True)
    for stop in batch.stops.all():
        services.receive_stop(stop=stop, actor=None, notify=False)
    assert Order.objects.filter(status=Order.Status.IN_TRANSIT).count() == 0
    assert api.post(f"/api/v1/batches/{code}/complete/").json()["status"] == "completed"
    assert api.post(f"/api/v1/batches/{code}/complete/").status_code == 200
    assert api.post(f"/api/v1/batches/{code}/depart/").status_code == 409


def test_a_parcel_exception_and_its_tracking(api, batch):
    label = url("{label}", batch)
    refused_before_departure = api.post(f"/api/v1/parcels/{label}/exception/", {"kind": "damaged"}, format="json")
    api.post(f"/api/v1/batches/{batch.code}/depart/")

    assert api.post(f"/api/v1/parcels/{label}/exception/", {"kind": "lost"}, format="json").status_code == 400
    response = api.post(f"/api/v1/parcels/{label}/exception/", {"kind": "damaged", "note": "箱子压坏"}, format="json")
    again = api.post(f"/api/v1/parcels/{label}/exception/", {"kind": "damaged", "note": "箱子压坏"}, format="json")

    body = api.get(f"/api/v1/parcels/{label}/").json()
    assert refused_before_departure.status_code == 409
    assert (response.status_code, again.status_code) == (200, 200)
    assert (body["status"], body["note"]) == ("damaged", "箱子压坏")
    assert [h["status"] for h in body["history"]] == ["placed", "confirmed", "batched", "in_transit", "exception"]
    assert "villager" not in body


def test_a_parcel_already_at_the_station_cannot_be_reported_missing(api, batch):
    api.post(f"/api/v1/batches/{batch.code}/depart/")
    stop = batch.stops.get(sequence=1)
    services.receive_stop(stop=stop, actor=None, notify=False)
    parcel = stop.parcels.get()

    response = api.post(f"/api/v1/parcels/{parcel.label}/exception/", {"kind": "missing"}, format="json")

    assert response.status_code == 409
    assert parcel.label in response.json()["detail"]
    parcel.refresh_from_db()
    assert parcel.status == "delivered"
    assert Order.objects.get(pk=parcel.order_id).status == Order.Status.AT_STATION


@pytest.mark.parametrize(
    "path", ["/api/v1/batches/%00/", "/api/v1/parcels/%00/", "/api/v1/batches/" + "x" * 5000 + "/"]
)
def test_nul_bytes_and_huge_parameters_are_4xx(api, batch, path):
    assert 400 <= api.get(path).status_code < 500


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/batches/%00/",
        "/api/v1/batches/a%20b/depart/",
        "/api/v1/parcels/" + "P" * 41 + "/",
        "/api/v1/parcels/x/",
    ],
)
def test_a_path_that_names_no_batch_or_parcel_is_the_apis_json_404_after_the_key(api, batch, path):
    # the path converters refuse it: a JSON 404 as from the views, and a 401 without a key
    response = api.post(path) if path.endswith("depart/") else api.get(path)

    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert "among your warehouses" in response.json()["detail"]
    assert APIClient().get(path).status_code == 401


def test_list_and_manifest_queries_do_not_grow_with_parcels(api, batch, confirm, station_a, warehouse_a):
    api.get("/api/v1/batches/")  # the first request of the minute also records last_used_at
    with CaptureQueriesContext(connection) as small_list:
        api.get("/api/v1/batches/")
    with CaptureQueriesContext(connection) as small_manifest:
        api.get(f"/api/v1/batches/{batch.code}/")
    services.cancel_batch(batch=batch)
    for _ in range(12):
        confirm(station_a)
    with time_machine.travel(local(DAY, 16, 2), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    big = DeliveryBatch.objects.exclude(status="cancelled").get()
    assert big.parcel_count == 14
    with CaptureQueriesContext(connection) as big_list:
        api.get("/api/v1/batches/")
    with CaptureQueriesContext(connection) as big_manifest:
        api.get(f"/api/v1/batches/{big.code}/")

    assert len(big_list) == len(small_list)
    assert len(big_manifest) == len(small_manifest)


def test_a_client_is_throttled_with_retry_after(api, batch, settings):
    from logistics.api.authentication import PerClientThrottle

    PerClientThrottle.THROTTLE_RATES = {"logistics": "3/min"}
    try:
        codes = [api.get("/api/v1/batches/").status_code for _ in range(4)]
        response = api.get("/api/v1/batches/")
    finally:
        PerClientThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]

    assert codes[:3] == [200, 200, 200]
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_the_command_prints_a_key_once_and_stores_only_its_hash(warehouse_a):
    out = StringIO()

    call_command("create_logistics_client", "中通县域", "--warehouse", warehouse_a.code, stdout=out)

    key = out.getvalue().strip().splitlines()[-1]
    client = LogisticsClient.objects.get(name="中通县域")
    stored = client.api_keys.get()
    assert key.startswith(stored.prefix + ".")
    assert key.split(".", 1)[1] not in stored.hashed_key
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/batches/").status_code == 200


def test_the_command_refuses_an_unknown_warehouse(db):
    from django.core.management import CommandError

    WarehouseFactory(code="KNOWN")
    with pytest.raises(CommandError, match="KNOWN"):
        call_command("create_logistics_client", "x", "--warehouse", "NOPE")


# --- webhooks ------------------------------------------------------------------------------


class Receiver(http.server.BaseHTTPRequestHandler):
    """A logistics company's endpoint, as it would verify our signature."""

    secret = "s3cret"
    answers: list[int] = []
    received: list[tuple[bool, dict]] = []

    def do_POST(self):  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        valid = webhooks.verify(self.secret, body, self.headers["X-Ruralshop-Signature"])
        Receiver.received.append((valid, json.loads(body)))
        code = Receiver.answers.pop(0) if Receiver.answers else 200
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.received, Receiver.answers = [], []
    yield f"http://127.0.0.1:{server.server_port}/hook"
    server.shutdown()


def test_a_planned_batch_is_announced_by_a_signed_webhook(
    client_key, receiver, warehouse_a, big_truck, confirm, station_a, django_capture_on_commit_callbacks
):
    WebhookEndpoint.objects.create(client=client_key[0], url=receiver, secret=Receiver.secret)
    confirm(station_a)

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        time_machine.travel(local(DAY, 16, 1), tick=False),
    ):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    delivery = WebhookDelivery.objects.get()
    assert callbacks  # sent after commit, by the task

    assert webhooks.deliver(delivery.pk) == webhooks.DELIVERED

    valid, body = Receiver.received[0]
    assert valid
    assert body["event"] == "batch.planned"
    assert body["batch"]["code"] == DeliveryBatch.objects.get().code
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_response_code) == ("delivered", 1, 200)


def test_a_delivery_whose_task_was_lost_is_queued_again(client_key, receiver, batch, monkeypatch):
    # given two pending deliveries never tried: one written 11 minutes ago (the broker was down at
    # commit, its task never queued), one a moment ago (its task may still be on its way)
    endpoint = WebhookEndpoint.objects.create(client=client_key[0], url=receiver, secret=Receiver.secret)
    lost, fresh = (
        WebhookDelivery.objects.create(endpoint=endpoint, event="batch.planned", payload={"event": "batch.planned"})
        for _ in range(2)
    )
    WebhookDelivery.objects.filter(pk=lost.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the re-queued task runs here, for real

    # when beat's re-queue task runs, twice
    queued = tasks.resend_stuck_webhooks.apply().get()
    again = tasks.resend_stuck_webhooks.apply().get()

    # then the lost one is delivered once, the fresh one is left to its own task
    assert (queued, again) == (1, 0)
    lost.refresh_from_db()
    fresh.refresh_from_db()
    assert (lost.status, lost.attempts) == ("delivered", 1)
    assert (fresh.status, fresh.attempts) == ("pending", 0)
    [(valid, body)] = Receiver.received
    assert valid and body["delivery"] == lost.pk


def test_a_failing_receiver_is_retried_then_marked_failed(client_key, receiver, batch):
    endpoint = WebhookEndpoint.objects.create(client=client_key[0], url=receiver, secret=Receiver.secret)
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="batch.planned", payload={"event": "batch.planned"}
    )
    Receiver.answers = [500, 503]

    outcomes = [webhooks.deliver(delivery.pk) for _ in range(3)]

    assert outcomes == [webhooks.RETRY, webhooks.RETRY, webhooks.DELIVERED]
    Receiver.answers = [500] * webhooks.MAX_ATTEMPTS
    dead = WebhookDelivery.objects.create(endpoint=endpoint, event="batch.planned", payload={})
    outcomes = [webhooks.deliver(dead.pk) for _ in range(webhooks.MAX_ATTEMPTS)]
    dead.refresh_from_db()
    assert outcomes[-1] == webhooks.FAILED
    assert (dead.status, dead.attempts, dead.last_response_code) == ("failed", webhooks.MAX_ATTEMPTS, 500)
    webhooks.resend(dead)
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == ("pending", 0)


def test_a_tampered_or_replayed_signature_is_refused():
    body = b'{"event":"batch.planned"}'
    header = webhooks.sign("s3cret", body, 1_700_000_000)

    assert webhooks.verify("s3cret", body, header, now=1_700_000_010)
    assert not webhooks.verify("s3cret", body + b" ", header, now=1_700_000_010)
    assert not webhooks.verify("other", body, header, now=1_700_000_010)
    assert not webhooks.verify("s3cret", body, header, now=1_700_000_000 + 3600)  # replayed an hour later


def test_deeply_nested_or_oversized_bodies_are_4xx(api, batch, settings):
    label = url("{label}", batch)

    nested = api.post(
        f"/api/v1/parcels/{label}/exception/", "[" * 50_000 + "]" * 50_000, content_type="application/json"
    )
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    huge = api.post(f"/api/v1/parcels/{label}/exception/", {"kind": "missing", "note": "x" * 20_000}, format="json")

    assert nested.status_code == 400
    assert huge.status_code == 413
