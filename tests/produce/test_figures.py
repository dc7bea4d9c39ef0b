"""The county's produce figures: a month's sales by village and kind (received, paid, owed, to the fen) and how
full the trucks come back; the county's own data only, a fixed number of queries, charts for any series."""

import base64
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import translation

from installations.models import Installer
from logistics.models import BatchStop, DeliveryBatch, Pickup
from orders import services as orders
from orders.models import GoodsReturn
from produce import figures, services
from produce.models import ProduceKind
from tests.factories import (
    CountyManagerFactory,
    RouteFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOVEMBER = date(2026, 11, 1)
B = DeliveryBatch.Status
P = Pickup.Status


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


@pytest.fixture
def now():
    """The page is looked at on 2026-12-02: November is the month before."""
    with time_machine.travel(local(date(2026, 12, 2)), tick=False) as traveller:
        yield traveller


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture
def manager(county_manager) -> Client:
    return client_of(county_manager)


@pytest.fixture
def station_a2(station_a):
    return ServiceCenterFactory(
        code="A-002", name="胥岭村服务站", village__county=station_a.village.county, village__name="胥岭村"
    )


@pytest.fixture
def potatoes(county_a):
    return ProduceKind.objects.create(county=county_a, name="土豆", unit=ProduceKind.Unit.KG, grades="一级,二级")


@pytest.fixture
def sell(county_manager):
    """A lot listed, bought at ``price``, received (``quantity``) at ``received`` and paid at ``paid`` (if any)."""

    def sell_(*, station, kind, quantity: str, price: str, received: datetime, paid: datetime | None = None):
        staff = StationStaffFactory(service_center=station).user
        villager = VillagerFactory(service_center=station)
        with time_machine.travel(received - timedelta(hours=2), tick=False):
            lot = services.list_lot(
                station=station,
                villager=villager,
                kind=kind,
                quantity=quantity,
                grade=kind.grade_list()[0],
                price_asked=price,
                ready_on=received.date(),
                actor=staff,
            )
            lot = services.accept_lot(lot=lot, price=price, actor=county_manager)
        with time_machine.travel(received, tick=False):
            lot = services.receive_lot(lot=lot, quantity=quantity, grade=kind.grade_list()[0], actor=county_manager)
        if paid is not None:
            with time_machine.travel(paid, tick=False):
                lot = services.pay_lot(lot=lot, actor=staff)
        return lot

    return sell_


@pytest.fixture
def sales(sell, station_a, station_a2, station_b, eggs, potatoes):
    """November's lots of county A, and lots that do not count for November (another month, county B)."""
    station_a.village.name = "里叶村"
    station_a.village.save()
    a, a2 = station_a, station_a2
    # received and paid in November
    sell(
        station=a,
        kind=eggs,
        quantity="100",
        price="0.85",
        received=local(date(2026, 11, 3)),
        paid=local(date(2026, 11, 5)),
    )
    # received in November, owed; the last minutes of the month are November's (local time)
    sell(station=a, kind=eggs, quantity="33", price="0.85", received=local(date(2026, 11, 30), 23, 50))
    # received in October, paid in November: paid, not received, this month
    sell(
        station=a2,
        kind=potatoes,
        quantity="50.5",
        price="1.37",
        received=local(date(2026, 10, 28)),
        paid=local(date(2026, 11, 2)),
    )
    # received in November, paid on 1 December just after midnight (30 November in UTC): owed at November's end
    sell(
        station=a2,
        kind=potatoes,
        quantity="10",
        price="1.37",
        received=local(date(2026, 11, 20)),
        paid=local(date(2026, 12, 1), 0, 10),
    )
    # not November's: received and paid in October; received on 1 December just after midnight
    sell(
        station=a2,
        kind=potatoes,
        quantity="7",
        price="2",
        received=local(date(2026, 10, 15)),
        paid=local(date(2026, 10, 20)),
    )
    sell(station=a, kind=eggs, quantity="9", price="1", received=local(date(2026, 12, 1), 0, 5))
    # county B's
    chicken_eggs = ProduceKind.objects.create(county=station_b.village.county, name="土鸡蛋", unit="piece")
    sell(station=station_b, kind=chicken_eggs, quantity="500", price="1.20", received=local(date(2026, 11, 4)))


@pytest.fixture
def goods(fertilizer_stock, station_a, staff_a, villager_a):
    """Goods returns to put on the return leg (each its own, so any number can ride at once)."""
    order = orders.place_order(
        station=station_a,
        villager=villager_a,
        placed_by=staff_a,
        lines=[orders.LineRequest(fertilizer_stock.product.sku, 1)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key="figures",
    ).order

    def goods_(kg: str) -> GoodsReturn:
        return GoodsReturn.objects.create(order=order, kind=GoodsReturn.Kind.REFUSED, weight_kg=Decimal(kg))

    return goods_


@pytest.fixture
def run_of(goods):
    """A run of ``warehouse`` on ``day`` with its pickups: (kind, kg, status), kind "goods" or "lot"."""
    numbers = iter(range(1, 10_000))

    def run_(warehouse, station, *, code, day, capacity="1000", status=B.COMPLETED, pickups=()):
        vehicle = VehicleFactory(warehouse=warehouse, capacity_kg=Decimal(capacity))
        batch = DeliveryBatch.objects.create(
            code=code,
            warehouse=warehouse,
            route=RouteFactory(warehouse=warehouse, name=f"{code} 线"),
            vehicle=vehicle,
            dispatch_date=day,
            status=status,
        )
        stop = BatchStop.objects.create(batch=batch, service_center=station, sequence=1)
        for kind, kg, pickup_status in pickups:
            number = next(numbers)
            Pickup.objects.create(
                batch_stop=stop,
                goods_return=goods(kg) if kind == "goods" else None,
                lot_number=f"P-{number}" if kind == "lot" else "",
                label=f"B{number}",
                weight_kg=Decimal(kg),
                volume_m3=Decimal("0.1"),
                status=pickup_status,
            )
        return batch

    return run_


@pytest.fixture
def runs(run_of, warehouse_a, warehouse_b, station_a, station_b):
    # 12% goods returns + 8% produce (the produce left behind does not ride)
    run_of(
        warehouse_a,
        station_a,
        code="R-1",
        day=date(2026, 11, 3),
        status=B.IN_TRANSIT,
        pickups=[("goods", "120", P.COLLECTED), ("lot", "80", P.PLANNED), ("lot", "300", P.LEFT)],
    )
    run_of(
        warehouse_a, station_a, code="R-2", day=date(2026, 11, 3), capacity="1500", pickups=[("lot", "45", P.RECEIVED)]
    )
    run_of(warehouse_a, station_a, code="R-3", day=date(2026, 11, 10))  # came back empty
    # not November's runs that came back: planned, called off, October's, county B's
    run_of(
        warehouse_a,
        station_a,
        code="R-4",
        day=date(2026, 11, 12),
        status=B.PLANNED,
        pickups=[("lot", "900", P.PLANNED)],
    )
    run_of(warehouse_a, station_a, code="R-5", day=date(2026, 11, 12), status=B.CANCELLED)
    run_of(warehouse_a, station_a, code="R-6", day=date(2026, 10, 31), pickups=[("lot", "900", P.RECEIVED)])
    run_of(warehouse_b, station_b, code="RB-1", day=date(2026, 11, 3), pickups=[("lot", "10", P.RECEIVED)])


# --- the figures ------------------------------------------------------------------------------------------


def test_it_sums_each_village_s_month_by_kind_to_the_fen(now, sales, county_a):
    villages = figures.village_sales([county_a], NOVEMBER)

    assert [
        (v.name, [(k.kind, k.unit, k.received, k.received_value, k.paid, k.owed) for k in v.kinds]) for v in villages
    ] == [
        ("胥岭村", [("土豆", "kg", Decimal("10.00"), Decimal("13.70"), Decimal("69.19"), Decimal("13.70"))]),
        ("里叶村", [("鸡蛋", "piece", Decimal("133.00"), Decimal("113.05"), Decimal("85.00"), Decimal("28.05"))]),
    ]
    assert [(v.received_value, v.paid, v.owed) for v in villages] == [
        (Decimal("13.70"), Decimal("69.19"), Decimal("13.70")),
        (Decimal("113.05"), Decimal("85.00"), Decimal("28.05")),
    ]


def test_it_counts_december_s_lots_in_december(now, sales, county_a):
    villages = figures.village_sales([county_a], date(2026, 12, 1))

    assert [(v.name, [(k.kind, k.received, k.received_value, k.paid, k.owed) for k in v.kinds]) for v in villages] == [
        ("胥岭村", [("土豆", Decimal("0"), Decimal("0.00"), Decimal("13.70"), Decimal("0.00"))]),
        # the 33 eggs of 30 November are still owed; the 9 of 1 December are December's
        ("里叶村", [("鸡蛋", Decimal("9.00"), Decimal("9.00"), Decimal("0.00"), Decimal("37.05"))]),
    ]


def test_the_return_leg_is_each_run_s_pickups_against_its_vehicle_s_weight_capacity(now, runs, county_a):
    leg = figures.return_leg([county_a], NOVEMBER)

    assert [(r.code, r.returns_percent, r.produce_percent, r.percent) for r in leg.runs] == [
        ("R-1", Decimal("12.0"), Decimal("8.0"), Decimal("20.0")),
        ("R-2", Decimal("0.0"), Decimal("3.0"), Decimal("3.0")),
        ("R-3", Decimal("0.0"), Decimal("0.0"), Decimal("0.0")),
    ]
    assert (leg.average, leg.average_returns, leg.average_produce) == (Decimal("7.7"), Decimal("4.0"), Decimal("3.7"))
    assert [r.code for r in leg.emptiest] == ["R-3", "R-2", "R-1"]
    days = leg.days()
    assert len(days) == 30
    assert days[2] == (date(2026, 11, 3), Decimal("6.0"), Decimal("5.5"))
    assert days[9] == (date(2026, 11, 10), Decimal("0.0"), Decimal("0.0"))
    assert days[0] == (date(2026, 11, 1), None, None)


def test_the_page_shows_the_month_s_figures(now, sales, runs, manager):
    response = manager.get("/county/produce/figures/?month=2026-11")

    assert response.status_code == 200
    page = response.content.decode()
    for shown in ("胥岭村", "里叶村", "133 piece", "113.05", "69.19", "28.05", "¥126.75", "¥154.19", "¥41.75"):
        assert shown in page, shown
    assert "7.7%" in page and "R-3" in page and "data:image/svg+xml" in page
    assert "<script" not in page.split("<main")[1].split("</main>")[0]


def test_it_shows_this_month_by_default(now, sales, runs, manager):
    page = manager.get("/county/produce/figures/").content.decode()

    assert "2026-12" in page and "37.05" in page  # December's owed
    assert "No run left the county warehouse this month." in page
    assert "?month=2026-11" in page and "?month=2027-01" not in page  # no month ahead of this one


def test_another_county_s_data_never_shows(now, sales, runs, station_b, manager):
    page_a = manager.get("/county/produce/figures/?month=2026-11").content.decode()
    manager_b = client_of(CountyManagerFactory(user=UserFactory(username="dave"), county=station_b.village.county).user)
    page_b = manager_b.get("/county/produce/figures/?month=2026-11").content.decode()

    assert "土鸡蛋" not in page_a and "600.00" not in page_a and "RB-1" not in page_a
    assert "土鸡蛋" in page_b and "600.00" in page_b and "RB-1" in page_b
    for of_a in ("里叶村", "胥岭村", ">鸡蛋</td>", "R-1", "R-3", "113.05"):
        assert of_a not in page_b, of_a


def test_station_staff_and_installers_do_not_see_it(now, client_a, station_a):
    installer = Installer.objects.create(county=station_a.village.county, name="张师傅", user=UserFactory())

    assert client_a.get("/county/produce/figures/").status_code == 404
    assert client_of(installer.user).get("/county/produce/figures/").status_code == 404
    anonymous = Client().get("/county/produce/figures/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-1", "x", "１２", "2026-11-01", "1999-12", "2026-11\x00"])
def test_a_bad_month_is_a_400_with_the_reason(now, manager, month):
    response = manager.get("/county/produce/figures/", {"month": month})

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()


# 1. the session, 2. its user, 3. the counties managed, 4. the lots' figures per village and kind, 5. the runs
# with their pickups' weight; 6-8. the session saved again (SESSION_SAVE_EVERY_REQUEST: savepoint, update, release)
FIGURES_QUERIES = 8


def test_the_page_costs_the_same_queries_for_one_lot_or_many(
    now, sell, run_of, station_a, station_a2, warehouse_a, eggs, potatoes, manager, django_assert_num_queries
):
    sell(station=station_a, kind=eggs, quantity="10", price="1", received=local(date(2026, 11, 3)))
    run_of(warehouse_a, station_a, code="R-1", day=date(2026, 11, 3), pickups=[("lot", "10", P.RECEIVED)])
    with django_assert_num_queries(FIGURES_QUERIES):
        assert manager.get("/county/produce/figures/?month=2026-11").status_code == 200

    for n in range(4):
        village = ServiceCenterFactory(village__county=station_a.village.county)
        sell(
            station=village,
            kind=potatoes,
            quantity="5",
            price="2",
            received=local(date(2026, 11, 4 + n)),
            paid=local(date(2026, 11, 20)),
        )
        sell(station=station_a2, kind=eggs, quantity="5", price="2", received=local(date(2026, 11, 4 + n)))
        run_of(
            warehouse_a,
            village,
            code=f"R-{n + 2}",
            day=date(2026, 11, 4 + n),
            pickups=[("goods", "10", P.COLLECTED), ("lot", "5", P.RECEIVED)],
        )
    with django_assert_num_queries(FIGURES_QUERIES):
        page = manager.get("/county/produce/figures/?month=2026-11")
    assert page.status_code == 200 and "R-5" in page.content.decode()


# --- the charts ---------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def english():
    """The charts' own words (legend, no-data text) in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


def svg(uri: str) -> str:
    head, _comma, data = uri.partition(",")
    assert head == "data:image/svg+xml;charset=utf-8;base64"
    text = base64.b64decode(data).decode()
    # pygal writes its config in an inline script, which an <img> never runs; nothing is fetched from elsewhere
    assert text.lstrip().startswith(("<?xml", "<svg")) and "<script src" not in text and 'xlink:href="http' not in text
    return text


def test_the_charts_draw_an_empty_month(db):
    assert "No figures this month" in svg(figures.sales_chart([]))
    assert "No figures this month" in svg(figures.return_leg_chart(figures.ReturnLeg(month=NOVEMBER, runs=[])))


def test_the_charts_draw_one_point():
    one = figures.VillageRow(
        "里叶村", [figures.KindRow("鸡蛋", "piece", Decimal("10"), Decimal("8.50"), Decimal("0"), Decimal("8.50"))]
    )
    run = figures.RunFill("R-1", date(2026, 11, 3), "浙A1", "东线", Decimal("1000"), Decimal("100"), Decimal("0"))

    assert "里叶村" in svg(figures.sales_chart([one]))
    assert "goods returns" in svg(figures.return_leg_chart(figures.ReturnLeg(month=NOVEMBER, runs=[run])))


def test_the_charts_draw_a_full_month():
    kinds = ["鸡蛋", "土豆", "笋干", "茶叶"]
    villages = [
        figures.VillageRow(
            f"村{v}",
            [
                figures.KindRow(k, "kg", Decimal(v + 1), Decimal(10 * v + i), Decimal(0), Decimal(0))
                for i, k in enumerate(kinds)
            ],
        )
        for v in range(12)
    ]
    runs = [
        figures.RunFill(f"R-{d}", NOVEMBER.replace(day=d), "浙A1", "东线", Decimal("1000"), Decimal(d), Decimal(2 * d))
        for d in range(1, 31)
    ]

    sales = svg(figures.sales_chart(villages))
    leg = svg(figures.return_leg_chart(figures.ReturnLeg(month=NOVEMBER, runs=runs)))

    assert all(k in sales for k in kinds) and "村11" in sales
    assert "produce" in leg and "30" in leg
