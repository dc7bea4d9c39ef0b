"""The county charts (issue 20): 12 weeks or 12 months of orders, commission, on-time delivery, exceptions, cash
differences and produce, for the county or one station; on a small world where every bucket is known.

The page is looked at on Wednesday 2026-12-02, 10:00 in Shanghai: the current week began on Monday 11-30,
the first of the 12 on 09-14; the 12 months run from 2026-01 to 2026-12.  Times near midnight check that a
period is the local one (00:30 on a Monday in Shanghai is still Sunday in UTC).
"""

import base64
from datetime import date, datetime, time
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import translation

from cashbook.models import DayClose
from county import charts
from orders.models import CommissionEntry, Order, OrderEvent
from produce.models import ProduceKind, ProduceLot
from tests.factories import (
    CountyManagerFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    UserFactory,
    VillagerFactory,
    WarehouseFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 2)
S = Order.Status
K = CommissionEntry.Kind
NUMBERS = count(1)


def local(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def d(month: int, day: int) -> date:
    return date(2026, month, day)


@pytest.fixture
def now():
    with time_machine.travel(local(TODAY), tick=False) as traveller:
        yield traveller


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


class World:
    """Orders, events, ledger entries, closes and lots written straight into the tables, at known times."""

    def __init__(self, station):
        self.user = UserFactory()
        self.villagers = {}
        self.warehouses = {}

    def villager(self, station):
        if station.pk not in self.villagers:
            self.villagers[station.pk] = VillagerFactory(service_center=station)
        return self.villagers[station.pk]

    def warehouse(self, station):
        county = station.village.county
        if county.pk not in self.warehouses:
            self.warehouses[county.pk] = getattr(county, "warehouse", None) or WarehouseFactory(county=county)
        return self.warehouses[county.pk]

    def order(self, station, at: datetime, total="10.00", *, status=S.CONFIRMED, promised_on=None) -> Order:
        n = next(NUMBERS)
        order = Order.objects.create(
            number=f"T{n:06d}",
            service_center=station,
            villager=self.villager(station),
            placed_by=self.user,
            warehouse=self.warehouse(station),
            status=status,
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            total=Decimal(total),
            pickup_code="123456",
            idempotency_key=f"k{n}",
            request_hash="h",
            promised_on=promised_on,
        )
        Order.objects.filter(pk=order.pk).update(created_at=at)
        return order

    def event(self, order, to_status, at: datetime):
        with time_machine.travel(at, tick=False):
            OrderEvent.objects.create(order=order, from_status=S.IN_TRANSIT, to_status=to_status)

    def entry(self, station, kind, amount: str, at: datetime, *, order=None, lot=""):
        with time_machine.travel(at, tick=False):
            CommissionEntry.objects.create(
                service_center=station, kind=kind, amount=Decimal(amount), order=order, produce_lot=lot
            )

    def close(self, station, day: date, difference: str):
        diff = Decimal(difference)
        DayClose.objects.create(
            station=station,
            day=day,
            expected=Decimal("100.00"),
            counted=Decimal("100.00") + diff,
            difference=diff,
            closed_by=self.user,
        )

    def lot(self, station, kind, value: str, *, received: datetime | None, paid: datetime | None = None):
        n = next(NUMBERS)
        bought = received is not None
        return ProduceLot.objects.create(
            number=f"L{n:06d}",
            station=station,
            villager=self.villager(station),
            kind=kind,
            quantity=Decimal("10"),
            grade_claimed="一级",
            price_asked=Decimal("1.00"),
            ready_on=d(1, 1),
            status=(ProduceLot.Status.PAID if paid else ProduceLot.Status.RECEIVED)
            if bought
            else ProduceLot.Status.LISTED,
            price=Decimal("1.00") if bought else None,
            commission_rate=Decimal("2.00") if bought else None,
            received_quantity=Decimal("10") if bought else None,
            value=Decimal(value) if bought else None,
            received_at=received,
            paid_at=paid,
            paid_via="cash" if paid else "",
            listed_by=self.user,
        )


@pytest.fixture
def county_a(station_a):
    return station_a.village.county


@pytest.fixture
def station_a2(station_a):
    return ServiceCenterFactory(code="A-002", name="胥岭村服务站", village__county=station_a.village.county)


@pytest.fixture
def station_a3(station_a):
    """A station of county A where nothing happened."""
    return ServiceCenterFactory(code="A-003", name="青山村服务站", village__county=station_a.village.county)


@pytest.fixture
def world(now, station_a, station_a2, station_a3, station_b):
    w = World(station_a)
    a, a2, b = station_a, station_a2, station_b
    # orders placed: week 11-16: one (10.00, A2); week 11-23: two (150.50) and a cancelled one; week 11-30: one,
    # at 00:30 on Monday (UTC: Sunday); before the 12 weeks (Sunday 09-13): one; county B: one.
    w.order(a2, local(d(11, 17)), "10.00")
    o1 = w.order(a, local(d(11, 24)), "100.00", promised_on=d(11, 25))
    o2 = w.order(a, local(d(11, 24), 15), "50.50", promised_on=d(11, 24))
    w.order(a, local(d(11, 25)), "999.00", status=S.CANCELLED)
    o4 = w.order(a, local(d(11, 30), 0, 30), "7.00", promised_on=d(11, 30))
    w.order(a, local(d(9, 13), 23), "5.00")
    w.order(b, local(d(11, 24)), "300.00", promised_on=d(11, 25))
    # arrivals: o1 on its promised day (late evening), and again as "found" later (counted once); o2 two days
    # late; o4 at 00:30 on its day (week 11-30, on time); an order without a promise does not count.
    w.event(o1, S.AT_STATION, local(d(11, 25), 23))
    w.event(o1, S.AT_STATION, local(d(11, 27)))
    w.event(o2, S.AT_STATION, local(d(11, 26)))
    w.event(o4, S.AT_STATION, local(d(11, 30), 0, 30))
    w.event(w.order(a, local(d(11, 20))), S.AT_STATION, local(d(11, 21)))
    # exceptions: o2 went in on 11-18 and 11-26 (no longer in exception); o5 on 11-29, 3 days ago; o6 on 11-12, 20
    # days ago; both still open.  County B's does not count.
    w.event(o2, S.EXCEPTION, local(d(11, 18)))
    w.event(o2, S.EXCEPTION, local(d(11, 26)))
    o5 = w.order(a2, local(d(11, 20)), status=S.EXCEPTION)
    w.event(o5, S.EXCEPTION, local(d(11, 29)))
    o6 = w.order(a, local(d(11, 10)), status=S.EXCEPTION)
    w.event(o6, S.EXCEPTION, local(d(11, 12)))
    w.event(w.order(b, local(d(11, 10)), status=S.EXCEPTION), S.EXCEPTION, local(d(11, 29)))
    # commission: A earns 12.00 and gives 2.00 back in week 11-23 (a payout does not count); A2 earns 3.00 on a
    # produce lot in week 11-16 and is adjusted by -1.00 at 00:30 on Monday 11-30; B's does not count.
    w.entry(a, K.ACCRUAL, "12.00", local(d(11, 24)), order=o1)
    w.entry(a, K.REVERSAL, "-2.00", local(d(11, 25)), order=o1)
    w.entry(a, K.PAYOUT, "-10.00", local(d(11, 26)))
    w.entry(a2, K.PRODUCE, "3.00", local(d(11, 17)), lot="L-P1")
    w.entry(a2, K.ADJUSTMENT, "-1.00", local(d(11, 30), 0, 30))
    w.entry(b, K.ADJUSTMENT, "50.00", local(d(11, 24)))
    # day closes: week 11-23: three, two off (-5.00 and +2.50); week 11-30: one, -1.00.
    w.close(a, d(11, 24), "-5.00")
    w.close(a, d(11, 25), "0.00")
    w.close(a2, d(11, 26), "2.50")
    w.close(a, d(11, 30), "-1.00")
    w.close(b, d(11, 24), "-99.00")
    # produce: received 11-24 (85.00), paid 12-01; received in August, paid 11-17 (40.00); one only listed.
    kind = ProduceKind.objects.create(county=a.village.county, name="土豆", unit="kg", grades="一级")
    w.lot(a, kind, "85.00", received=local(d(11, 24)), paid=local(d(12, 1)))
    w.lot(a2, kind, "40.00", received=local(d(8, 20)), paid=local(d(11, 17)))
    w.lot(a, kind, "0", received=None)
    kind_b = ProduceKind.objects.create(county=b.village.county, name="鸡蛋", unit="piece", grades="一级")
    w.lot(b, kind_b, "70.00", received=local(d(11, 24)))
    return w


def weeks(county, station=None) -> charts.Scope:
    return charts.Scope(counties=[county], period=charts.Period.WEEKS, station=station, today=TODAY)


def months(county, station=None) -> charts.Scope:
    return charts.Scope(counties=[county], period=charts.Period.MONTHS, station=station, today=TODAY)


def by_start(rows) -> dict:
    return {r.start: r for r in rows}


# --- the periods --------------------------------------------------------------------------------------------


def test_it_counts_twelve_weeks_from_monday_and_twelve_months(county_a):
    assert weeks(county_a).starts[0] == d(9, 14)
    assert weeks(county_a).starts[-1] == d(11, 30)
    assert len(weeks(county_a).starts) == 12
    assert months(county_a).starts == [d(m, 1) for m in range(1, 13)]
    assert months(county_a).label(d(11, 1)) == "2026-11"
    assert weeks(county_a).label(d(11, 30)) == "11-30"


# --- each chart's figures -----------------------------------------------------------------------------------


def test_it_counts_orders_placed_and_their_value_per_local_week(world, county_a):
    rows = charts.orders_placed(weeks(county_a))

    assert len(rows) == 12
    got = {r.start: (r.count, r.value) for r in rows if r.count}
    assert got == {
        d(11, 9): (1, Decimal("10.00")),
        d(11, 16): (3, Decimal("30.00")),
        d(11, 23): (2, Decimal("150.50")),  # not the cancelled one, nor county B's
        d(11, 30): (1, Decimal("7.00")),  # 00:30 on Monday in Shanghai, Sunday in UTC
    }
    assert by_start(rows)[d(9, 14)].count == 0  # a week without orders is a zero, not a gap
    assert by_start(rows)[d(9, 14)].value == Decimal("0.00")


def test_it_counts_orders_per_local_month(world, county_a):
    rows = by_start(charts.orders_placed(months(county_a)))

    assert rows[d(9, 1)].count == 1  # 09-13, before the 12 weeks, in September
    assert rows[d(11, 1)].count == 7  # every order of November but the cancelled one
    assert rows[d(12, 1)].count == 0
    assert rows[d(1, 1)].count == 0


def test_it_sums_commission_earned_per_station_without_payouts(world, county_a, station_a, station_a2):
    stations = [("A-001", station_a.name), ("A-002", station_a2.name), ("A-003", "青山村服务站")]

    rows = charts.commission_by_station(weeks(county_a), stations)

    assert [(r.code, r.total) for r in rows] == [
        ("A-001", Decimal("10.00")),
        ("A-002", Decimal("2.00")),
        ("A-003", Decimal("0.00")),  # earned nothing: listed at zero
    ]
    a, a2, _a3 = rows
    at = weeks(county_a).positions
    assert a.amounts[at[d(11, 23)]] == Decimal("10.00")
    assert a2.amounts[at[d(11, 16)]] == Decimal("3.00")
    assert a2.amounts[at[d(11, 30)]] == Decimal("-1.00")  # 00:30 on Monday, Shanghai
    assert a2.amounts.count(Decimal("0.00")) == 10


def test_it_counts_first_arrivals_on_time_by_the_promised_day(world, county_a):
    rows = by_start(charts.on_time(weeks(county_a)))

    assert (rows[d(11, 23)].arrived, rows[d(11, 23)].on_time, rows[d(11, 23)].rate) == (2, 1, 50)
    assert (rows[d(11, 30)].arrived, rows[d(11, 30)].on_time, rows[d(11, 30)].rate) == (1, 1, 100)
    assert rows[d(11, 16)].arrived == 0  # the order without a promise does not count
    assert rows[d(11, 16)].rate is None  # nothing arrived: no rate, not a false 0 %


def test_it_counts_exceptions_opened_and_the_open_ones_by_age(world, county_a):
    rows = by_start(charts.exceptions_opened(weeks(county_a)))

    assert {start: r.count for start, r in rows.items() if r.count} == {d(11, 9): 1, d(11, 16): 1, d(11, 23): 2}
    with translation.override("en"):
        assert charts.open_exceptions_by_age(weeks(county_a)) == [
            ("under 2 days", 0),
            ("2 to 6 days", 1),
            ("7 to 13 days", 0),
            ("14 days or more", 1),
        ]


def test_it_sums_cash_short_and_over_at_the_closes(world, county_a):
    rows = by_start(charts.cash_differences(weeks(county_a)))

    week = rows[d(11, 23)]
    assert (week.closes, week.off, week.short, week.over) == (3, 2, Decimal("-5.00"), Decimal("2.50"))
    week = rows[d(11, 30)]
    assert (week.closes, week.off, week.short, week.over) == (1, 1, Decimal("-1.00"), Decimal("0.00"))
    assert rows[d(11, 16)].closes == 0


def test_it_sums_produce_received_and_paid_in_each_period(world, county_a):
    w = by_start(charts.produce_bought(weeks(county_a)))
    m = by_start(charts.produce_bought(months(county_a)))

    assert (w[d(11, 23)].received, w[d(11, 23)].received_value, w[d(11, 23)].paid_value) == (
        1,
        Decimal("85.00"),
        Decimal("0.00"),
    )
    assert w[d(11, 30)].paid_value == Decimal("85.00")
    assert w[d(11, 16)].paid_value == Decimal("40.00")  # received in August, before the 12 weeks
    assert sum(r.received for r in w.values()) == 1
    assert (m[d(8, 1)].received, m[d(8, 1)].received_value) == (1, Decimal("40.00"))
    assert (m[d(11, 1)].received_value, m[d(11, 1)].paid_value) == (Decimal("85.00"), Decimal("40.00"))
    assert m[d(12, 1)].paid_value == Decimal("85.00")


def test_one_station_sees_only_its_own_figures(world, county_a, station_a2):
    scope = weeks(county_a, station_a2)

    assert {r.start: r.count for r in charts.orders_placed(scope) if r.count} == {d(11, 16): 2}
    assert [r.total for r in charts.commission_by_station(scope, [("A-002", station_a2.name)])] == [Decimal("2.00")]
    assert sum(r.arrived for r in charts.on_time(scope)) == 0
    assert [n for _label, n in charts.open_exceptions_by_age(scope)] == [0, 1, 0, 0]
    assert sum(r.closes for r in charts.cash_differences(scope)) == 1
    assert sum(r.paid_value for r in charts.produce_bought(scope)) == Decimal("40.00")


# --- the page -----------------------------------------------------------------------------------------------


def svg_of(html: str, key: str) -> str:
    section = html.split(f'id="chart-{key}"', 1)[1]
    uri = section.split('src="data:image/svg+xml;charset=utf-8;base64,', 1)[1].split('"', 1)[0]
    return base64.b64decode(uri).decode()


def test_the_page_draws_every_chart_with_its_table(world, county_manager):
    response = client_of(county_manager).get("/county/charts/")

    assert response.status_code == 200
    html = response.content.decode()
    for key in ["orders", "commission", "on-time", "exceptions", "exception-ages", "cash", "produce"]:
        svg = svg_of(html, key)
        assert svg.startswith("<?xml") and "<svg" in svg
        # js=[]: no script file; what is left is pygal's inert config, and an SVG image runs no script anyway
        assert ".js" not in svg and 'xlink:href="http' not in svg
    # the tables carry the same figures: week 11-23's orders, A's commission, the on-time rate
    assert '<th scope="row">11-23</th><td class="num">2</td><td class="num">150.50</td>' in html
    assert '<td class="num">10.00</td></tr>' in html
    assert '<td class="num">50</td>' in html
    assert "下姜村服务站" not in html  # county B's station is in no list and no chart
    assert "300.00" not in html


def test_the_page_stays_under_the_partner_pages_budget(world, county_manager):
    """No JavaScript charting library: the eight pygal images travel inside the page (58 KB gzipped here)."""
    from tests.test_page_weight import BUDGET, page_weight

    weight, _assets = page_weight(client_of(county_manager).get("/county/charts/").content)

    assert weight < BUDGET, weight


def test_the_months_and_one_station(world, county_manager, station_a2):
    response = client_of(county_manager).get("/county/charts/", {"period": "months", "station": "A-002"})

    assert response.status_code == 200
    html = response.content.decode()
    assert '<th scope="row">2026-11</th><td class="num">2</td><td class="num">20.00</td>' in html
    assert "胥岭村服务站" in svg_of(html, "commission")  # one station: its bars per month
    assert ">里叶村服务站</th>" not in html  # only A-002's commission row


def test_an_empty_county_shows_twelve_zeros_everywhere(db, now):
    manager = CountyManagerFactory(user=UserFactory(username="empty"), county=ServiceCenterFactory().village.county)

    response = client_of(manager.user).get("/county/charts/?period=months")

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('<th scope="row">2026-01</th>') == 5  # orders, on time, exceptions, cash, produce
    scope = months(manager.county)
    assert all(r.count == 0 for r in charts.orders_placed(scope))
    assert [n for _label, n in charts.open_exceptions_by_age(scope)] == [0, 0, 0, 0]


def test_a_one_point_series_draws(now, station_a, county_manager):
    world = World(station_a)
    world.order(station_a, local(TODAY, 9), "42.00")

    response = client_of(county_manager).get("/county/charts/")

    assert response.status_code == 200
    assert "42.00" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ({"period": "days"}, 400, "period must be weeks or months"),
        ({"period": "x" * 5000}, 400, "period must be weeks or months"),
        ({"station": "B-001"}, 404, "no station with the code B-001"),  # another county's
        ({"station": "NOPE"}, 404, "no station with the code NOPE"),
        ({"station": "<b>x</b>"}, 404, "no station with the code &lt;b&gt;x&lt;/b&gt;"),
    ],
)
def test_bad_parameters_get_a_reason_never_a_500(now, station_b, county_manager, query, status, reason):
    response = client_of(county_manager).get("/county/charts/", query)

    assert response.status_code == status
    assert reason in response.content.decode()


def test_station_staff_and_another_county_are_refused(now, staff_a, station_b):
    assert client_of(staff_a).get("/county/charts/").status_code == 404
    assert Client().get("/county/charts/").status_code == 302  # to the login page
    manager_b = CountyManagerFactory(user=UserFactory(username="bea"), county=station_b.village.county).user
    html = client_of(manager_b).get("/county/charts/").content.decode()
    assert "里叶村服务站" not in html
    assert client_of(manager_b).get("/county/charts/", {"station": "A-001"}).status_code == 404


def test_the_page_costs_the_same_queries_for_any_world(world, station_a, county_manager, django_assert_num_queries):
    client = client_of(county_manager)
    client.get("/county/charts/")  # warm: the session is loaded once per request anyway
    for _more in range(5):
        ServiceCenterFactory(village__county=station_a.village.county)
        StationStaffFactory(service_center=ServiceCenterFactory())

    # session, user, the counties, the county's stations, then one per chart: orders, commission, on time,
    # exceptions opened, open exceptions by age, cash differences, produce; then the session saved (savepoint,
    # update, release).
    with django_assert_num_queries(14):
        assert client.get("/county/charts/").status_code == 200
    with django_assert_num_queries(14):
        assert client.get("/county/charts/", {"station": "A-002", "period": "months"}).status_code == 200


def test_the_workspace_links_to_the_charts(now, county_manager):
    html = client_of(county_manager).get("/county/").content.decode()

    assert 'href="/county/charts/"' in html
