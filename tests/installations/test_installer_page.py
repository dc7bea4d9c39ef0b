"""The installer's phone page: the day's appointments in route order, each visit's steps, nobody else's."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation import override

from installations import services
from installations.models import Appointment, Installer
from orders import services as order_services
from orders.models import CommissionEntry, Order
from tests.factories import (
    ProductFactory,
    RouteFactory,
    RouteStopFactory,
    ServiceCenterFactory,
    StockFactory,
    UserFactory,
    VillagerFactory,
)
from tests.order_steps import arrive, depart

S = Order.Status


@pytest.fixture(autouse=True)
def english():
    with override("en"):
        yield


@pytest.fixture
def installer(station_a):
    return Installer.objects.create(
        county=station_a.village.county, name="张师傅", capacity=4, work_weekdays="1234567", user=UserFactory()
    )


@pytest.fixture
def installer_client(installer) -> Client:
    client = Client()
    client.force_login(installer.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def aircon(warehouse_a):
    product = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True)
    StockFactory(product=product, warehouse=warehouse_a, on_hand=20)
    return product


@pytest.fixture
def at_station(place_at_a, aircon, staff_a):
    """``at_station(villager, station=...)``: an installation order at its station, booked for the first free time."""
    keys = iter(range(100))

    def make(villager, *, day=None, half_day=None, station=None):
        order = place_at_a(
            (aircon, 1),
            key=f"k{next(keys)}",
            villager=villager,
            station=station or villager.service_center,
            placed_by=staff_a if station is None else None,
            delivery_method="home_installation",
        ).order
        order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=None)
        order_services.transition(order, to=S.BATCHED)
        arrive(order=depart(order=order), notify=False)
        slot = services.slots_for(order)[0]
        return services.book(order=order, day=day or slot.day, half_day=half_day or slot.half_day, actor=None)

    return make


def test_the_day_lists_the_installers_appointments_in_route_order_with_masked_names(
    installer_client, station_a, at_station, warehouse_a
):
    # A second station of the county, first on the route; station A second.
    near = ServiceCenterFactory(code="A-002", name="近村服务站", village__county=station_a.village.county)
    route = RouteFactory(warehouse=warehouse_a, code="R1")
    RouteStopFactory(route=route, service_center=near, sequence=1)
    RouteStopFactory(route=route, service_center=station_a, sequence=2)
    a_far = at_station(VillagerFactory(service_center=station_a, name="王大明", address="三组 1 号"))
    day = a_far.day
    a_near = at_station(
        VillagerFactory(service_center=near, name="李小红", address="一组 9 号"), day=day, half_day=a_far.half_day
    )

    page = installer_client.get(f"/installer/?day={day.isoformat()}")

    text = page.content.decode()
    assert page.status_code == 200
    assert text.index("一组 9 号") < text.index("三组 1 号")  # the route's first stop first
    assert "王大明" not in text and "李小红" not in text  # masked names only
    assert f"/installer/appointments/{a_far.pk}/" in text and f"/installer/appointments/{a_near.pk}/" in text
    assert "空调 1 匹" in text


def test_a_day_without_appointments_points_to_the_next_one(installer_client, at_station, villager_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    page = installer_client.get(f"/installer/?day={(booked.day - timedelta(days=1)).isoformat()}")
    assert "No appointments this day" in page.content.decode()
    assert f"?day={booked.day.isoformat()}" in page.content.decode()


def test_installed_through_the_page_with_the_code(installer_client, at_station, villager_a, installer):
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    url = f"/installer/appointments/{booked.pk}/"

    assert installer_client.post(url, {"step": "on_the_way"}).status_code == 302
    wrong = installer_client.post(url, {"step": "installed", "pickup_code": "999999"})
    assert wrong.status_code == 400 and "does not match" in wrong.content.decode()
    done = installer_client.post(url, {"step": "installed", "pickup_code": booked.order.pickup_code})

    assert done.status_code == 302 and done["Location"] == f"/installer/?day={booked.day.isoformat()}"
    assert Order.objects.get(pk=booked.order_id).status == S.COLLECTED
    assert CommissionEntry.objects.filter(order_id=booked.order_id, created_by=installer.user).count() == 1


def test_failed_through_the_page_asks_for_the_reason(installer_client, at_station, villager_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    url = f"/installer/appointments/{booked.pk}/"

    refused = installer_client.post(url, {"step": "failed", "then": "county"})
    assert refused.status_code == 400 and "Say why" in refused.content.decode()
    done = installer_client.post(url, {"step": "failed", "reason": "no_power", "then": "county", "note": "停电"})

    assert done.status_code == 302
    assert Appointment.objects.get(pk=booked.pk).fail_reason == "no_power"
    assert Order.objects.get(pk=booked.order_id).status == S.EXCEPTION


@pytest.mark.parametrize("data", [{}, {"step": "dance"}, {"step": "installed"}, {"step": "failed", "reason": "\x00"}])
def test_bad_input_is_a_400_and_changes_nothing(installer_client, at_station, villager_a, data):
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    answer = installer_client.post(f"/installer/appointments/{booked.pk}/", data)
    assert answer.status_code == 400
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.BOOKED


def test_another_installers_appointment_is_a_404(installer_client, at_station, villager_a, station_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    other = Installer.objects.create(county=station_a.village.county, name="李师傅", user=UserFactory())
    Appointment.objects.filter(pk=booked.pk).update(installer=other)

    assert installer_client.get(f"/installer/appointments/{booked.pk}/").status_code == 404
    assert installer_client.post(f"/installer/appointments/{booked.pk}/", {"step": "on_the_way"}).status_code == 404
    assert Appointment.objects.get(pk=booked.pk).status == Appointment.Status.BOOKED


def test_the_installer_page_is_nobody_elses(client_a, county_manager):
    assert client_a.get("/installer/").status_code == 404
    manager = Client()
    manager.force_login(county_manager)
    assert manager.get("/installer/").status_code == 404


def test_an_installers_home_is_the_day(installer_client):
    home = installer_client.get("/")
    assert home.status_code == 302 and home["Location"] == "/installer/"


def test_the_station_no_longer_hands_an_installation_over_but_points_to_the_appointment(
    client_a, at_station, villager_a, installer
):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    page = client_a.get(f"/orders/{booked.order.number}/").content.decode()
    assert "the installer installs it" in page
    assert f'action="/orders/{booked.order.number}/hand-over/"' not in page


def test_the_station_sees_what_to_book_and_what_is_ahead(client_a, at_station, villager_a, installer):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    villager_a.address = "三组 12 号"
    villager_a.save()
    booked = at_station(villager_a)
    assert client_a.get("/installations/tile/").content.decode().strip() == ""  # nothing to book

    services.failed(appointment=booked, actor=installer.user, reason="nobody_home", then="rebook")

    tile = client_a.get("/installations/tile/").content.decode()
    assert "1" in tile and 'href="/installations/"' in tile
    page = client_a.get("/installations/").content.decode()
    assert f"/orders/{booked.order.number}/installation/" in page and "王建国" in page


def test_the_tile_counts_the_orders_to_book_with_one_count_query(client_a, at_station, station_a, installer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # given: two failed visits to book again, and one order still booked
    villagers = [VillagerFactory(service_center=station_a, name=f"村民{i}", address=f"{i} 组") for i in range(3)]
    appointments = [at_station(villager) for villager in villagers]
    for appointment in appointments[:2]:
        services.failed(appointment=appointment, actor=installer.user, reason="nobody_home", then="rebook")
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    # when
    with CaptureQueriesContext(connection) as queries:
        tile = client_a.get("/installations/tile/").content.decode()

    # then: the figure is the list's length, counted by the database (no order row is read)
    assert len(services.waiting_for_a_time(station_a)) == services.how_many_wait_for_a_time(station_a) == 2
    assert "<strong>2</strong>" in tile and "installations to book a time for" in tile
    orders = [q["sql"] for q in queries.captured_queries if '"orders_order"' in q["sql"]]
    assert len(orders) == 1 and "COUNT(" in orders[0], orders


def test_the_days_page_costs_the_same_queries_for_one_appointment_or_four(installer_client, at_station, station_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    villagers = [VillagerFactory(service_center=station_a, name=f"村民{i}", address=f"{i} 组") for i in range(4)]
    first = at_station(villagers[0])
    day = first.day.isoformat()
    with CaptureQueriesContext(connection) as one:
        assert installer_client.get(f"/installer/?day={day}").status_code == 200
    for villager in villagers[1:]:
        at_station(villager, day=first.day, half_day="pm" if villager.pk % 2 else "am")
    with CaptureQueriesContext(connection) as four:
        page = installer_client.get(f"/installer/?day={day}")
    assert page.content.decode().count("/installer/appointments/") == 4
    assert len(four) == len(one), [q["sql"] for q in four.captured_queries]
