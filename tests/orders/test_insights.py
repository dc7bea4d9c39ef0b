"""What sells (orders.insights): a small world where every answer is known, the page's fixed query count,
who sees the commission, the charts for any series, and the new-order page's hint."""

import base64
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from orders import insights
from orders.models import Order
from partners.models import StationStaff
from tests.factories import (
    CategoryFactory,
    CountyManagerFactory,
    ProductFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    VillageFactory,
    VillagerFactory,
    WarehouseFactory,
)
from tests.order_steps import sold

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 2)  # the season: 2026-09-04 to 2026-12-02; the same weeks last year: 2025-09-05 to 2025-12-03
C = Order.Status


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def english_pages(client):
    """The page's words are matched in English (the site speaks Chinese first)."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


@pytest.fixture
def now():
    with time_machine.travel(local(TODAY, 12), tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def world(now, station_a, staff_a):
    """Station A and A2 in county A, B in county B; what each sold this season and in the same weeks last year."""
    county_a = station_a.village.county
    WarehouseFactory(county=county_a, code="WH-A")
    a2 = ServiceCenterFactory(code="A-002", village=VillageFactory(county=county_a))
    b = ServiceCenterFactory(code="B-009")
    WarehouseFactory(county=b.village.county, code="WH-B9")
    fert_cat = CategoryFactory(name="化肥", slug="fert")
    seed_cat = CategoryFactory(name="种子", slug="seed")
    tv_cat = CategoryFactory(name="家电", slug="tv")
    fert = ProductFactory(name="复合肥", category=fert_cat, price=Decimal("168.00"))
    seed = ProductFactory(name="玉米种", category=seed_cat, price=Decimal("20.00"))
    tv = ProductFactory(name="电视机", category=tv_cat, price=Decimal("2000.00"))
    only_a2 = ProductFactory(name="喷雾器", category=tv_cat, price=Decimal("50.00"))
    cancelled_here = ProductFactory(name="水泵", category=tv_cat, price=Decimal("300.00"))
    placed_here = ProductFactory(name="电饭煲", category=tv_cat, price=Decimal("200.00"))
    only_b = ProductFactory(name="乙县货", category=tv_cat, price=Decimal("10.00"))
    v = {
        name: VillagerFactory(service_center=station_a, name=name)
        for name in "王建国 李四 张三 赵四 钱五 孙六 周七 吴八".split()
    }

    # this season at A
    sold(station_a, v["王建国"], {fert: 3}, on=date(2026, 10, 1))
    sold(station_a, v["王建国"], {seed: 1}, on=date(2026, 11, 1))
    sold(station_a, v["王建国"], {seed: 9}, on=date(2026, 8, 1))  # before the season
    sold(station_a, v["李四"], {tv: 1}, on=date(2026, 11, 15))
    sold(station_a, v["李四"], {fert: 2}, on=date(2026, 11, 20), returned={fert: 1})  # one bag brought back
    sold(station_a, v["张三"], {fert: 5, placed_here: 1}, status=C.PLACED)  # not collected: not sold, but live
    sold(station_a, v["钱五"], {fert: 1, cancelled_here: 1}, status=C.CANCELLED)
    # the same weeks last year at A
    sold(station_a, v["王建国"], {fert: 1}, on=date(2025, 10, 1))
    sold(station_a, v["张三"], {fert: 1}, on=date(2025, 10, 10))
    sold(station_a, v["赵四"], {fert: 6}, on=date(2025, 11, 1))
    sold(station_a, v["钱五"], {fert: 2}, on=date(2025, 11, 2))
    sold(station_a, v["孙六"], {seed: 10}, on=date(2025, 10, 5))
    anonymised = v["周七"]
    sold(station_a, anonymised, {fert: 4}, on=date(2025, 10, 6))
    type(anonymised).objects.filter(pk=anonymised.pk).update(anonymised_at=timezone.now())
    sold(station_a, v["吴八"], {fert: 8}, on=date(2025, 6, 1))  # last spring, but not these weeks
    # the four weeks from this day last year (the new-order page's hint)
    sold(station_a, v["孙六"], {seed: 4}, on=date(2025, 12, 10))
    sold(station_a, v["赵四"], {fert: 1}, on=date(2025, 12, 20))
    # the county's other station, and another county
    w1 = VillagerFactory(service_center=a2, name="郑一")
    w2 = VillagerFactory(service_center=a2, name="冯二")
    sold(a2, w1, {fert: 10, only_a2: 3, tv: 1}, on=date(2026, 10, 20))
    sold(a2, w2, {only_a2: 2, cancelled_here: 1, placed_here: 1}, on=date(2026, 11, 3))
    sold(b, VillagerFactory(service_center=b, name="陈九"), {only_b: 7, fert: 50}, on=date(2026, 11, 3))
    return {
        "fert": fert,
        "seed": seed,
        "tv": tv,
        "only_a2": only_a2,
        "cancelled_here": cancelled_here,
        "v": v,
        "cats": (fert_cat, seed_cat, tv_cat),
        "a2": a2,
        "b": b,
    }


def season():
    return insights.season(timezone.localdate())


def names(rows):
    return [r.name for r in rows]


# --- the figures ---------------------------------------------------------------------------------------------


def test_the_season_is_the_last_90_days_and_last_year_the_same_weekdays(now):
    s = season()
    assert (s.first, s.last) == (date(2026, 9, 4), date(2026, 12, 2))
    last = s.year_before()
    assert (last.first, last.last) == (date(2025, 9, 5), date(2025, 12, 3))
    assert last.first.weekday() == s.first.weekday()


def test_the_station_s_best_sellers_by_units_and_by_value(world, station_a):
    by_units = insights.station_best_sellers(station_a, season(), commission=True)
    by_value = insights.station_best_sellers(station_a, season(), by="value")

    assert [(r.name, r.units, r.value) for r in by_units] == [
        ("复合肥", 4, Decimal("672.00")),  # 3 + 2, one bag brought back
        ("电视机", 1, Decimal("2000.00")),  # one unit like the seed: the larger value first
        ("玉米种", 1, Decimal("20.00")),
    ]
    assert by_units[0].commission == Decimal("33.60")  # 25.20 + 16.80 pro rata the one bag kept (8.40)
    assert names(by_value) == ["电视机", "复合肥", "玉米种"]
    assert by_value[0].commission is None


def test_the_county_s_best_sellers_are_its_stations_only(world, station_a):
    rows = insights.county_best_sellers(station_a, season())

    assert [(r.name, r.units) for r in rows] == [
        ("复合肥", 14),
        ("喷雾器", 5),
        ("电视机", 2),
        ("水泵", 1),
        ("电饭煲", 1),
        ("玉米种", 1),
    ]


def test_repeat_buyers_have_two_collected_orders_in_the_season(world, station_a):
    rows = insights.repeat_buyers(station_a, season())

    assert [(r.name, r.orders, r.value) for r in rows] == [
        ("李四", 2, Decimal("2336.00")),
        ("王建国", 2, Decimal("524.00")),
    ]


def test_who_to_remind_bought_it_in_these_weeks_last_year_and_not_this_season(world, station_a):
    fert_cat, seed_cat, _tv = world["cats"]

    fert = insights.who_to_remind(station_a, fert_cat.pk, season())
    seed = insights.who_to_remind(station_a, seed_cat.pk, season())

    # 王建国 bought again, 张三 has an order placed, 周七 is anonymised, 吴八 bought in June; 钱五's order was cancelled
    assert [(r.name, r.units) for r in fert] == [("赵四", 6), ("钱五", 2)]
    assert [(r.name, r.units) for r in seed] == [("孙六", 10)]
    assert insights.who_to_remind(station_a, None, season()) == []


def test_the_category_defaults_to_last_year_s_top_one_of_the_station_s_categories(world, station_a):
    fert_cat, seed_cat, tv_cat = world["cats"]

    choices = insights.station_categories(station_a, season())

    assert [(c.name, c.value_then) for c in choices] == [
        ("化肥", Decimal("2352.00")),  # 168 × 14: 1 + 1 + 6 + 2 + the anonymised villager's 4 (not 吴八's June 8)
        ("种子", Decimal("200.00")),
        ("家电", Decimal("0")),
    ]
    assert insights.chosen_category("", choices).pk == fert_cat.pk
    assert insights.chosen_category(str(seed_cat.pk), choices).pk == seed_cat.pk
    with pytest.raises(insights.BadCategory):
        insights.chosen_category("999999", choices)


def test_not_sold_here_is_what_the_other_stations_sold_and_this_one_never_had(world, station_a):
    rows = insights.not_sold_here(station_a, season())

    # the TV and the fertilizer sell here too; the rice cooker has an order placed here; the pump's was cancelled
    assert [(r.name, r.stations, r.units) for r in rows] == [("喷雾器", 1, 5), ("水泵", 1, 1)]


def test_this_time_last_year_is_the_four_weeks_from_this_day(world, station_a):
    rows = insights.this_time_last_year(station_a, TODAY)

    assert [(r.name, r.units) for r in rows] == [("玉米种", 4), ("复合肥", 1)]


# --- the page ------------------------------------------------------------------------------------------------

# session, user, the user's station (with its village and county), the categories, the station's best sellers,
# the county's, the repeat buyers, who to remind, not sold here; the session's expiry saved (a savepoint, the
# UPDATE, its release).  The same for 2 orders or 2 million: every figure is one GROUP BY.
INSIGHT_QUERIES = 12


def test_a_station_that_sold_nothing_costs_one_query_less(now, station_a, client_a, django_assert_num_queries):
    WarehouseFactory(county=station_a.village.county, code="WH-A")
    with django_assert_num_queries(INSIGHT_QUERIES - 1):  # no category to remind of: that query is not run
        empty = client_a.get("/insights/")
    assert empty.status_code == 200


def test_the_page_shows_the_figures_with_masked_names(world, client_a, django_assert_num_queries):
    with django_assert_num_queries(INSIGHT_QUERIES):
        page = client_a.get("/insights/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "复合肥" in html and "喷雾器" in html and "2000.00" in html
    assert "赵*" in html and "李*" in html and "赵四" not in html and "李四" not in html
    assert "乙县货" not in html  # another county's product
    assert "Commission (¥)" in html  # alice is the station's partner
    assert html.count('<img class="chart"') == 5


def test_the_page_takes_the_category_and_the_order(world, client_a):
    _fert, seed_cat, _tv = world["cats"]

    page = client_a.get(f"/insights/?category={seed_cat.pk}&by=value").content.decode()

    assert "孙*" in page and "赵*" not in page
    assert page.index("电视机") < page.index("复合肥")


def test_a_category_not_of_the_station_is_a_400_with_the_reason(world, client_a):
    page = client_a.get("/insights/?category=nope")

    assert page.status_code == 400 and "Choose one of the station" in page.content.decode()


def test_an_assistant_sees_what_sells_but_not_the_commission(world, station_a):
    assistant = StationStaffFactory(service_center=station_a, role=StationStaff.Role.ASSISTANT).user
    client = Client()
    client.force_login(assistant)

    page = client.get("/insights/")

    assert page.status_code == 200
    assert "复合肥" in page.content.decode() and "Commission (¥)" not in page.content.decode()


def test_another_station_sees_only_its_own(world, station_a):
    other = StationStaffFactory(service_center=world["b"]).user
    client = Client()
    client.force_login(other)

    html = client.get("/insights/").content.decode()

    assert "乙县货" in html
    assert "喷雾器" not in html and "王*" not in html and "赵*" not in html


def test_a_county_manager_has_no_station_page(world, station_a):
    manager = CountyManagerFactory(county=station_a.village.county).user
    client = Client()
    client.force_login(manager)

    assert client.get("/insights/").status_code == 403


def test_the_dashboard_and_the_menu_link_to_it(now, client_a, station_a):
    WarehouseFactory(county=station_a.village.county, code="WH-A")

    assert 'href="/insights/"' in client_a.get("/").content.decode()


# --- the charts ----------------------------------------------------------------------------------------------


def svg(uri: str) -> str:
    head, _comma, data = uri.partition(",")
    assert head == "data:image/svg+xml;charset=utf-8;base64"
    text = base64.b64decode(data).decode()
    assert text.lstrip().startswith(("<?xml", "<svg")) and "<script src" not in text and 'xlink:href="http' not in text
    return text


def test_the_chart_draws_an_empty_series():
    drawn = svg(insights.bar_chart([], [], title="units sold"))

    assert "Nothing sold in these weeks" in drawn and 'class="no_data"' in drawn


def test_the_chart_draws_one_bar():
    drawn = svg(insights.bar_chart(["复合肥"], [Decimal("4")], title="units sold"))

    assert "复合肥" in drawn and 'class="no_data"' not in drawn


def test_the_chart_draws_a_full_series():
    labels = [f"商品{i}" for i in range(insights.TOP)]

    drawn = svg(insights.bar_chart(labels, list(range(insights.TOP, 0, -1)), title="units sold"))

    assert all(label in drawn for label in labels)


def test_a_chart_is_drawn_once_for_the_same_figures_and_again_when_anything_it_shows_changes():
    from django.utils import translation

    insights._drawn.cache_clear()
    first = insights.bar_chart(["复合肥", "尿素"], [Decimal("4"), 2], title="units sold")
    again = insights.bar_chart(["复合肥", "尿素"], [4.0, Decimal("2")], title="units sold")
    assert again is first and insights._drawn.cache_info().hits == 1

    changed = [
        insights.bar_chart(["复合肥", "尿素"], [5, 2], title="units sold"),  # a figure
        insights.bar_chart(["复合肥", "磷肥"], [4, 2], title="units sold"),  # a name
        insights.bar_chart(["复合肥", "尿素"], [4, 2], title="value sold (¥)"),  # the title
    ]
    assert len({first, *changed}) == 4
    with translation.override("en"):
        english_empty = svg(insights.bar_chart([], [], title="units sold"))
    with translation.override("zh-hans"):
        chinese_empty = svg(insights.bar_chart([], [], title="units sold"))
    assert "Nothing sold in these weeks" in english_empty and "Nothing sold in these weeks" not in chinese_empty


# --- the new-order page's hint -------------------------------------------------------------------------------


def test_the_new_order_page_shows_this_time_last_year_in_one_query(world, client_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client_a.get("/orders/new/")

    html = page.content.decode()
    assert page.status_code == 200
    assert "This time last year" in html
    assert html.index("玉米种") < html.index("复合肥")  # 4 bags of seed, then 1 of fertilizer
    assert f"?q={world['seed'].sku}" in html
    assert sum("orders_orderline" in q["sql"] for q in queries.captured_queries) == 1


def test_the_new_order_page_has_no_hint_when_nothing_sold_then(now, client_a, station_a):
    WarehouseFactory(county=station_a.village.county, code="WH-A")

    assert "This time last year" not in client_a.get("/orders/new/").content.decode()
