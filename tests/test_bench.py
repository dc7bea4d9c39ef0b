"""The dispatch phase of ``make bench`` (bench/run.py) at a small n: its county's day with produce lots ready
plans them onto the return legs, and what it reports is what the database holds.  PostgreSQL only (the bench
inserts its rows by set-based SQL)."""

import os
from decimal import Decimal

import pytest
from django.db import connection

from logistics.models import Pickup
from produce.models import ProduceLot
from tests.factories import (
    RouteFactory,
    RouteStopFactory,
    ServiceCenterFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
)

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench's SQL is PostgreSQL's"),
]


@pytest.fixture
def run():
    """bench.run, imported as the bench does (its environment defaults put back afterwards)."""
    saved = dict(os.environ)
    try:
        from bench import run
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return run


@pytest.fixture
def county(station_a, warehouse_a):
    """Two stations with a villager each on one route of two 1 t trucks; the ``partner`` user the bench acts as."""
    UserFactory(username="partner")
    station_a2 = ServiceCenterFactory(code="A-002", village__county=station_a.village.county)
    route = RouteFactory(warehouse=warehouse_a, code="WH-A-R1")
    for n, station in enumerate([station_a2, station_a], start=1):
        VillagerFactory(service_center=station)
        RouteStopFactory(route=route, service_center=station, sequence=n)
    for plate in ("浙A-B01", "浙A-B02"):
        route.vehicles.add(
            VehicleFactory(warehouse=warehouse_a, plate=plate, capacity_kg=Decimal("1000"), capacity_m3=Decimal("8"))
        )
    return warehouse_a, [station_a2.pk, station_a.pk]


def test_the_county_day_with_lots_plans_them_onto_the_return_legs(run, county):
    warehouse, stations = county

    day = run._county_day(warehouse, stations, 40, 0, n_lots=80, count=True)

    assert day["planned"] == 40 and day["batches"] == 2  # 1,020 kg out on two 1 t trucks: about 1 t of room back
    assert day["lots"] == 80 and day["lots_perishable"] == 40  # two perishable kinds of four
    assert day["lots_loaded"] > 0 and day["lots_no_room"] > 0  # about 1.4 t of produce: some ride, some wait
    assert day["lots_loaded"] + day["lots_no_room"] == 80
    assert day["lots_loaded"] == Pickup.objects.exclude(lot_number="").count()
    on_runs = ProduceLot.objects.filter(number__in=Pickup.objects.values("lot_number"))
    assert on_runs.filter(kind__perishable=True).count() == day["lots_loaded_perishable"]
    assert day["lots_no_room_perishable"] <= day["lots_no_room"]
    assert day["queries"] > 0


def test_the_next_county_day_clears_the_lots_an_earlier_one_left(run, county):
    warehouse, stations = county
    run._county_day(warehouse, stations, 40, 0, n_lots=80, count=True)

    fewer = run._county_day(warehouse, stations, 40, 0, n_lots=6, count=True)

    assert fewer["lots"] == 6 and ProduceLot.objects.count() == 6  # the first day's left with their pickups
    assert fewer["lots_loaded"] == 6 == Pickup.objects.exclude(lot_number="").count()
