"""Planning, moving and receiving delivery batches through the services."""

from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from logistics import services
from logistics.models import BatchStop, DeliveryBatch, Parcel, UnplannedOrder
from notifications.models import Notification
from orders.models import Order, OrderEvent
from tests.factories import ServiceCenterFactory, VehicleFactory

from .conftest import DAY, local, stock_of

S = Order.Status


def plan(warehouse, day=DAY):
    with time_machine.travel(local(day, 16, 1), tick=False):
        return services.plan_dispatch(warehouse=warehouse, dispatch_date=day)


def test_it_plans_confirmed_orders_into_one_batch_with_stops_in_route_order(
    warehouse_a, big_truck, confirm, station_a, station_a2
):
    first = confirm(station_a, bags=2)
    second = confirm(station_a2, bags=1)

    report = plan(warehouse_a)

    batch = DeliveryBatch.objects.get()
    assert [b.code for b in report.batches] == [batch.code]
    assert list(batch.stops.values_list("service_center_id", "sequence")) == [(station_a2.pk, 1), (station_a.pk, 2)]
    assert batch.parcel_count == 2
    assert batch.total_weight_kg == Decimal("150")
    assert batch.vehicle == big_truck
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == S.BATCHED
        assert order.parcels.get().batch_stop.batch == batch
        assert OrderEvent.objects.filter(order=order, to_status=S.BATCHED, note=batch.code).count() == 1


def test_it_fills_vehicles_without_exceeding_them_and_never_splits(
    warehouse_a, big_truck, small_truck, confirm, station_a
):
    orders = [confirm(station_a, bags=n) for n in (8, 8, 4, 3, 2)]  # 1250 kg against 1000 + 300

    plan(warehouse_a)

    batches = list(DeliveryBatch.objects.select_related("vehicle"))
    assert len(batches) == 2
    for batch in batches:
        assert batch.total_weight_kg <= batch.vehicle.capacity_kg
    assert Parcel.objects.count() == len(orders)


def test_orders_that_cannot_go_stay_confirmed_with_their_reason(warehouse_a, small_truck, confirm, station_a):
    off_route = ServiceCenterFactory(code="A-009", village__county=station_a.village.county)
    too_big = confirm(station_a, bags=7)  # 350 kg > 300 kg truck
    lonely = confirm(off_route)
    late = confirm(station_a, at=local(DAY, 16, 30))  # after the 16:00 cutoff
    fits = confirm(station_a, bags=6)
    no_room = confirm(station_a, bags=1)  # the only truck is full

    report = plan(warehouse_a)

    reasons = dict(UnplannedOrder.objects.values_list("order_id", "reason"))
    assert reasons == {
        too_big.pk: "too_large",
        lonely.pk: "no_route",
        late.pk: "after_cutoff",
        no_room.pk: "no_vehicle",
    }
    assert Order.objects.get(pk=fits.pk).status == S.BATCHED
    assert set(Order.objects.filter(pk__in=reasons).values_list("status", flat=True)) == {S.CONFIRMED}
    assert report.unplanned["no_route"] == 1


def test_a_route_that_does_not_leave_today_plans_nothing(warehouse_a, route, big_truck, confirm, station_a):
    route.departure_weekdays = "135"  # not Tuesday
    route.save()
    order = confirm(station_a)

    plan(warehouse_a)

    assert not DeliveryBatch.objects.exists()
    assert UnplannedOrder.objects.get(order=order).reason == "no_departure"


def test_planning_again_plans_nothing_twice(warehouse_a, big_truck, small_truck, confirm, station_a):
    confirm(station_a, bags=3)
    plan(warehouse_a)

    again = plan(warehouse_a)

    assert again.batches == []
    assert DeliveryBatch.objects.count() == 1
    assert Parcel.objects.count() == 1


def test_a_second_run_takes_the_orders_confirmed_since_with_another_truck(
    warehouse_a, big_truck, small_truck, confirm, station_a
):
    confirm(station_a, bags=2)
    plan(warehouse_a)
    confirm(station_a, bags=2)

    plan(warehouse_a)

    assert set(DeliveryBatch.objects.values_list("vehicle__plate", flat=True)) == {"浙A-BIG", "浙A-SML"}


def test_the_number_of_queries_does_not_grow_with_the_orders(warehouse_a, big_truck, confirm, station_a, station_a2):
    for _ in range(3):
        confirm(station_a)
    with CaptureQueriesContext(connection) as few:
        plan(warehouse_a)
    DeliveryBatch.objects.update(status="cancelled")  # free the truck for the day
    for n in range(15):
        confirm(station_a if n % 2 else station_a2)
    with CaptureQueriesContext(connection) as many:
        plan(warehouse_a)

    assert DeliveryBatch.objects.exclude(status="cancelled").get().parcel_count == 15
    assert len(many) == len(few)


def test_stations_are_told_what_is_coming(warehouse_a, big_truck, confirm, station_a):
    station_a.phone = "+8613700001111"
    station_a.save()
    confirm(station_a, bags=2)

    plan(warehouse_a)

    note = Notification.objects.get(template="batch_planned")
    assert note.recipient == "+8613700001111"
    assert note.payload["parcels"] == 1


def test_departure_moves_orders_and_stock_and_is_idempotent(warehouse_a, big_truck, confirm, station_a, bag):
    order = confirm(station_a, bags=4)
    plan(warehouse_a)
    batch = DeliveryBatch.objects.get()

    services.depart_batch(batch=batch)
    services.depart_batch(batch=batch)  # a retried request

    order.refresh_from_db()
    stock = stock_of(bag, warehouse_a)
    assert order.status == S.IN_TRANSIT
    assert (stock.on_hand, stock.reserved) == (100_000 - 4, 0)
    assert OrderEvent.objects.filter(order=order, to_status=S.IN_TRANSIT).count() == 1


def test_cancelling_a_planned_batch_returns_its_orders_to_the_queue(warehouse_a, big_truck, confirm, station_a):
    order = confirm(station_a)
    plan(warehouse_a)
    batch = DeliveryBatch.objects.get()

    services.cancel_batch(batch=batch)
    replanned = plan(warehouse_a)

    order.refresh_from_db()
    assert order.status == S.BATCHED
    assert order.parcels.get().batch_stop.batch.code == replanned.batches[0].code != batch.code
    with pytest.raises(services.DispatchError):
        services.cancel_batch(batch=batch)


def test_receiving_moves_orders_to_the_station_and_texts_villagers_once(
    warehouse_a, big_truck, confirm, station_a, station_a2, staff_a, staff_a2
):
    at_a = confirm(station_a)
    broken = confirm(station_a)
    at_a2 = confirm(station_a2)
    plan(warehouse_a)
    batch = services.depart_batch(batch=DeliveryBatch.objects.get())
    services.arrive_at_stop(batch=batch, sequence=2)
    stop_a = BatchStop.objects.get(batch=batch, service_center=station_a)
    before = Notification.objects.filter(template="order_arrived").count()

    services.receive_stop(stop=stop_a, actor=staff_a, problems={broken.parcels.get().pk: ("damaged", "压坏了")})
    services.receive_stop(stop=stop_a, actor=staff_a)  # received twice: nothing more happens

    at_a.refresh_from_db()
    broken.refresh_from_db()
    assert at_a.status == S.AT_STATION
    assert broken.status == S.EXCEPTION  # waits for the county (ship again or cancel), not stranded in transit
    assert broken.parcels.get().status == "damaged"
    assert Notification.objects.filter(template="order_arrived").count() == before + 1
    batch.refresh_from_db()
    assert batch.status == DeliveryBatch.Status.IN_TRANSIT  # A2 has not received yet

    services.receive_stop(stop=BatchStop.objects.get(batch=batch, service_center=station_a2), actor=staff_a2)

    batch.refresh_from_db()
    assert batch.status == DeliveryBatch.Status.COMPLETED
    assert Order.objects.get(pk=at_a2.pk).status == S.AT_STATION


def test_receiving_before_departure_is_refused(warehouse_a, big_truck, confirm, station_a, staff_a):
    confirm(station_a)
    plan(warehouse_a)

    with pytest.raises(services.DispatchError):
        services.receive_stop(stop=BatchStop.objects.get(), actor=staff_a)


def test_uncollected_parcels_are_flagged_after_the_pickup_period(warehouse_a, big_truck, confirm, station_a, staff_a):
    order = confirm(station_a)
    plan(warehouse_a)
    batch = services.depart_batch(batch=DeliveryBatch.objects.get())
    with time_machine.travel(local(DAY, 18), tick=False):
        services.receive_stop(stop=BatchStop.objects.get(), actor=staff_a)

    assert services.flag_uncollected(today=DAY.replace(day=30)) == 0  # 6 days
    assert services.flag_uncollected(today=DAY.replace(month=12, day=10)) == 1  # 16 days

    assert Parcel.objects.get(order=order).overdue_since is not None
    assert batch


def test_saving_a_route_schedules_its_planning_at_the_cutoff(route):
    task = PeriodicTask.objects.get(task="logistics.tasks.plan_route")

    assert task.crontab.hour == "16" and task.crontab.minute == "0"
    assert task.crontab.day_of_week == "0,1,2,3,4,5,6"
    assert task.args == f"[{route.pk}]"

    route.cutoff_time = route.cutoff_time.replace(hour=15, minute=30)
    route.departure_weekdays = "135"
    route.save()

    task.refresh_from_db()
    assert (task.crontab.hour, task.crontab.minute, task.crontab.day_of_week) == ("15", "30", "1,3,5")


def test_the_command_prints_a_summary(warehouse_a, big_truck, confirm, station_a):
    confirm(station_a, bags=2)
    VehicleFactory(warehouse=warehouse_a)  # not on the route: unused
    out = StringIO()

    with time_machine.travel(local(DAY, 17), tick=False):
        call_command("plan_dispatch", "--warehouse", warehouse_a.code, "--date", DAY.isoformat(), stdout=out)

    assert "1 batches, 1 parcels" in out.getvalue()
    assert "load 10%" in out.getvalue()


def test_the_command_names_the_known_warehouses_when_one_is_wrong(warehouse_a):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match=warehouse_a.code):
        call_command("plan_dispatch", "--warehouse", "NOPE")
