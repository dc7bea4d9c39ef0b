"""The installation steps over the logistics API: a company's technicians' day, on the way, installed with the
villager's pickup code, failed; another client's and the county's installers' appointments are 404s."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.utils.translation import override
from hypothesis import HealthCheck, given, settings
from rest_framework.test import APIClient

from installations import services
from installations.models import Appointment, Installer
from logistics.clients import create_client
from orders import services as order_services
from orders.models import CommissionEntry, Order
from ruralshop.wsgi import application
from tests.factories import ProductFactory, StockFactory, UserFactory, VillagerFactory
from tests.order_steps import arrive, depart

S = Order.Status
SHANGHAI = ZoneInfo("Asia/Shanghai")
LIST = "/api/v1/installations/"


@pytest.fixture(autouse=True)
def english():
    with override("en"):
        yield


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()


@pytest.fixture
def client_key(warehouse_a):
    return create_client(name="顺丰县域", warehouse_codes=[warehouse_a.code])


def api_for(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    api.cookies["django_language"] = "en"  # refusals are matched on their English text
    return api


@pytest.fixture
def api(client_key):
    return api_for(client_key[1])


@pytest.fixture
def technician(station_a, client_key):
    """The company's technician, the county's only installer: every booking goes to him."""
    return Installer.objects.create(
        county=station_a.village.county, name="李师傅", capacity=4, work_weekdays="1234567", client=client_key[0]
    )


@pytest.fixture
def aircon(warehouse_a):
    product = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True, price="2000.00")
    StockFactory(product=product, warehouse=warehouse_a, on_hand=10)
    return product


@pytest.fixture
def on_its_way(place_at_a, aircon, staff_a):
    """on_its_way(villager) places an installation order paid at the station, its run on the way."""
    keys = iter(range(100))

    def make(villager) -> Order:
        order = place_at_a(
            (aircon, 1),
            key=f"i-{next(keys)}",
            villager=villager,
            delivery_method=Order.DeliveryMethod.HOME_INSTALLATION,
        ).order
        order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
        order_services.transition(order, to=S.BATCHED, actor=staff_a)
        return depart(order=order, actor=staff_a)

    return make


@pytest.fixture
def villager(villager_a):
    villager_a.name, villager_a.address = "王建国", "三组 12 号"
    villager_a.save()
    return villager_a


@pytest.fixture
def booked(on_its_way, villager, technician, staff_a) -> Appointment:
    order = on_its_way(villager)
    slot = services.slots_for(order)[0]
    appointment = services.book(order=order, day=slot.day, half_day=slot.half_day, actor=staff_a)
    assert appointment.installer == technician
    return appointment


@pytest.fixture
def at_home(booked, staff_a) -> Appointment:
    """The goods reached the station: the technician may set out."""
    arrive(order=booked.order, actor=staff_a, notify=False)
    return booked


def steps(appointment: Appointment) -> dict[str, tuple[str, dict]]:
    base = f"{LIST}{appointment.pk}"
    return {
        "on-the-way": (f"{base}/on-the-way/", {}),
        "installed": (f"{base}/installed/", {"pickup_code": appointment.order.pickup_code}),
        "failed": (f"{base}/failed/", {"reason": "nobody_home", "note": "", "then": "rebook"}),
    }


def day_of(api, day) -> list[dict]:
    response = api.get(LIST, {"day": day.isoformat()})
    assert response.status_code == 200
    assert response.json()["day"] == day.isoformat()
    return response.json()["results"]


# --- the day's list -----------------------------------------------------------------------------


def test_the_list_shows_the_day_of_the_clients_own_technicians_with_names_masked(
    api, booked, on_its_way, station_a, warehouse_a, staff_a
):
    # given, the same day: an appointment of another company's technician, one of a county installer with a
    # login, and one of the client's own that was rebooked (cancelled)
    county = station_a.village.county
    others = [
        Installer.objects.create(
            county=county, name="别家师傅", client=create_client(name="另一家", warehouse_codes=[])[0]
        ),
        Installer.objects.create(county=county, name="县里师傅", user=UserFactory()),
    ]
    for installer in others:
        order = on_its_way(VillagerFactory(service_center=station_a, name="赵秘密", address="五组"))
        Appointment.objects.create(order=order, installer=installer, day=booked.day, half_day="am")
    rebooked = on_its_way(VillagerFactory(service_center=station_a, name="钱秘密", address="六组"))
    Appointment.objects.create(
        order=rebooked, installer=booked.installer, day=booked.day, half_day="pm", status=Appointment.Status.CANCELLED
    )

    # when
    results = day_of(api, booked.day)

    # then
    order = booked.order
    assert results == [
        {
            "id": booked.pk,
            "order": order.number,
            "station": station_a.code,
            "installer": "李师傅",
            "day": booked.day.isoformat(),
            "half_day": booked.half_day,
            "status": "booked",
            "villager": "王**",
            "address": "三组 12 号",
            "products": [{"name": "空调 1 匹", "quantity": 1}],
            "fail_reason": "",
        }
    ]
    body = api.get(LIST, {"day": booked.day.isoformat()}).content.decode()
    assert "王建国" not in body and "秘密" not in body and "13812345678" not in body


def test_the_day_is_today_unless_asked_and_the_list_is_in_route_order(api, booked, on_its_way, station_a, staff_a):
    # given a second appointment of the technician the same day, in the morning, at a later address
    later = on_its_way(VillagerFactory(service_center=station_a, name="孙二", address="九组"))
    morning = Appointment.objects.create(order=later, installer=booked.installer, day=booked.day, half_day="am")
    Appointment.objects.filter(pk=booked.pk).update(half_day="pm")

    # then, on its day: the morning first; the day after: nothing
    assert [a["id"] for a in day_of(api, booked.day)] == [morning.pk, booked.pk]
    assert day_of(api, booked.day + timedelta(days=1)) == []
    with time_machine.travel(datetime.combine(booked.day, time(8), tzinfo=SHANGHAI), tick=False):
        today = api.get(LIST).json()
        blank = api.get(LIST, {"day": ""}).json()
    assert today["day"] == blank["day"] == booked.day.isoformat()
    assert [a["id"] for a in today["results"]] == [morning.pk, booked.pk]


@pytest.mark.parametrize(
    "day", ["tomorrow", "2026-02-30", "2026-11-24T10:00", "24/11/2026", "2026-11-24\x00", "9" * 50]
)
def test_a_day_that_cannot_be_read_is_a_400_that_names_it(api, technician, day):
    response = api.get(LIST, {"day": day})

    assert response.status_code == 400
    assert "day" in response.json()


def test_the_list_costs_three_queries_however_many_appointments(
    api, booked, on_its_way, station_a, django_assert_num_queries
):
    api.get(LIST)  # the first request of the minute also records the key's last use
    # 1. the key with its client, 2. the appointments with their orders, stations and villagers, 3. the lines
    with django_assert_num_queries(3):
        assert len(day_of(api, booked.day)) == 1
    for n in range(3):
        order = on_its_way(VillagerFactory(service_center=station_a, name=f"村民{n}", address=f"{n} 组"))
        Appointment.objects.create(order=order, installer=booked.installer, day=booked.day, half_day="pm")
    with django_assert_num_queries(3):
        assert len(day_of(api, booked.day)) == 4


# --- the steps ----------------------------------------------------------------------------------


def test_on_the_way_then_installed_with_the_code_hands_the_order_over(api, at_home):
    order = at_home.order
    urls = steps(at_home)

    on_the_way = api.post(urls["on-the-way"][0], format="json")
    installed = api.post(urls["installed"][0], {"pickup_code": order.pickup_code}, format="json")

    assert on_the_way.status_code == 200 and on_the_way.json()["status"] == "on_the_way"
    assert installed.status_code == 200
    assert installed.json() == {**on_the_way.json(), "status": "installed"}
    order.refresh_from_db()
    assert order.status == S.COLLECTED
    accrual = CommissionEntry.objects.get(order=order)
    assert (accrual.kind, accrual.created_by) == ("accrual", None)  # actor: the API, no user


def test_a_wrong_pickup_code_is_a_409_with_the_reason_and_changes_nothing(api, at_home):
    response = api.post(steps(at_home)["installed"][0], {"pickup_code": "000000x"}, format="json")

    assert response.status_code == 409
    assert response.json() == {"detail": "The pickup code does not match this order."}
    at_home.refresh_from_db()
    assert at_home.status == Appointment.Status.BOOKED
    assert Order.objects.get(pk=at_home.order_id).status == S.AT_STATION


@pytest.mark.parametrize("step", ["on-the-way", "installed", "failed"])
def test_no_step_before_the_goods_are_at_the_station_a_409_that_says_so(api, booked, step):
    url, body = steps(booked)[step]

    response = api.post(url, body, format="json")

    assert response.status_code == 409
    assert "The goods are not at the station" in response.json()["detail"]
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_a_step_of_an_appointment_that_is_over_is_a_409(api, at_home):
    url, body = steps(at_home)["on-the-way"]
    assert api.post(url, body, format="json").status_code == 200

    again = api.post(url, body, format="json")

    assert again.status_code == 409
    assert again.json() == {"detail": "The installer is on the way already."}


def test_a_failed_visit_to_book_again_or_for_the_county(api, at_home, on_its_way, villager, staff_a):
    url = steps(at_home)["failed"][0]

    rebook = api.post(url, {"reason": "nobody_home", "note": "电话没人接", "then": "rebook"}, format="json")

    assert rebook.status_code == 200
    assert (rebook.json()["status"], rebook.json()["fail_reason"]) == ("failed", "nobody_home")
    at_home.refresh_from_db()
    assert at_home.note == "电话没人接"
    assert Order.objects.get(pk=at_home.order_id).status == S.AT_STATION

    # the station books again; this time the county decides
    order = Order.objects.get(pk=at_home.order_id)
    slot = services.slots_for(order)[0]
    again = services.book(order=order, day=slot.day, half_day=slot.half_day, actor=staff_a)
    county = api.post(steps(again)["failed"][0], {"reason": "wrong_part", "then": "county"}, format="json")

    assert county.status_code == 200 and county.json()["fail_reason"] == "wrong_part"
    assert Order.objects.get(pk=order.pk).status == S.EXCEPTION


@pytest.mark.parametrize(
    ("step", "body"),
    [
        ("installed", {}),
        ("installed", {"pickup_code": ""}),
        ("installed", {"pickup_code": "1" * 21}),
        ("installed", {"pickup_code": "12\x0034"}),
        ("installed", ["1234"]),
        ("failed", {"then": "rebook"}),
        ("failed", {"reason": "bored", "then": "rebook"}),
        ("failed", {"reason": "nobody_home"}),
        ("failed", {"reason": "nobody_home", "then": "later"}),
        ("failed", {"reason": "nobody_home", "then": "rebook", "note": "x" * 301}),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_and_changes_nothing(api, at_home, step, body):
    response = api.post(steps(at_home)[step][0], body, format="json")

    assert response.status_code == 400
    at_home.refresh_from_db()
    assert at_home.status == Appointment.Status.BOOKED


# --- scoping and keys ----------------------------------------------------------------------------


@pytest.fixture
def county_installers_appointment(on_its_way, station_a, staff_a) -> Appointment:
    """An appointment of the county's own installer (a login, no company), the goods at the station."""
    order = on_its_way(VillagerFactory(service_center=station_a, name="周秘密", address="七组"))
    installer = Installer.objects.create(county=station_a.village.county, name="县里师傅", user=UserFactory())
    arrive(order=order, actor=staff_a, notify=False)
    return Appointment.objects.create(order=order, installer=installer, day=order.created_at.date(), half_day="am")


@pytest.mark.parametrize("step", ["on-the-way", "installed", "failed"])
def test_another_clients_or_a_county_installers_appointment_is_a_404_and_unchanged(
    at_home, county_installers_appointment, warehouse_a, step
):
    # given another company serving the same warehouse, with a technician of its own
    other_client, other_key = create_client(name="另一家物流", warehouse_codes=[warehouse_a.code])
    Installer.objects.create(county=at_home.installer.county, name="别家师傅", client=other_client)
    other = api_for(other_key)

    for appointment, api in ((at_home, other), (county_installers_appointment, other)):
        url, body = steps(appointment)[step]
        response = api.post(url, body, format="json")

        assert response.status_code == 404
        assert response.json() == {"detail": "No such appointment of your technicians"}
        appointment.refresh_from_db()
        assert appointment.status == Appointment.Status.BOOKED
    assert day_of(other, at_home.day) == []


@pytest.mark.parametrize("step", ["on-the-way", "installed", "failed"])
def test_a_county_installers_appointment_is_a_404_even_to_the_client_of_its_warehouse(
    api, technician, county_installers_appointment, step
):
    url, body = steps(county_installers_appointment)[step]

    assert api.post(url, body, format="json").status_code == 404
    county_installers_appointment.refresh_from_db()
    assert county_installers_appointment.status == Appointment.Status.BOOKED


@pytest.mark.parametrize("pk", ["0", "-1", "9" * 19, "9" * 5000])
def test_an_id_that_names_no_appointment_is_the_apis_404(api, technician, pk):
    response = api.post(f"{LIST}{pk}/on-the-way/", format="json")

    assert response.status_code == 404
    assert response.json() == {"detail": "No such appointment of your technicians"}


@pytest.mark.parametrize("step", [None, "on-the-way", "installed", "failed"])
def test_every_endpoint_needs_a_valid_key(at_home, step):
    anonymous, wrong = APIClient(), api_for("nope.nothing")
    url, body = (LIST, {}) if step is None else steps(at_home)[step]
    method = "get" if step is None else "post"

    for api in (anonymous, wrong):
        assert getattr(api, method)(url, body, format="json").status_code == 401
    at_home.refresh_from_db()
    assert at_home.status == Appointment.Status.BOOKED


def test_a_session_is_no_key(client, staff_a, at_home):
    client.force_login(staff_a)

    assert client.get(LIST).status_code == 401
    assert client.post(steps(at_home)["on-the-way"][0]).status_code == 401


# --- the contract ----------------------------------------------------------------------------------


@pytest.fixture
def api_schema(db):
    # As in tests/logistics/test_contract.py: the WSGI app called directly would close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_installations_api_keeps_its_contract(api_schema, client_key, at_home, booked):
    """schemathesis' default checks on every installations operation, with an appointment to find."""
    headers = {"Authorization": f"Token {client_key[1]}"}
    operations = [
        result.ok() for result in api_schema.include(path_regex=r"^/api/v1/installations").get_all_operations()
    ]
    assert len(operations) == 4

    for operation in operations:

        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def holds(case):
            cache.clear()  # the per-client throttle is in the contract, but not what this test is about
            case.call_and_validate(headers=headers)

        holds()
