"""Demo routes, vehicles and delivery batches for the two demo counties.

Each county gets its routes (the last station of each county is left off
every route, so the dispatch board shows that reason), vehicles of different
sizes, and the orders that went past ``confirmed`` are put in real batches,
stops and parcels of their dates.
"""

import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders.models import Order
from partners.models import ServiceCenter, Warehouse

from .models import BatchStop, DeliveryBatch, Parcel, Route, RouteStop, Vehicle

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


def attach_to_batch(order: Order) -> str | None:
    """Demo history: put an order that is being batched into the batch of its route and day."""
    stop = RouteStop.objects.select_related("route").filter(service_center_id=order.service_center_id).first()
    if stop is None:
        return None
    route = stop.route
    day = timezone.localdate()
    batch = DeliveryBatch.objects.filter(route=route, dispatch_date=day, code__endswith="-DEMO").first()
    if batch is None:
        taken = DeliveryBatch.objects.filter(dispatch_date=day).values_list("vehicle_id", flat=True)
        vehicle = route.vehicles.exclude(pk__in=taken).order_by("-capacity_kg").first()
        if vehicle is None:
            return None
        batch = DeliveryBatch.objects.create(
            code=f"{route.code}-{day:%y%m%d}-DEMO",
            warehouse=route.warehouse,
            route=route,
            vehicle=vehicle,
            dispatch_date=day,
        )
    batch_stop, _ = BatchStop.objects.get_or_create(
        batch=batch,
        service_center_id=order.service_center_id,
        defaults={"sequence": stop.sequence},
    )
    Parcel.objects.create(
        batch_stop=batch_stop,
        order=order,
        label=f"P{order.number}",
        weight_kg=order.weight_kg,
        volume_m3=order.volume_m3,
    )
    return batch.code


@transaction.atomic
def settle_batches() -> int:
    """Bring the demo batches' totals and statuses in line with their orders."""
    settled = 0
    for batch in DeliveryBatch.objects.filter(code__endswith="-DEMO").prefetch_related("stops__parcels__order"):
        parcels = [p for stop in batch.stops.all() for p in stop.parcels.all()]
        statuses = {p.order.status for p in parcels}
        for stop in batch.stops.all():
            arrived = [p for p in stop.parcels.all() if p.order.status not in (S.BATCHED, S.IN_TRANSIT)]
            if arrived and len(arrived) == len(stop.parcels.all()):
                Parcel.objects.filter(pk__in=[p.pk for p in arrived]).update(status=Parcel.Status.DELIVERED)
                BatchStop.objects.filter(pk=stop.pk).update(
                    status=BatchStop.Status.RECEIVED, received_at=timezone.now(), arrived_at=timezone.now()
                )
        if statuses <= {S.BATCHED}:
            status = B.PLANNED
        elif statuses & {S.BATCHED, S.IN_TRANSIT}:
            status = B.IN_TRANSIT
        else:
            status = B.COMPLETED
        DeliveryBatch.objects.filter(pk=batch.pk).update(
            version=F("version") + 1,  # its stops and parcels changed: no cached manifest of before
            status=status,
            parcel_count=len(parcels),
            total_weight_kg=sum((p.weight_kg for p in parcels), Decimal("0")),
            total_volume_m3=sum((p.volume_m3 for p in parcels), Decimal("0")),
            departed_at=batch.created_at if status != B.PLANNED else None,
            completed_at=timezone.now() if status == B.COMPLETED else None,
        )
        settled += 1
    # One run called off yesterday (its orders went back to the queue): every batch state is on show.
    route = Route.objects.order_by("pk").first()
    if route and not DeliveryBatch.objects.filter(status=B.CANCELLED).exists():
        yesterday = timezone.localdate() - datetime.timedelta(days=1)
        DeliveryBatch.objects.create(
            code=f"{route.code}-{yesterday:%y%m%d}-CXL",
            warehouse=route.warehouse,
            route=route,
            vehicle=route.vehicles.order_by("capacity_kg").first(),
            dispatch_date=yesterday,
            status=B.CANCELLED,
        )
    return settled
