"""Demo routes, vehicles and delivery batches for the two demo counties.

Each county gets its routes (the last station of each county is left off
every route, so the dispatch board shows that reason) and vehicles of
different sizes; the orders that went past ``confirmed`` are carried by the
dispatch services themselves (``carry``), so every demo run is one the
system could have made and can finish.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import time_machine
from django.db import transaction
from django.utils import timezone

from orders.demo import Onward, finish_at_station
from orders.models import Order
from partners.models import ServiceCenter, Warehouse

from . import services
from .models import DeliveryBatch, Route, RouteStop, Vehicle
from .packing import Item, Truck, pack

S = Order.Status
B = DeliveryBatch.Status

# (code suffix, name, cutoff, weekdays, share of the county's stations)
ROUTES = [
    ("R1", "东线", datetime.time(16, 0), "1234567"),
    ("R2", "西线", datetime.time(15, 30), "135"),
    ("R3", "南线", datetime.time(17, 0), "246"),
]
# (plate suffix, kg, m3)
VEHICLES = [("A", "1500", "8"), ("B", "800", "5"), ("C", "3000", "16")]


@transaction.atomic
def seed_routes() -> dict[str, int]:
    created = {"vehicles": 0, "routes": 0, "route stops": 0}
    for warehouse in Warehouse.objects.select_related("county").order_by("code"):
        prefix = "浙A" if warehouse.county.code == "330182" else "浙G"
        vehicles = []
        for suffix, kg, m3 in VEHICLES:
            vehicle, made = Vehicle.objects.get_or_create(
                plate=f"{prefix}{warehouse.county.code[-3:]}{suffix}",
                defaults={"warehouse": warehouse, "capacity_kg": Decimal(kg), "capacity_m3": Decimal(m3)},
            )
            vehicles.append(vehicle)
            created["vehicles"] += made
        stations = list(ServiceCenter.objects.filter(village__county=warehouse.county).order_by("code"))[:-1]
        n_routes = 3 if len(stations) > 4 else 2
        for index, (suffix, name, cutoff, days) in enumerate(ROUTES[:n_routes]):
            route, made = Route.objects.get_or_create(
                warehouse=warehouse,
                code=f"{warehouse.code}-{suffix}",
                defaults={"name": f"{warehouse.county.name}{name}", "cutoff_time": cutoff, "departure_weekdays": days},
            )
            created["routes"] += made
            if made:
                route.vehicles.set(vehicles if index == 0 else vehicles[index - 1 : index + 1])
            for sequence, station in enumerate(stations[index::n_routes], start=1):
                _, made = RouteStop.objects.get_or_create(
                    service_center=station, defaults={"route": route, "sequence": sequence}
                )
                created["route stops"] += made
    return {k: v for k, v in created.items() if v}


# Hours after the last placement of a group at which its run was planned, left, and was received.
RUN_DELAY = {S.BATCHED: 20, S.IN_TRANSIT: 26, S.AT_STATION: 34}
DONE = "done"  # collected or returned: the run went all the way


def carry(onward: list[Onward]) -> int:
    """Carry the demo orders bound past ``confirmed`` through the real dispatch services.

    Orders of one route placed on one day travel together, with the clock
    turned to the hours of RUN_DELAY: planned into runs (packed within the
    vehicles' capacity, one run per vehicle a day), departed, arrived and
    received at their stops, then handed over and returned at the counter.
    Runs that are still out today carry only orders in transit (their stops
    not yet reached or not yet received), so the stations can receive them.
    Returns the number of runs.
    """
    stop_of = {
        stop.service_center_id: stop
        for stop in RouteStop.objects.select_related("route__warehouse").prefetch_related("route__vehicles")
    }
    groups: dict[tuple, list[Onward]] = defaultdict(list)
    for item in onward:
        stop = stop_of.get(item.order.service_center_id)
        if stop is None:
            continue  # on no route: it waits, confirmed, and the board says why
        bound = item.final if item.final in RUN_DELAY else DONE
        day = timezone.localtime(item.placed_at + datetime.timedelta(hours=RUN_DELAY[S.BATCHED])).date()
        groups[(stop.route_id, day, bound)].append(item)
    runs = 0
    by_order = {item.order.pk: item for item in onward}
    for (_route_id, day, bound), items in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])):
        route = stop_of[items[0].order.service_center_id].route
        start = max(item.placed_at for item in items)
        for batch in _plan_group(route, day, [item.order for item in items], at=start):
            runs += 1
            _run(batch, bound, start=start)
        for item in items:
            item.order.refresh_from_db()
            if item.order.status == S.AT_STATION:
                finish_at_station(
                    by_order[item.order.pk], not_before=start + datetime.timedelta(hours=RUN_DELAY[S.AT_STATION])
                )
    return runs


def _plan_group(route: Route, day: datetime.date, orders: list[Order], *, at) -> list[DeliveryBatch]:
    """Plan these orders (and only these) into runs of ``route``, as the planner packs them."""
    stop_sequence = {stop.service_center_id: stop.sequence for stop in route.stops.all()}
    fleet = [Truck(v.pk, v.capacity_kg, v.capacity_m3) for v in route.vehicles.all() if v.is_active]
    vehicles = {v.pk: v for v in route.vehicles.all()}
    items = [Item(o.pk, o.weight_kg, o.volume_m3) for o in orders]
    batches = []
    for shift in (0, -1, 1, -2, 2, -3, 3):  # every vehicle of the day taken: a run of a day nearby
        dispatch_date = day + datetime.timedelta(days=shift)
        busy = set(
            DeliveryBatch.objects.filter(dispatch_date=dispatch_date)
            .exclude(status=B.CANCELLED)
            .values_list("vehicle_id", flat=True)
        )
        packing = pack(items, [t for t in fleet if t.vehicle_id not in busy], fleet=fleet)
        with time_machine.travel(at + datetime.timedelta(hours=RUN_DELAY[S.BATCHED]), tick=True):
            for load in packing.loads:
                summary = services._commit_batch(
                    warehouse=route.warehouse,
                    route=route,
                    vehicle=vehicles[load.truck.vehicle_id],
                    day=dispatch_date,
                    order_ids=[item.order_id for item in load.items],
                    stop_sequence=stop_sequence,
                    notify=False,
                )
                if summary:
                    batches.append(DeliveryBatch.objects.get(code=summary.code))
        items = packing.no_truck_left
        if not items:
            break
    return batches


def _run(batch: DeliveryBatch, bound: str, *, start) -> None:
    """Drive one demo run as far as its orders went: planned, out on the road, or received (and completed)."""
    if bound == S.BATCHED:
        return
    with time_machine.travel(start + datetime.timedelta(hours=RUN_DELAY[S.IN_TRANSIT]), tick=True):
        batch = services.depart_batch(batch=batch)
    if bound == S.IN_TRANSIT:
        # Out today: the truck reached its first stop, whose station has still to check the parcels in.
        services.arrive_at_stop(batch=batch, sequence=1)
        return
    with time_machine.travel(start + datetime.timedelta(hours=RUN_DELAY[S.AT_STATION]), tick=True):
        for stop in batch.stops.order_by("sequence"):
            services.arrive_at_stop(batch=batch, sequence=stop.sequence)
            services.receive_stop(stop=stop, actor=None, notify=False)


@transaction.atomic
def seed_cancelled_run() -> None:
    """One run called off yesterday (its orders went back to the queue): every batch state is on show."""
    route = Route.objects.order_by("pk").first()
    if route is None or DeliveryBatch.objects.filter(status=B.CANCELLED).exists():
        return
    for days_ago in range(1, 8):
        day = timezone.localdate() - datetime.timedelta(days=days_ago)
        taken = DeliveryBatch.objects.filter(dispatch_date=day).values_list("vehicle_id", flat=True)
        vehicle = route.vehicles.exclude(pk__in=taken).order_by("capacity_kg").first()
        if vehicle is not None:
            break
    else:
        return
    batch = DeliveryBatch.objects.create(
        code=f"{route.code}-{day:%y%m%d}-CXL",
        warehouse=route.warehouse,
        route=route,
        vehicle=vehicle,
        dispatch_date=day,
    )
    services.cancel_batch(batch=batch)
