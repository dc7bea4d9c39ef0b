"""The county workspace (issue #12, item 9): a county manager's home, the county's day and what waits for them."""

from datetime import date, time
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, Parcel, UnplannedOrder
from orders import services
from orders.models import CommissionStatement, Order
from tests.factories import (
    CountyManagerFactory,
    ProductFactory,
    RouteFactory,
    RouteStopFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    StockFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
    WarehouseFactory,
)
from tests.logistics.conftest import DAY, local

EN = {"django_language": "en"}
D, A = CommissionStatement.Status.DRAFT, CommissionStatement.Status.APPROVED


class County:
    """A county with a warehouse, one route through its stations and a truck; ``add_station`` gives a station its day."""

    def __init__(self, code: str):
        self.first = ServiceCenterFactory(code=f"{code}-001")
        self.county = self.first.village.county
        self.warehouse = WarehouseFactory(county=self.county, code=f"WH-{code}")
        self.product = ProductFactory(price=Decimal("100.00"))
        StockFactory(product=self.product, warehouse=self.warehouse, on_hand=10_000)
        self.route = RouteFactory(warehouse=self.warehouse, code=f"{code}-R1", cutoff_time=time(16, 0))
        self.route.vehicles.add(
            VehicleFactory(warehouse=self.warehouse, capacity_kg=Decimal("9000"), capacity_m3=Decimal("90"))
        )
        self.stations = []
        self.keys = iter(range(10_000))
        self.code = code

    def add_station(self):
        station = self.first if not self.stations else ServiceCenterFactory(village__county=self.county)
        staff = StationStaffFactory(service_center=station).user
        villager = VillagerFactory(service_center=station)
        RouteStopFactory(route=self.route, service_center=station, sequence=len(self.stations) + 1)
        self.stations.append((station, staff, villager))
        return station

    def place(self, station, staff, villager) -> Order:
        return services.place_order(
            station=station,
            villager=villager,
            placed_by=staff,
            lines=[services.LineRequest(self.product.sku, 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=f"{self.code}-{next(self.keys)}",
            notify=False,
        ).order

    def run_the_day(self):
        """Per station: one order planned and (but at the last stop) delivered, one placed, one confirmed too late.

        The truck is still on the road to the last station; the parcels delivered are overdue.
        """
        with time_machine.travel(local(DAY, 9), tick=False):
            for station, staff, villager in self.stations:
                services.confirm_payment(
                    order=(placed := self.place(station, staff, villager)),
                    consent_code=placed.consent_code,
                    actor=staff,
                )
        with time_machine.travel(local(DAY, 16, 1), tick=False):
            dispatch.plan_dispatch(warehouse=self.warehouse, dispatch_date=DAY)
            batch = dispatch.depart_batch(batch=DeliveryBatch.objects.get(warehouse=self.warehouse))
            for stop in BatchStop.objects.filter(batch=batch).order_by("sequence")[: len(self.stations) - 1]:
                dispatch.arrive_at_stop(batch=batch, sequence=stop.sequence)
                dispatch.receive_stop(stop=stop, actor=None, notify=False)
            Parcel.objects.filter(batch_stop__batch=batch, status=Parcel.Status.DELIVERED).update(overdue_since=DAY)
        with time_machine.travel(local(DAY, 17), tick=False):
            for station, staff, villager in self.stations:
                self.place(station, staff, villager)
                services.confirm_payment(
                    order=(placed := self.place(station, staff, villager)),
                    consent_code=placed.consent_code,
                    actor=staff,
                )
            dispatch.plan_dispatch(warehouse=self.warehouse, dispatch_date=DAY)  # after the cutoff: left out
        for station, _staff, _villager in self.stations:
            CommissionStatement.objects.create(service_center=station, month=date(2026, 8, 1), total=Decimal("10.00"))
            CommissionStatement.objects.create(
                service_center=station, month=date(2026, 9, 1), total=Decimal("20.00"), status=A
            )
            CommissionStatement.objects.create(service_center=station, month=date(2026, 10, 1), total=Decimal("-5.00"))
            CommissionStatement.objects.create(service_center=station, month=date(2026, 7, 1), total=Decimal("0.00"))


@pytest.fixture
def county_a(db):
    county = County("A")
    county.add_station()
    county.add_station()
    county.run_the_day()
    return county


@pytest.fixture
def manager_a(county_a):
    return CountyManagerFactory(user=UserFactory(username="carol", is_staff=True), county=county_a.county).user


@pytest.fixture
def manager_client(client, manager_a):
    client.force_login(manager_a)
    client.cookies.load(EN)
    return client


def workspace(client):
    with time_machine.travel(local(DAY, 18), tick=False):
        return client.get("/county/")


# --- landing ----------------------------------------------------------------------------------------


def test_a_county_manager_lands_on_the_county_workspace(manager_client):
    with time_machine.travel(local(DAY, 18), tick=False):
        response = manager_client.get("/", follow=True)

    assert response.redirect_chain == [("/county/", 302)]
    assert [t.name for t in response.templates][0] == "county/workspace.html"
    body = response.content.decode()
    assert "not linked to a station" not in body


def test_an_admin_without_a_station_lands_on_the_workspace_too(client, county_a, admin_user):
    client.force_login(admin_user)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/county/"


def test_station_staff_still_land_on_their_dashboard(client, county_a):
    _station, staff, _villager = county_a.stations[0]
    client.force_login(staff)

    response = client.get("/")

    assert response.status_code == 200
    assert "orders/dashboard.html" in [t.name for t in response.templates]


def test_someone_with_no_station_and_no_county_still_sees_the_no_station_page(client, db):
    client.force_login(UserFactory(username="nobody"))

    response = client.get("/")

    assert response.status_code == 403
    assert "partners/no_station.html" in [t.name for t in response.templates]


def test_on_a_station_page_a_county_manager_is_pointed_to_the_workspace(manager_client):
    response = manager_client.get("/orders/")

    assert response.status_code == 403
    assert 'href="/county/"' in response.content.decode()


# --- the header ----------------------------------------------------------------------------------------


def test_the_header_of_a_county_manager_leads_to_the_workspace_dispatch_and_statements(manager_client, county_a):
    header = workspace(manager_client).content.decode().split("</header>")[0]

    assert 'href="/county/" aria-current="page"' in header
    assert 'href="/county/dispatch/"' in header
    assert 'href="/county/commissions/"' in header
    assert 'href="/admin/"' in header  # the demo's county manager is staff
    assert 'href="/orders/new/"' not in header
    assert county_a.county.name in header


def test_a_county_manager_who_is_not_staff_has_no_admin_link(client, county_a):
    user = CountyManagerFactory(user=UserFactory(username="erin"), county=county_a.county).user
    client.force_login(user)

    header = workspace(client).content.decode().split("</header>")[0]

    assert 'href="/admin/"' not in header
    assert 'href="/county/dispatch/"' in header


# --- the county's numbers ----------------------------------------------------------------------------------


def test_the_workspace_shows_the_countys_day(manager_client, county_a):
    response = workspace(manager_client)

    figures = response.context["figures"]
    assert figures["placed_today"] == 6  # 3 a station: delivered, placed, confirmed late
    assert figures["placed_today_value"] == Decimal("600.00")
    assert figures["waiting_for_dispatch"] == 2
    assert figures["batches_today"] == 1
    assert figures["in_transit"] == 1  # still on its way to the second station
    assert figures["at_stations"] == 1
    assert figures["overdue_parcels"] == 1
    reasons = response.context["unplanned"]
    assert sum(count for _label, count in reasons) == UnplannedOrder.objects.count() == 2
    decisions = response.context["decisions"]
    assert (decisions["to_approve"], decisions["to_approve_total"]) == (2, Decimal("20.00"))
    assert (decisions["to_pay"], decisions["to_pay_total"]) == (2, Decimal("40.00"))
    assert decisions["below_zero"] == 2
    body = response.content.decode()
    assert "Dispatch board" in body
    for statement in decisions["approve_list"]:
        assert f'href="/county/statements/{statement.pk}/approve/?next=county-home"' in body
    for statement in decisions["pay_list"]:
        assert f'href="/county/statements/{statement.pk}/paid/?next=county-home"' in body
    for statement in decisions["below_zero_list"]:
        assert f"/county/statements/{statement.pk}/" not in body  # nothing to press: it carries forward
    assert "carries forward" in body


def test_the_workspace_shows_only_the_managers_counties(client, county_a):
    other = County("B")
    other.add_station()
    manager_b = CountyManagerFactory(user=UserFactory(username="dave"), county=other.county).user
    client.force_login(manager_b)

    response = workspace(client)

    figures = response.context["figures"]
    assert figures["placed_today"] == figures["waiting_for_dispatch"] == figures["overdue_parcels"] == 0
    assert response.context["decisions"]["to_approve"] == 0
    body = response.content.decode()
    for station, _staff, _villager in county_a.stations:
        assert station.name not in body


def test_station_staff_do_not_see_the_workspace(client, county_a):
    client.force_login(county_a.stations[0][1])

    assert client.get("/county/").status_code == 404


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert workspace(client).status_code == 200
    return len(queries)


def test_the_workspace_costs_the_same_queries_for_2_stations_or_6(manager_client, manager_a, county_a):
    # session, user, the counties managed; the orders' figures, the batches', the overdue parcels;
    # the unplanned reasons; the statements' counts and the first few of each of the 3 lists;
    # the goods coming back (one aggregate); the stations' cash (stations, drawers, remittances, closes, pay on
    # pickup open, closes far off: 6); the review's tile (flagged orders, call-backs due: 2); the promise's tile
    # (open orders with their runs, holidays: 2); the session saved (savepoint, update, release:
    # SESSION_SAVE_EVERY_REQUEST)
    expected = 25
    assert count_queries(manager_client) == expected

    more = County("C")  # another county's day on the same database, and 4 more stations with theirs
    for _ in range(4):
        more.add_station()
    more.run_the_day()
    CountyManagerFactory(user=manager_a, county=more.county)

    assert count_queries(manager_client) == expected
    assert workspace(manager_client).context["figures"]["placed_today"] == 6 + 12
