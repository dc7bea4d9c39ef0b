"""Every run's return leg: goods waiting at its stations are loaded in stop order while they fit, collected at the
stop, received at the warehouse; what a run leaves behind waits for the next one, with the reason."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from catalog.models import Stock
from logistics import pickups
from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, Pickup
from orders import returns, services
from orders.models import GoodsReturn, Order
from tests.logistics.conftest import DAY, local

S = Order.Status
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):  # reasons and refusals matched by their English text
        yield


def plan(warehouse, day=DAY) -> list[DeliveryBatch]:
    with time_machine.travel(local(day, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=day)
    return list(DeliveryBatch.objects.filter(dispatch_date=day).order_by("pk"))


def deliver_all(batch: DeliveryBatch, actor) -> None:
    dispatch.depart_batch(batch=batch)
    for stop in batch.stops.order_by("sequence"):
        dispatch.receive_stop(stop=stop, actor=actor, notify=False)


def collected_orders(confirm, warehouse, stations, actor, bags=1) -> list[Order]:
    """Orders of ``bags`` bags at each station, delivered on DAY's run and collected."""
    orders = [confirm(station, bags=bags) for station in stations]
    (batch,) = plan(warehouse)
    deliver_all(batch, actor)
    for order in orders:
        order.refresh_from_db()
        services.hand_over(order=order, actor=actor, pickup_code=order.pickup_code)
    return orders


def give_back(order: Order, actor, units: int | None = None) -> GoodsReturn:
    line = order.lines.get()
    return returns.return_lines(order=order, actor=actor, lines=[returns.LineBack(line.pk, units or line.quantity)])


@pytest.fixture
def returned(confirm, warehouse_a, station_a, station_a2, staff_a, big_truck):
    """A bag brought back at each station, waiting for a truck."""
    orders = collected_orders(confirm, warehouse_a, [station_a, station_a2], staff_a)
    return [give_back(order, staff_a) for order in orders]


def test_the_next_run_picks_the_goods_up_at_its_stops_in_stop_order(
    returned, confirm, warehouse_a, station_a2, staff_a
):
    confirm(station_a2, at=local(NEXT_DAY, 9))  # something to deliver to A2 only; the goods at A ride along

    (batch,) = plan(warehouse_a, NEXT_DAY)

    stops = {stop.service_center.code: stop for stop in batch.stops.select_related("service_center")}
    assert set(stops) == {"A-002", "A-001"}  # A is a stop for its pickup alone
    assert (stops["A-002"].sequence, stops["A-001"].sequence) == (1, 2)
    labels = dict(Pickup.objects.values_list("goods_return_id", "label"))
    assert labels == {goods.pk: f"B{goods.pk}" for goods in returned}
    assert set(Pickup.objects.values_list("status", flat=True)) == {"planned"}


def test_goods_with_nothing_to_deliver_get_a_run_of_their_own(returned, warehouse_a):
    (batch,) = plan(warehouse_a, NEXT_DAY)

    assert batch.parcel_count == 0
    assert Pickup.objects.filter(batch_stop__batch=batch).count() == 2


def test_planning_again_loads_no_goods_twice(returned, warehouse_a, small_truck):
    plan(warehouse_a, NEXT_DAY)
    plan(warehouse_a, NEXT_DAY)

    assert Pickup.objects.count() == 2


def test_what_does_not_fit_waits_for_the_next_run_with_the_reason(
    confirm, warehouse_a, station_a, station_a2, staff_a, big_truck
):
    orders = collected_orders(confirm, warehouse_a, [station_a, station_a2], staff_a, bags=8)  # 400 kg each
    goods = [give_back(order, staff_a) for order in orders]
    confirm(station_a2, bags=5, at=local(NEXT_DAY, 9))  # 250 kg out: 750 kg of room for 800 kg back

    (batch,) = plan(warehouse_a, NEXT_DAY)

    loaded = set(Pickup.objects.values_list("goods_return_id", flat=True))
    assert len(loaded) == 1
    # stop order: A2 (stop 1) first
    assert loaded == {g.pk for g in goods if g.order.service_center.code == "A-002"}
    left = GoodsReturn.objects.exclude(pk__in=loaded).get()
    assert left.waiting_reason == f"no room on run {batch.code}"


def test_the_station_hands_its_goods_to_the_driver_and_the_warehouse_counts_them_in(
    returned, warehouse_a, staff_a, bag
):
    (batch,) = plan(warehouse_a, NEXT_DAY)
    deliver_all(batch, staff_a)
    assert set(GoodsReturn.objects.values_list("status", flat=True)) == {"on_its_way"}
    before = Stock.objects.get(product=bag, warehouse=warehouse_a)

    first, second = Pickup.objects.order_by("pk")
    pickups.receive(pickup=first, actor=staff_a)
    pickups.receive(pickup=second, actor=staff_a, counts={second.goods_return.lines.get().pk: (0, 1)}, note="袋子破了")
    pickups.receive(pickup=second, actor=staff_a)  # twice: nothing more

    after = Stock.objects.get(product=bag, warehouse=warehouse_a)
    assert (after.on_hand - before.on_hand, after.quarantined - before.quarantined) == (1, 1)
    assert set(Pickup.objects.values_list("status", flat=True)) == {"received"}
    assert set(GoodsReturn.objects.values_list("status", flat=True)) == {"received"}


def test_goods_not_yet_on_the_road_cannot_be_received(returned, warehouse_a, staff_a):
    plan(warehouse_a, NEXT_DAY)
    pickup = Pickup.objects.first()

    with pytest.raises(pickups.PickupError, match="not on its way"):
        pickups.receive(pickup=pickup, actor=staff_a)


def test_a_run_completed_without_collecting_leaves_the_goods_waiting_again(returned, warehouse_a, staff_a):
    (batch,) = plan(warehouse_a, NEXT_DAY)
    dispatch.depart_batch(batch=batch)
    for stop in batch.stops.all():
        dispatch.arrive_at_stop(batch=batch, sequence=stop.sequence)  # reached, nothing to check in, not received

    dispatch.complete_batch(batch=batch)

    assert set(Pickup.objects.values_list("status", flat=True)) == {"left"}
    assert {g.status for g in GoodsReturn.objects.all()} == {"waiting"}
    assert {g.waiting_reason for g in GoodsReturn.objects.all()} == {f"not collected by run {batch.code}"}
    (again,) = plan(warehouse_a, NEXT_DAY + timedelta(days=1))  # the next day's run takes them
    assert Pickup.objects.filter(batch_stop__batch=again, status="planned").count() == 2
    labels = set(Pickup.objects.filter(batch_stop__batch=again).values_list("label", flat=True))
    assert labels == {f"B{goods.pk}-2" for goods in returned}  # their second pickup
    assert {g.waiting_reason for g in GoodsReturn.objects.all()} == {""}


def test_a_run_called_off_gives_its_goods_back_to_the_next_plan(returned, warehouse_a, staff_a):
    (batch,) = plan(warehouse_a, NEXT_DAY)

    dispatch.cancel_batch(batch=batch, actor=staff_a)

    assert not Pickup.objects.filter(status="planned").exists()
    assert not BatchStop.objects.filter(batch=batch).exists()
    assert {g.waiting_reason for g in GoodsReturn.objects.all()} == {f"run {batch.code} was cancelled"}


def test_a_damaged_parcel_sends_its_goods_back_to_quarantine(confirm, warehouse_a, station_a, staff_a, big_truck, bag):
    order = confirm(station_a, bags=2)
    (batch,) = plan(warehouse_a)
    dispatch.depart_batch(batch=batch)
    parcel = batch.stops.get().parcels.get()

    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, problems={parcel.pk: ("damaged", "压坏了")})

    goods = GoodsReturn.objects.get(order=order)
    assert (goods.kind, goods.status, goods.weight_kg) == ("damaged", "waiting", Decimal("100"))
    (back,) = plan(warehouse_a, NEXT_DAY)
    deliver_all(back, staff_a)
    quarantined = Stock.objects.get(product=bag, warehouse=warehouse_a).quarantined
    pickups.receive(pickup=Pickup.objects.get(goods_return=goods), actor=staff_a)
    assert Stock.objects.get(product=bag, warehouse=warehouse_a).quarantined == quarantined + 2
    order.refresh_from_db()
    assert order.status == S.EXCEPTION  # the county still decides on the order itself


def test_goods_one_run_has_no_room_for_ride_the_next_run_of_the_route(
    confirm, warehouse_a, station_a, station_a2, staff_a, big_truck, small_truck
):
    at_a2, at_a = collected_orders(confirm, warehouse_a, [station_a2, station_a], staff_a, bags=3)
    first = give_back(at_a2, staff_a)  # 150 kg at A2 (stop 1)
    second = give_back(at_a, staff_a, units=2)  # 100 kg at A (stop 2)
    confirm(station_a2, bags=17, at=local(NEXT_DAY, 9))  # 850 kg: the big truck, 150 kg of room
    confirm(station_a, bags=4, at=local(NEXT_DAY, 9))  # 200 kg: the small truck, 100 kg of room

    batches = plan(warehouse_a, NEXT_DAY)

    run_of = {b.vehicle.plate: b for b in batches}
    on = dict(Pickup.objects.values_list("goods_return_id", "batch_stop__batch__vehicle__plate"))
    assert on == {first.pk: "浙A-BIG", second.pk: "浙A-SML"}  # the big run had no room left for the second
    assert set(GoodsReturn.objects.values_list("waiting_reason", flat=True)) == {""}
    assert run_of["浙A-SML"].stops.get(service_center=station_a).pickups.get().goods_return_id == second.pk


def test_the_queries_of_a_plan_do_not_grow_with_the_goods_waiting(
    confirm, warehouse_a, station_a, station_a2, staff_a, big_truck
):
    at_a, at_a2 = collected_orders(confirm, warehouse_a, [station_a, station_a2], staff_a, bags=4)
    give_back(at_a, staff_a, units=1)
    confirm(station_a2, at=local(NEXT_DAY, 9))
    with CaptureQueriesContext(connection) as one:
        plan(warehouse_a, NEXT_DAY)
    for order in (at_a, at_a, at_a, at_a2, at_a2):
        give_back(order, staff_a, units=1)
    later = NEXT_DAY + timedelta(days=1)
    confirm(station_a2, at=local(later, 9))

    with CaptureQueriesContext(connection) as five:
        plan(warehouse_a, later)

    assert Pickup.objects.filter(batch_stop__batch__dispatch_date=later).count() == 5
    assert len(five) == len(one)


def test_goods_another_run_loaded_meanwhile_are_dropped_from_the_leg(returned, warehouse_a, station_a, station_a2):
    stops = {station_a2.pk: 1, station_a.pk: 2}
    pool = pickups.ReturnPool(pickups.waiting_goods(stops), stops)
    plan(warehouse_a, NEXT_DAY)  # another plan loads both on a pickup-only run

    with transaction.atomic():
        leg = pickups.lock_return_leg(pool.offer(room_kg=Decimal("1000"), room_m3=Decimal("8")))

    assert leg.loaded == []
    assert {goods.pk for goods in leg.taken} == {goods.pk for goods in returned}


def test_no_room_is_not_written_on_goods_another_run_loaded_since(returned, warehouse_a, station_a, station_a2):
    stops = {station_a2.pk: 1, station_a.pk: 2}
    pool = pickups.ReturnPool(pickups.waiting_goods(stops), stops)
    pool.settle(pool.offer(room_kg=Decimal("0"), room_m3=Decimal("0")), code="JD-R1-261125-FULL")  # no room
    plan(warehouse_a, NEXT_DAY)  # meanwhile another plan loads them

    assert pickups.record_no_room([pool]) == 0
    assert {g.waiting_reason for g in GoodsReturn.objects.all()} == {""}


def test_no_room_for_a_produce_lot_writes_no_reason_on_the_goods_of_the_same_pk(returned, station_a):
    """A lot's pk is a lot's: a lot no run had room for leaves alone the goods return that shares its number."""
    goods = returned[0]
    pool = pickups.ReturnPool({}, {})
    pool.goods = [
        pickups.Goods(goods.pk, station_a.pk, Decimal("30"), Decimal("0.05"), lot="LOT-1", no_room_on="JD-R1-FULL")
    ]

    assert pickups.record_no_room([pool]) == 0
    goods.refresh_from_db()
    assert goods.waiting_reason == ""
