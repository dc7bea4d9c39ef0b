"""A county's dispatch day, built set-based: one warehouse, routes of stations, vehicles, confirmed orders.

``county(...)`` builds one (call it more than once for several warehouses);
the data is committed (``transactional_db``) so planner processes see it.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from logistics.models import Route, RouteStop, Vehicle
from orders.models import Order
from partners.models import Warehouse
from tests.factories import (
    CountyFactory,
    RouteFactory,
    ServiceCenterFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
    WarehouseFactory,
)

DAY = date(2026, 11, 24)  # the dispatch date (a Tuesday); orders were confirmed the day before
CUTOFF = time(23, 59)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADROOM = Decimal("1.25")  # the fleet of a route carries 25 % more than its orders weigh and measure
MEAN_KG, MEAN_M3 = Decimal("20.5"), Decimal("0.1025")  # of an ordinary order (uniform 1-40 kg, 0.005-0.2 m³)


@dataclass
class DispatchDay:
    warehouse: Warehouse
    routes: list[Route]
    vehicles: list[Vehicle]
    day: date
    eligible: list[int] = field(default_factory=list)  # confirmed before the cutoff, on a route: to plan
    too_large: list[int] = field(default_factory=list)  # eligible, but heavier than every vehicle of their route
    ineligible: dict[int, str] = field(default_factory=dict)  # order pk -> the reason it must stay confirmed


def _capacities(load: Decimal, count: int) -> list[Decimal]:
    """``count`` vehicles, the largest three times the smallest, together HEADROOM x ``load``."""
    shares = [Decimal(3 * count - 2 * i) for i in range(count)]  # e.g. 6 vehicles: 18, 16, ... 8
    return [(load * HEADROOM * s / sum(shares)).quantize(Decimal("0.01")) for s in shares]


@pytest.fixture
def county(transactional_db):
    """county(orders=1500, routes=1, stations_per_route=6, vehicles_per_route=6, weight_scale=1, ...) -> DispatchDay."""
    tags = itertools.count(1)

    def build(
        *,
        orders: int = 1500,
        routes: int = 1,
        stations_per_route: int = 6,
        vehicles_per_route: int = 6,
        weight_scale: int = 1,
        too_large: int = 3,
        after_cutoff: int = 5,
        off_route: int = 5,
        seed: int = 20261124,
    ) -> DispatchDay:
        tag = f"D{next(tags)}"
        rng = random.Random(seed)
        scale = Decimal(weight_scale)
        area = CountyFactory()
        warehouse = WarehouseFactory(county=area, code=f"{tag}-WH")
        user = UserFactory(username=f"{tag.lower()}-partner")
        result = DispatchDay(warehouse=warehouse, routes=[], vehicles=[], day=DAY)

        stations_of_route = []
        per_route = orders // routes
        for r in range(routes):
            route = RouteFactory(warehouse=warehouse, code=f"{tag}-R{r + 1}", cutoff_time=CUTOFF)
            stations = [
                ServiceCenterFactory(code=f"{tag}-R{r + 1}-S{s + 1}", village__county=area)
                for s in range(stations_per_route)
            ]
            RouteStop.objects.bulk_create(
                RouteStop(route=route, service_center=station, sequence=s + 1) for s, station in enumerate(stations)
            )
            kgs = _capacities(per_route * MEAN_KG * scale, vehicles_per_route)
            m3s = _capacities(per_route * MEAN_M3 * scale, vehicles_per_route)
            vehicles = [
                VehicleFactory(warehouse=warehouse, plate=f"{tag}-{r + 1}-{v + 1:02d}", capacity_kg=kg, capacity_m3=m3)
                for v, (kg, m3) in enumerate(zip(kgs, m3s, strict=True))
            ]
            route.vehicles.add(*vehicles)
            result.routes.append(route)
            result.vehicles.extend(vehicles)
            stations_of_route.append(stations)
        lonely = ServiceCenterFactory(code=f"{tag}-OFF", village__county=area)  # on no route
        villager_of = {
            station.pk: VillagerFactory(service_center=station).pk
            for station in [lonely, *itertools.chain.from_iterable(stations_of_route)]
        }

        day_before = datetime.combine(DAY - timedelta(days=1), time(0), tzinfo=SHANGHAI)
        after = datetime.combine(DAY, time(23, 59, 30), tzinfo=SHANGHAI)
        biggest_kg = max(v.capacity_kg for v in result.vehicles)
        rows, expected = [], []  # expected: (kind, reason) per row

        def order(station_id: int, kg: Decimal, m3: Decimal, confirmed_at: datetime) -> None:
            n = len(rows)
            rows.append(
                Order(
                    number=f"{tag}-{n:07d}",
                    service_center_id=station_id,
                    villager_id=villager_of[station_id],
                    placed_by=user,
                    warehouse=warehouse,
                    status=Order.Status.CONFIRMED,
                    delivery_method=Order.DeliveryMethod.STATION_PICKUP,
                    payment_method=Order.PaymentMethod.CASH_AT_STATION,
                    total=Decimal("100.00"),
                    item_count=1,
                    weight_kg=kg,
                    volume_m3=m3,
                    pickup_code=f"{n % 1_000_000:06d}",
                    idempotency_key=f"drill-{tag}-{n}",
                    request_hash="",
                    confirmed_at=confirmed_at,
                )
            )

        all_stations = list(itertools.chain.from_iterable(stations_of_route))
        for i in range(orders):
            station = stations_of_route[i % routes][(i // routes) % stations_per_route]
            kg = Decimal(f"{rng.uniform(1, 40):.3f}") * scale
            m3 = Decimal(f"{rng.uniform(0.005, 0.2):.4f}") * scale
            order(station.pk, kg, m3, day_before + timedelta(minutes=rng.randrange(24 * 60)))
            expected.append(("eligible", None))
        for _ in range(too_large):
            order(
                all_stations[0].pk, (biggest_kg * Decimal("1.2")).quantize(Decimal("0.001")), Decimal("1"), day_before
            )
            expected.append(("too_large", "too_large"))
        for _ in range(after_cutoff):
            order(all_stations[-1].pk, Decimal("5"), Decimal("0.01"), after)
            expected.append(("ineligible", "after_cutoff"))
        for _ in range(off_route):
            order(lonely.pk, Decimal("5"), Decimal("0.01"), day_before)
            expected.append(("ineligible", "no_route"))

        created = Order.objects.bulk_create(rows, batch_size=2000)
        for obj, (kind, reason) in zip(created, expected, strict=True):
            if kind == "ineligible":
                result.ineligible[obj.pk] = reason
            else:
                result.eligible.append(obj.pk)
                if kind == "too_large":
                    result.too_large.append(obj.pk)
        return result

    return build
