"""The delivery promise: the route's next departure after the cutoff plus its travel days, at most the county's
standard; weekends and holidays skipped (time frozen); on the receipt, in the SMS and the API; the county sees
the orders about to miss it before they are late, and the weekly on-time rate."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone, translation

from logistics import promise
from logistics import services as dispatch
from notifications.models import Notification
from orders import services
from orders.models import Order
from partners.models import County, Holiday
from tests.factories import RouteFactory, RouteStopFactory, VehicleFactory
from tests.order_steps import arrive, depart

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 30)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def route(station_a, warehouse_a):
    """Leaves at 16:00 on weekdays only; the goods are at the stations the next day."""
    route = RouteFactory(warehouse=warehouse_a, code="JD-1", cutoff_time=time(16, 0), departure_weekdays="12345")
    RouteStopFactory(route=route, service_center=station_a, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse_a))
    return route


def place(station, villager, staff, product, key: str, moment: datetime) -> Order:
    with time_machine.travel(moment, tick=False):
        return services.place_order(
            station=station,
            villager=villager,
            placed_by=staff,
            lines=[services.LineRequest(product.sku, 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=key,
        ).order


@pytest.mark.parametrize(
    ("moment", "promised"),
    [
        (at(MONDAY, 9), date(2026, 12, 1)),  # before the cutoff: today's run, there tomorrow
        (at(MONDAY, 15, 59), date(2026, 12, 1)),
        (at(MONDAY, 16, 0), date(2026, 12, 2)),  # at the cutoff: tomorrow's run
        (at(date(2026, 12, 4), 17), date(2026, 12, 6)),  # Friday after the cutoff: Monday's run, capped at 2 days
        (at(date(2026, 12, 5), 10), date(2026, 12, 7)),  # Saturday: no run before Monday; the standard holds
    ],
)
def test_the_promise_is_the_next_departure_after_the_cutoff_plus_the_travel_days(
    route, station_a, villager_a, staff_a, fertilizer_stock, moment, promised
):
    order = place(station_a, villager_a, staff_a, fertilizer_stock.product, "p", moment)
    assert order.promised_on == promised


def test_a_holiday_is_skipped_and_a_slower_route_is_capped_by_the_countys_standard(
    route, station_a, villager_a, staff_a, fertilizer_stock
):
    Holiday.objects.create(day=date(2026, 12, 1), name="通用假日")  # every county
    Holiday.objects.create(day=date(2026, 12, 2), county=station_a.village.county, name="县里放假")
    # Monday after the cutoff: Tuesday and Wednesday closed, Thursday's run is there on Friday; the county
    # promises two days (Wednesday): the order is at risk from the start
    order = place(station_a, villager_a, staff_a, fertilizer_stock.product, "h", at(MONDAY, 17))
    assert order.promised_on == date(2026, 12, 2)
    station_a.village.county.promise_days = 7
    station_a.village.county.save()
    route.travel_days = 2
    route.save()
    slow = place(station_a, villager_a, staff_a, fertilizer_stock.product, "h2", at(MONDAY, 17))
    assert slow.promised_on == date(2026, 12, 5)  # Thursday's run, two days on the road
    # another county's holiday is not this one's
    Holiday.objects.create(day=date(2026, 12, 3), county=County.objects.create(code="330127", name="淳安县"), name="x")
    again = place(station_a, villager_a, staff_a, fertilizer_stock.product, "h3", at(MONDAY, 17))
    assert again.promised_on == date(2026, 12, 5)


def test_a_station_on_no_route_gets_the_countys_standard(station_a, villager_a, staff_a, fertilizer_stock):
    order = place(station_a, villager_a, staff_a, fertilizer_stock.product, "n", at(MONDAY, 9))
    assert order.promised_on == date(2026, 12, 2)


def test_the_promise_is_on_the_receipt_in_the_sms_and_in_the_api(
    client_a, route, station_a, villager_a, staff_a, fertilizer_stock
):
    order = place(station_a, villager_a, staff_a, fertilizer_stock.product, "r", timezone.now())
    assert order.promised_on is not None
    assert order.promised_on.isoformat() in client_a.get(f"/orders/{order.number}/receipt/").content.decode()
    sms = Notification.objects.get(reference=order.number, template="order_consent")
    assert sms.payload["promised"] == f"{order.promised_on:%m月%d日}"
    assert client_a.get(f"/api/v1/orders/{order.number}/").json()["promised_on"] == order.promised_on.isoformat()


def test_the_county_sees_orders_at_risk_before_they_are_late_and_late_ones_with_the_reason(
    route, station_a, villager_a, staff_a, fertilizer_stock, warehouse_a
):
    county = station_a.village.county
    friday = date(2026, 12, 4)
    # placed Friday 9:00 and confirmed: planned into the 16:00 run, there Saturday as promised
    fine = place(station_a, villager_a, staff_a, fertilizer_stock.product, "f", at(friday, 9))
    with time_machine.travel(at(friday, 9, 5), tick=False):
        services.confirm_payment(order=fine, actor=staff_a, consent_code=fine.consent_code)
    with time_machine.travel(at(friday, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=friday)
    # placed Friday 17:00: promised Sunday (the county's two days), but the next run leaves Monday
    weekend = place(station_a, villager_a, staff_a, fertilizer_stock.product, "w", at(friday, 17))
    with time_machine.travel(at(friday, 17, 30), tick=False), translation.override("en"):
        rows = {r.order.pk: r for r in promise.at_risk([county])}
    assert set(rows) == {weekend.pk}  # at risk before it is late; the planned one is not
    assert not rows[weekend.pk].late and rows[weekend.pk].expected == date(2026, 12, 8)
    assert "villager" in rows[weekend.pk].reason
    # Monday: both are late (the run never left)
    with time_machine.travel(at(date(2026, 12, 7), 10), tick=False):
        rows = {r.order.pk: r for r in promise.at_risk([county])}
        assert rows[weekend.pk].late and rows[fine.pk].late
        assert "12-04" in rows[fine.pk].reason and rows[fine.pk].expected is None  # its run never left
        assert promise.counts([county]) == {"late": 2, "at_risk": 0}


def test_the_weekly_on_time_rate_counts_each_arrival_against_its_promise(
    route, station_a, villager_a, staff_a, fertilizer_stock
):
    on_time = place(station_a, villager_a, staff_a, fertilizer_stock.product, "a", at(MONDAY, 9))
    late = place(station_a, villager_a, staff_a, fertilizer_stock.product, "b", at(MONDAY, 9, 30))
    for order, arrival in ((on_time, at(date(2026, 12, 1), 10)), (late, at(date(2026, 12, 3), 10))):
        with time_machine.travel(arrival, tick=False):
            services.confirm_payment(order=order, actor=staff_a, consent_code=order.consent_code)
            services.transition(order, to=Order.Status.BATCHED, actor=staff_a)
            depart(order=order, actor=staff_a)
            arrive(order=order, actor=staff_a, notify=False)
    rates = promise.on_time([station_a.village.county], weeks=2, today=date(2026, 12, 6))
    assert rates.weeks == [date(2026, 11, 23), MONDAY]
    assert rates.stations == {station_a.name: [(0, 0), (1, 2)]}
    assert rates.routes == {route.name: [(0, 0), (1, 2)]}
    assert promise.OnTime.rate((1, 2)) == 50
    assert promise.on_time_chart(rates).startswith("data:image/svg+xml;")


def test_the_county_page_lists_them_and_draws_the_chart_without_a_script(
    client, county_manager, route, station_a, villager_a, staff_a, fertilizer_stock
):
    order = place(station_a, villager_a, staff_a, fertilizer_stock.product, "c", at(MONDAY, 9))
    with time_machine.travel(at(date(2026, 12, 1), 10), tick=False):
        services.confirm_payment(order=order, actor=staff_a, consent_code=order.consent_code)
        services.transition(order, to=Order.Status.BATCHED, actor=staff_a)
        depart(order=order, actor=staff_a)
        arrive(order=order, actor=staff_a, notify=False)
    late = place(station_a, villager_a, staff_a, fertilizer_stock.product, "l", at(MONDAY, 9))
    with time_machine.travel(at(date(2026, 12, 4), 10), tick=False):
        client.force_login(county_manager)
        page = client.get("/county/promises/").content.decode()
    assert late.number in page and order.number not in page
    assert 'src="data:image/svg+xml;' in page and "<script" not in page.split("<main", 1)[1]


def test_home_deliveries_are_the_runs_own_stops_after_the_station_on_the_manifest_and_in_the_api(
    client, county_manager, route, station_a, villager_a, staff_a, fertilizer_stock, warehouse_a
):
    from logistics.clients import create_client
    from logistics.models import DeliveryBatch

    villager_a.address = "三组 12 号，祠堂东边"
    villager_a.save()
    friday = date(2026, 12, 4)
    with time_machine.travel(at(friday, 9), tick=False):
        home = services.place_order(
            station=station_a,
            villager=villager_a,
            placed_by=staff_a,
            lines=[services.LineRequest(fertilizer_stock.product.sku, 1)],
            delivery_method=Order.DeliveryMethod.HOME_DELIVERY,
            payment_method="cash_at_station",
            idempotency_key="home",
        ).order
        pickup = place(station_a, villager_a, staff_a, fertilizer_stock.product, "pickup", at(friday, 9))
        for order in (home, pickup):
            services.confirm_payment(order=order, actor=staff_a, consent_code=order.consent_code)
    with time_machine.travel(at(friday, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=friday)
    batch = DeliveryBatch.objects.get()
    client.force_login(county_manager)
    manifest = client.get(f"/county/batches/{batch.code}/manifest/").content.decode()
    assert "三组 12 号，祠堂东边" in manifest
    csv = client.get(f"/county/batches/{batch.code}/manifest.csv").content.decode("utf-8-sig").splitlines()
    rows = {line.split(",")[4]: line.split(",") for line in csv[1:]}
    assert (rows[home.number][8], rows[home.number][9]) == ("home_delivery", "三组 12 号，祠堂东边")
    assert (rows[pickup.number][8], rows[pickup.number][9]) == ("station_pickup", "")
    _client, key = create_client(name="物流", warehouse_codes=[warehouse_a.code])
    answer = client.get(f"/api/v1/batches/{batch.code}/", HTTP_AUTHORIZATION=f"Token {key}").json()
    (stop,) = answer["stops"]
    assert [p["order"] for p in stop["home_deliveries"]] == [home.number]
    assert stop["home_deliveries"][0]["address"] == "三组 12 号，祠堂东边"
    by_order = {p["order"]: p for p in stop["parcels"]}
    assert by_order[pickup.number]["address"] == "" and by_order[pickup.number]["delivery_method"] == "station_pickup"
