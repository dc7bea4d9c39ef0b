"""A run's manifest (the logistics API's and the county's page) gives an installation stop its live appointment,
and the cached manifest follows the booking and the visit."""

import pytest
import time_machine
from django.core.cache import cache
from django.utils.translation import override
from rest_framework.test import APIClient

from installations import services
from installations.models import Appointment, Installer
from logistics import services as dispatch
from logistics.api.serializers import ManifestOutputSerializer
from logistics.clients import create_client
from logistics.models import DeliveryBatch
from orders import services as order_services
from orders.models import Order
from tests.factories import ProductFactory, StockFactory, VillagerFactory
from tests.logistics.conftest import DAY, big_truck, local, route, station_a2  # noqa: F401 - fixtures

INSTALL = Order.DeliveryMethod.HOME_INSTALLATION


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def api(warehouse_a):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {create_client(name='物流', warehouse_codes=[warehouse_a.code])[1]}")
    api.get("/api/v1/batches/")  # the first request of the minute also records the key's last use
    return api


@pytest.fixture
def planned(route, big_truck, warehouse_a, station_a, staff_a):  # noqa: F811 - fixtures
    """DAY's run to station A with two installation orders, the first booked, and a home delivery."""
    Installer.objects.create(county=station_a.village.county, name="李师傅", capacity=4, work_weekdays="1234567")
    aircon = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True)
    StockFactory(product=aircon, warehouse=warehouse_a, on_hand=10)
    orders = []
    with time_machine.travel(local(DAY, 9), tick=False):
        for n, method in enumerate([INSTALL, INSTALL, Order.DeliveryMethod.HOME_DELIVERY]):
            villager = VillagerFactory(service_center=station_a, name=f"王{n}号", address=f"{n + 1} 组")
            order = order_services.place_order(
                station=station_a,
                villager=villager,
                placed_by=staff_a,
                lines=[order_services.LineRequest(aircon.sku, 1)],
                delivery_method=method,
                payment_method="cash_at_station",
                idempotency_key=f"m-{n}",
                notify=False,
            ).order
            orders.append(order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a))
        slot = services.slots_for(orders[0])[0]
        booked = services.book(order=orders[0], day=slot.day, half_day=slot.half_day, actor=staff_a)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    return DeliveryBatch.objects.get(), booked, orders


def homes_of(body: dict) -> dict[str, dict]:
    """The home deliveries of a manifest's JSON, by order number."""
    return {p["order"]: p for stop in body["stops"] for p in stop["home_deliveries"]}


def manifest(api, batch) -> dict:
    response = api.get(f"/api/v1/batches/{batch.code}/")
    assert response.status_code == 200
    return response.json()


def test_the_api_manifest_gives_an_installation_stop_its_live_appointment(api, planned):
    batch, booked, (installing, unbooked, home) = planned

    body = manifest(api, batch)

    homes = homes_of(body)
    assert homes[installing.number]["appointment"] == {"day": booked.day.isoformat(), "half_day": booked.half_day}
    assert homes[unbooked.number]["appointment"] is None  # no time booked yet
    assert homes[home.number]["appointment"] is None  # a home delivery has none
    assert all("appointment" not in p for stop in body["stops"] for p in stop["parcels"])
    # the same JSON as the serializers (the schema)
    fresh = DeliveryBatch.objects.select_related("warehouse", "route", "vehicle").get(pk=batch.pk)
    assert body == ManifestOutputSerializer(fresh).data


def test_the_cached_manifest_follows_the_booking_and_the_visit(api, planned, staff_a):
    batch, booked, (installing, unbooked, _home) = planned
    manifest(api, batch)  # cached now

    # booked, and booked again for another time
    with time_machine.travel(local(DAY, 17), tick=False):
        slots = services.slots_for(unbooked)
        services.book(order=unbooked, day=slots[0].day, half_day=slots[0].half_day, actor=staff_a)
        later = services.book(order=installing, day=slots[-1].day, half_day=slots[-1].half_day, actor=staff_a)
    homes = homes_of(manifest(api, batch))
    assert homes[unbooked.number]["appointment"] == {"day": slots[0].day.isoformat(), "half_day": slots[0].half_day}
    assert homes[installing.number]["appointment"] == {"day": later.day.isoformat(), "half_day": later.half_day}

    # the goods at the station, the visit fails: no live appointment
    dispatch.depart_batch(batch=batch)
    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, notify=False)
    services.failed(appointment=later, actor=None, reason="nobody_home", then="rebook")
    assert homes_of(manifest(api, batch))[installing.number]["appointment"] is None

    # the order going back with its appointment live: given up
    order_services.transition(Order.objects.get(pk=unbooked.pk), to=Order.Status.GOING_BACK, actor=staff_a)
    assert Appointment.objects.get(order=unbooked).status == Appointment.Status.CANCELLED
    assert homes_of(manifest(api, batch))[unbooked.number]["appointment"] is None


def test_the_appointments_cost_the_manifest_one_query_for_the_whole_batch(api, planned, django_assert_num_queries):
    batch, *_ = planned
    # 1. the key with its client, 2. the batch row, 3. the stops, 4. the parcels, 5. the pickups,
    # 6. the live appointments of the batch's installation orders (none without any: tests/logistics pins 5)
    with django_assert_num_queries(6):
        manifest(api, batch)
    with django_assert_num_queries(2):  # cached
        manifest(api, batch)


def test_the_county_manifest_page_shows_the_appointment(client, county_manager, planned):
    batch, booked, (installing, unbooked, _home) = planned
    client.force_login(county_manager)
    client.cookies["django_language"] = "en"

    page = client.get(f"/county/batches/{batch.code}/manifest/").content.decode()

    with override("en"):
        half_day = str(Appointment.HalfDay(booked.half_day).label)
    assert f"Appointment: {booked.day:%Y-%m-%d} {half_day}" in page
    assert page.count("Appointment:") == 1  # the unbooked installation and the home delivery have none
