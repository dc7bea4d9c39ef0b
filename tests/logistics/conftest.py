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
            return services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)

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


# --- the way back: goods returned at station A, on the next day's run -------------------------------

from dataclasses import dataclass  # noqa: E402
from datetime import timedelta  # noqa: E402

from logistics.models import BatchStop, Pickup  # noqa: E402
from orders import returns  # noqa: E402
from orders.models import GoodsReturn, GoodsReturnLine  # noqa: E402

NEXT_DAY = DAY + timedelta(days=1)


@dataclass
class WayBack:
    order: Order  # collected, then 3 bags brought back
    goods: GoodsReturn
    batch: DeliveryBatch  # the next day's run, planned, with the goods on its return leg
    stop: BatchStop  # station A's stop on it
    pickup: Pickup

    def depart_and_collect(self, actor) -> Pickup:
        """The run leaves and station A receives its parcels: the driver takes the goods with him."""
        dispatch.depart_batch(batch=self.batch)
        dispatch.receive_stop(stop=self.stop, actor=actor, notify=False)
        self.pickup.refresh_from_db()
        return self.pickup


@pytest.fixture
def way_back(warehouse_a, big_truck, confirm, station_a, staff_a) -> WayBack:
    """3 bags delivered to station A on DAY's run, collected and all brought back; the next day's run takes them."""
    order = confirm(station_a, bags=3)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    with time_machine.travel(local(DAY, 18), tick=False):
        first = dispatch.depart_batch(batch=DeliveryBatch.objects.get(dispatch_date=DAY))
        dispatch.receive_stop(stop=first.stops.get(), actor=staff_a, notify=False)
        order = services.hand_over(order=Order.objects.get(pk=order.pk), actor=staff_a, pickup_code=order.pickup_code)
        goods = returns.return_lines(
            order=order,
            actor=staff_a,
            lines=[returns.LineBack(order.lines.get().pk, 3, GoodsReturnLine.Reason.NOT_WANTED)],
            note="不要了",
        )
    confirm(station_a, at=local(NEXT_DAY, 9))  # a return leg rides a delivery run
    with time_machine.travel(local(NEXT_DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=NEXT_DAY)
    batch = DeliveryBatch.objects.get(dispatch_date=NEXT_DAY)
    pickup = Pickup.objects.get()
    return WayBack(order=order, goods=goods, batch=batch, stop=pickup.batch_stop, pickup=pickup)
