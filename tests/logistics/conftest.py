"""A county with one route through stations A and A2, two trucks, and confirmed orders ready for dispatch."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from catalog.models import Stock
from logistics import services as dispatch
from logistics.models import DeliveryBatch
from orders import services
from orders.models import Order
from tests.factories import (
    ProductFactory,
    RouteFactory,
    RouteStopFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    StockFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
)

DAY = date(2026, 11, 24)  # a Tuesday
SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def station_a2(station_a):
    return ServiceCenterFactory(code="A-002", name="胥岭村服务站", village__county=station_a.village.county)


@pytest.fixture
def staff_a2(station_a2):
    return StationStaffFactory(user=UserFactory(username="amy"), service_center=station_a2).user


@pytest.fixture
def route(warehouse_a, station_a, station_a2):
    route = RouteFactory(warehouse=warehouse_a, code="JD-R1", cutoff_time=time(16, 0))
    # the truck goes to A2 first, then A
    RouteStopFactory(route=route, service_center=station_a2, sequence=1)
    RouteStopFactory(route=route, service_center=station_a, sequence=2)
    return route


@pytest.fixture
def big_truck(route, warehouse_a):
    truck = VehicleFactory(
        warehouse=warehouse_a, plate="浙A-BIG", capacity_kg=Decimal("1000"), capacity_m3=Decimal("8")
    )
    route.vehicles.add(truck)
    return truck


@pytest.fixture
def small_truck(route, warehouse_a):
    truck = VehicleFactory(warehouse=warehouse_a, plate="浙A-SML", capacity_kg=Decimal("300"), capacity_m3=Decimal("2"))
    route.vehicles.add(truck)
    return truck


@pytest.fixture
def bag(warehouse_a):
    """A 50 kg bag of fertilizer, plenty in stock."""
    product = ProductFactory(sku="BAG-50", name="复合肥 50kg", weight_kg=Decimal("50"), volume_m3=Decimal("0.06"))
    StockFactory(product=product, warehouse=warehouse_a, on_hand=100_000)
    return product


@pytest.fixture
def confirm(bag, staff_a):
    """confirm(station, bags=1, at=...) places and confirms an order of ``bags`` bags."""
    keys = iter(range(100_000))

    def run(station, bags: int = 1, at: datetime | None = None) -> Order:
        villager = station.villagers.first() or VillagerFactory(service_center=station)
        with time_machine.travel(at or local(DAY, 9), tick=False):
            order = services.place_order(
                station=station,
                villager=villager,
                placed_by=staff_a,
                lines=[services.LineRequest(bag.sku, bags)],
                delivery_method="station_pickup",
                payment_method="cash_at_station",
                idempotency_key=f"d-{next(keys)}",
                notify=False,
            ).order
            return services.confirm_payment(order=order, actor=staff_a)

    return run


@pytest.fixture
def batch(warehouse_a, big_truck, confirm, station_a, station_a2):
    """One planned batch of warehouse A: two stations, three orders (the API tests' batch)."""
    confirm(station_a, bags=2)
    confirm(station_a2)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    return DeliveryBatch.objects.get()


def stock_of(product, warehouse) -> Stock:
    return Stock.objects.get(product=product, warehouse=warehouse)
