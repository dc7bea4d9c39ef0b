"""Produce on the truck's way back: a lot the county bought rides the return leg of the next run that calls at
its station, within the room the deliveries leave, perishables first (the soonest spoiled first), together with
the goods coming back; collected at the stop, received when the warehouse weighs and grades it."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from logistics import pickups
from logistics import services as dispatch
from logistics.api.output import manifest_json
from logistics.models import DeliveryBatch, Pickup
from logistics.selectors import BATCH_VALUES
from orders import returns
from orders import services as order_services
from produce import services
from produce.models import ProduceKind, ProduceLot
from tests.logistics.conftest import DAY, local

S = ProduceLot.Status
P = Pickup.Status
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):
        yield


@pytest.fixture
def potatoes(county_a):
    """Potatoes by the kilo: they keep a month, not perishable."""
    return ProduceKind.objects.create(
        county=county_a, name="土豆", unit=ProduceKind.Unit.KG, kg_per_unit=Decimal("1"), m3_per_unit=Decimal("0.0015")
    )


@pytest.fixture
def buy(station_a, villager_a, county_manager, staff_a, eggs):
    """buy(kind=eggs, quantity=..., station=...) lists a lot ready on DAY and has the county accept it."""
    eggs.kg_per_unit, eggs.m3_per_unit = Decimal("0.06"), Decimal("0.0001")
    eggs.save()

    def buy_(kind=None, quantity="100", station=None, villager=None, ready_on=DAY) -> ProduceLot:
        station = station or station_a
        with time_machine.travel(local(DAY, 8), tick=False):
            lot = services.list_lot(
                station=station,
                villager=villager or station.villagers.first() or villager_a,
                kind=kind or eggs,
                quantity=quantity,
                grade=(kind or eggs).grade_list()[0],
                price_asked="1.00",
                ready_on=ready_on,
                actor=staff_a,
            )
            return services.accept_lot(lot=lot, price="0.80", actor=county_manager)

    return buy_


def plan(warehouse, day=DAY) -> list[DeliveryBatch]:
    with time_machine.travel(local(day, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=day)
    return list(DeliveryBatch.objects.filter(dispatch_date=day).order_by("pk"))


def test_a_bought_lot_rides_back_on_the_next_run_weighed_by_its_kind(buy, warehouse_a, station_a, big_truck):
    lot = buy(quantity="120")

    (batch,) = plan(warehouse_a)  # nothing to deliver: a run for the way back alone

    pickup = Pickup.objects.get()
    assert (pickup.label, pickup.lot_number, pickup.goods_return_id) == (f"L{lot.pk}", lot.number, None)
    assert (pickup.weight_kg, pickup.volume_m3) == (Decimal("7.200"), Decimal("0.0120"))  # 120 × 0.06 kg
    assert pickup.batch_stop.service_center == station_a and pickup.batch_stop.batch == batch
    lot.refresh_from_db()
    assert lot.status == S.ACCEPTED  # bought, on its way: the warehouse grades it when it arrives


def test_lots_not_bought_or_not_ready_stay_at_the_station(
    buy, list_eggs, warehouse_a, big_truck, staff_a, station_a, eggs
):
    with time_machine.travel(local(DAY, 8), tick=False):
        list_eggs(ready_on=DAY)  # listed, not bought
    buy(ready_on=NEXT_DAY)  # bought, ready tomorrow

    assert plan(warehouse_a) == []
    assert not Pickup.objects.exists()

    plan(warehouse_a, NEXT_DAY)
    assert Pickup.objects.count() == 1


def test_planning_again_loads_a_lot_once(buy, warehouse_a, big_truck):
    buy()
    plan(warehouse_a)
    plan(warehouse_a)
    assert Pickup.objects.count() == 1


def test_perishables_go_first_the_soonest_spoiled_first_within_the_room_left(
    buy, potatoes, eggs, county_a, warehouse_a, small_truck, confirm, station_a, station_a2
):
    """300 kg truck, 250 kg out: 50 kg of room.  Potatoes (they keep) at the first stop; at the second, eggs
    (7 days) and tofu (2 days): both perishables go before the potatoes, though these are on the way first."""
    quick = ProduceKind.objects.create(
        county=county_a, name="豆腐", unit=ProduceKind.Unit.KG, perishable=True, keeps_days=2, kg_per_unit=Decimal("1")
    )
    confirm(station_a2, bags=5)  # 250 kg out to A2 (stop 1)
    spud = buy(kind=potatoes, quantity="30", station=station_a2)  # 30 kg at the first stop, keeps
    egg = buy(kind=eggs, quantity="400")  # 24 kg at A (stop 2), keeps 7 days
    tofu = buy(kind=quick, quantity="20")  # 20 kg at A, keeps 2 days

    (batch,) = plan(warehouse_a)

    loaded = set(Pickup.objects.values_list("lot_number", flat=True))
    assert loaded == {tofu.number, egg.number}  # 44 kg: the potatoes (30 kg more) wait despite their stop
    assert spud.number not in loaded
    carried = batch.total_weight_kg + sum(p.weight_kg for p in Pickup.objects.all())
    assert carried <= small_truck.capacity_kg


def test_goods_and_produce_together_never_over_the_vehicle(
    buy, potatoes, warehouse_a, small_truck, confirm, station_a, staff_a
):
    order = confirm(station_a, bags=4)  # 200 kg out on DAY
    (first,) = plan(warehouse_a)
    dispatch.depart_batch(batch=first)
    dispatch.receive_stop(stop=first.stops.get(), actor=staff_a, notify=False)
    order.refresh_from_db()
    order = order_services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)
    returns.return_lines(order=order, actor=staff_a, lines=[returns.LineBack(order.lines.get().pk, 4)])  # 200 kg
    buy(kind=potatoes, quantity="90", ready_on=NEXT_DAY)  # 90 kg more: 290 kg of the 300 kg truck
    buy(kind=potatoes, quantity="20", ready_on=NEXT_DAY)  # would make 310 kg

    plan(warehouse_a, NEXT_DAY)

    on_leg = Pickup.objects.filter(batch_stop__batch__dispatch_date=NEXT_DAY)
    assert on_leg.count() == 2
    assert sum(p.weight_kg for p in on_leg) <= small_truck.capacity_kg
    assert ProduceLot.objects.filter(status=S.ACCEPTED).exclude(number__in=on_leg.values("lot_number")).count() == 1


def test_the_driver_collects_it_and_grading_at_the_warehouse_receives_the_pickup(
    buy, warehouse_a, big_truck, staff_a, county_manager
):
    lot = buy()
    (batch,) = plan(warehouse_a)
    dispatch.depart_batch(batch=batch)
    stop = batch.stops.get()
    assert pickups.collect(stop=stop, labels=[f"L{lot.pk}"]) == 1
    pickup = Pickup.objects.get()
    assert pickup.status == P.COLLECTED

    with pytest.raises(pickups.PickupError, match="produce page"):
        pickups.receive(pickup=pickup, actor=county_manager)  # not counted in like returned goods
    services.receive_lot(lot=lot, quantity="98", grade="一级", actor=county_manager)

    pickup.refresh_from_db()
    assert pickup.status == P.RECEIVED and pickup.received_at is not None


def test_a_lot_left_behind_rides_the_next_run_under_a_new_label(buy, warehouse_a, big_truck):
    lot = buy()
    (batch,) = plan(warehouse_a)
    dispatch.depart_batch(batch=batch)
    dispatch.arrive_at_stop(batch=batch, sequence=1)
    dispatch.complete_batch(batch=batch)  # the driver did not take it

    assert Pickup.objects.get().status == P.LEFT
    lot.refresh_from_db()
    assert lot.status == S.ACCEPTED  # still bought, waiting for a truck
    plan(warehouse_a, NEXT_DAY)

    assert Pickup.objects.get(status=P.PLANNED).label == f"L{lot.pk}-2"


def test_a_lot_on_a_run_called_off_rides_the_next_one(buy, warehouse_a, big_truck):
    lot = buy()
    (batch,) = plan(warehouse_a)
    dispatch.cancel_batch(batch=batch)  # its stops go, and their pickups with them

    plan(warehouse_a, NEXT_DAY)

    assert Pickup.objects.get(status=P.PLANNED).label == f"L{lot.pk}"


def test_a_lot_received_before_its_run_left_is_taken_off_the_run(buy, warehouse_a, big_truck, county_manager):
    lot = buy()
    plan(warehouse_a)  # planned, not gone: the villager brought the eggs to the county himself

    services.receive_lot(lot=lot, quantity="100", grade="一级", actor=county_manager)

    assert Pickup.objects.get().status == P.LEFT


def test_declining_a_planned_lot_takes_it_off_the_run_but_not_once_on_the_truck(
    buy, warehouse_a, big_truck, county_manager
):
    first, second = buy(), buy()
    (batch,) = plan(warehouse_a)
    version = batch.version

    services.decline_lot(lot=first, reason="质量不合格", actor=county_manager)
    assert Pickup.objects.get(lot_number=first.number).status == P.LEFT
    batch.refresh_from_db()
    assert batch.version > version  # the manifest shows it off the run

    dispatch.depart_batch(batch=batch)
    pickups.collect(stop=batch.stops.get())
    with pytest.raises(services.ProduceError, match="on the truck"):
        services.decline_lot(lot=second, reason="太晚了", actor=county_manager)
    second.refresh_from_db()
    assert second.status == S.ACCEPTED  # nothing moved


def test_the_manifest_names_the_lot(buy, warehouse_a, big_truck):
    lot = buy()
    (batch,) = plan(warehouse_a)

    (stop,) = manifest_json(DeliveryBatch.objects.filter(pk=batch.pk).values(*BATCH_VALUES, "version").get())["stops"]
    (pickup,) = stop["pickups"]
    assert (pickup["label"], pickup["what"], pickup["lot"]) == (f"L{lot.pk}", "produce", lot.number)


def test_the_queries_of_a_plan_do_not_grow_with_the_lots(buy, warehouse_a, big_truck, potatoes):
    buy()
    with CaptureQueriesContext(connection) as one:
        plan(warehouse_a)
    for _ in range(4):
        buy(kind=potatoes, quantity="10", ready_on=NEXT_DAY)

    with CaptureQueriesContext(connection) as four:
        plan(warehouse_a, NEXT_DAY)

    assert Pickup.objects.filter(batch_stop__batch__dispatch_date=NEXT_DAY).count() == 4
    assert len(four) == len(one)


def test_the_lot_pages_say_which_run_takes_it(client, buy, warehouse_a, big_truck, staff_a, county_manager):
    lot = buy()
    (batch,) = plan(warehouse_a)

    client.force_login(staff_a)
    page = client.get(f"/produce/{lot.number}/").content.decode()
    assert batch.code in page and f"L{lot.pk}" in page

    client.force_login(county_manager)
    page = client.get("/county/produce/").content.decode()
    assert batch.code in page and f"L{lot.pk}" in page  # on the run, as the label the driver reads
    # the warehouse's scan box sends a lot's label to the produce page, where it is weighed and graded
    response = client.get(f"/county/pickups/L{lot.pk}/")
    assert response.status_code == 302 and response.url == f"/county/produce/#lot-{lot.number}"


def test_a_lot_no_run_had_room_for_says_so_until_a_run_loads_it(
    client, buy, potatoes, warehouse_a, small_truck, confirm, station_a, staff_a, county_manager
):
    confirm(station_a, bags=6)  # 300 kg out: the 300 kg truck is full
    lot = buy(kind=potatoes, quantity="10")

    (full,) = plan(warehouse_a)

    assert not Pickup.objects.exists()
    lot.refresh_from_db()
    assert (lot.no_room_run, lot.no_room_day) == (full.code, DAY)
    reason = f"no room on run {full.code} on {DAY:%m-%d}"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the reason's English text
    client.force_login(staff_a)
    assert reason in client.get(f"/produce/{lot.number}/").content.decode()
    client.force_login(county_manager)
    page = client.get("/county/produce/").content.decode()
    assert reason in page and "Waiting for a run to call" not in page

    (batch,) = plan(warehouse_a, NEXT_DAY)  # nothing to deliver: the whole truck for the way back

    assert Pickup.objects.get().lot_number == lot.number
    lot.refresh_from_db()
    assert (lot.no_room_run, lot.no_room_day) == ("", None)
    page = client.get("/county/produce/").content.decode()
    assert "no room on run" not in page and batch.code in page
    client.force_login(staff_a)
    page = client.get(f"/produce/{lot.number}/").content.decode()
    assert "no room on run" not in page and batch.code in page


def test_a_lot_loaded_meanwhile_gets_no_reason(buy, potatoes, warehouse_a, big_truck, station_a, station_a2):
    lot = buy(kind=potatoes, quantity="10")
    stops = {station_a2.pk: 1, station_a.pk: 2}
    pool = pickups.ReturnPool(pickups.waiting_goods(stops, DAY), stops)
    pool.settle(pool.offer(room_kg=Decimal("0"), room_m3=Decimal("0")), code="JD-R1-261124-FULL", day=DAY)
    plan(warehouse_a)  # meanwhile another plan loads it

    assert pickups.record_no_room([pool]) == 0
    lot.refresh_from_db()
    assert lot.no_room_run == ""


def test_the_queries_of_recording_no_room_do_not_grow_with_the_lots(
    buy, potatoes, warehouse_a, small_truck, confirm, station_a
):
    confirm(station_a, bags=6)  # the truck full on DAY
    buy(kind=potatoes, quantity="10")
    with CaptureQueriesContext(connection) as one:
        plan(warehouse_a)
    confirm(station_a, bags=6, at=local(NEXT_DAY, 9))  # and full again the next day
    for _ in range(3):
        buy(kind=potatoes, quantity="10", ready_on=NEXT_DAY)

    with CaptureQueriesContext(connection) as four:
        (full,) = plan(warehouse_a, NEXT_DAY)

    assert set(ProduceLot.objects.values_list("no_room_run", flat=True)) == {full.code}
    assert len(four) == len(one)
