"""The delivery promise in a real Chromium at the county's 1280 px: the workspace tile counts the orders late and
at risk, the page lists them with their reasons, and the weekly on-time rate shows as a chart and in tables.

The past is built with time_machine relative to today (an order on time two weeks ago, one late last week, one
planned three days ago on a run that never left, one too large for the truck yesterday); the browser then runs at
the real current time, so the session is not crossed by a time jump.  Whatever today's weekday: the route leaves
every day.
"""

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone, translation
from django.utils.translation import gettext

from logistics import services as dispatch
from logistics.models import UnplannedOrder
from orders import services
from orders.models import Order
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart

from .conftest import ARTIFACTS, PASSWORD, shot
from .test_county import log_in_as_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def zh(message: str, **values) -> str:
    """What the page says in Chinese (the page's language), so the test reads the msgids."""
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % values if values else text


def test_the_county_sees_late_and_at_risk_orders_and_the_weekly_on_time_rate(
    desk, county_manager, staff_a, station_a, station_a2, route, big_truck, bag, warehouse_a
):
    page = desk
    county_manager.set_password(PASSWORD)
    county_manager.save()
    route.name = "城关—里叶线"
    route.save()  # leaves every day at 16:00 (cutoff), there the next day; a 1000 kg truck
    keys = iter(range(100))

    def place(station, at: datetime, bags: int = 1) -> Order:
        with time_machine.travel(at, tick=False):
            order = services.place_order(
                station=station,
                villager=station.villagers.first() or VillagerFactory(service_center=station),
                placed_by=staff_a,
                lines=[services.LineRequest(bag.sku, bags)],
                delivery_method="station_pickup",
                payment_method="cash_at_station",
                idempotency_key=f"promise-{next(keys)}",
                notify=False,
            ).order
            return services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)

    def reached(order: Order, at: datetime) -> None:
        with time_machine.travel(at, tick=False):
            services.transition(order, to=Order.Status.BATCHED, actor=staff_a)
            depart(order=order, actor=staff_a)
            arrive(order=order, actor=staff_a, notify=False)

    today = timezone.localdate()
    two_weeks_ago = today - timedelta(days=today.weekday() + 14)  # a Monday
    last_week = two_weeks_ago + timedelta(weeks=1)
    # two weeks ago: placed Monday morning, promised Tuesday, there Tuesday (on time)
    on_time = place(station_a, local(two_weeks_ago, 9))
    assert on_time.promised_on == two_weeks_ago + timedelta(days=1)
    reached(on_time, local(two_weeks_ago + timedelta(days=1), 10))
    # last week, at the other station: promised Tuesday, there Thursday (late)
    was_late = place(station_a2, local(last_week, 9))
    assert was_late.promised_on == last_week + timedelta(days=1)
    reached(was_late, local(last_week + timedelta(days=3), 10))
    # three days ago: planned into the 16:00 run, which never left: late now, its run "arrives" two days ago
    stuck_day = today - timedelta(days=3)
    late = place(station_a, local(stuck_day, 9))
    with time_machine.travel(local(stuck_day, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=stuck_day)
    late.refresh_from_db()
    assert late.status == Order.Status.BATCHED and late.promised_on == stuck_day + timedelta(days=1) < today
    # yesterday: 30 bags (1500 kg) for a 1000 kg truck, promised today: at risk, no run can take it
    yesterday = today - timedelta(days=1)
    too_big = place(station_a, local(yesterday, 9), bags=30)
    with time_machine.travel(local(yesterday, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=yesterday)
    too_big.refresh_from_db()
    assert too_big.status == Order.Status.CONFIRMED and too_big.promised_on == today

    # --- the workspace's tile: 1 late · 1 at risk, and it leads to the page
    log_in_as_county(page, county_manager.username)
    tile = page.locator("main a.tile[href='/county/promises/']")
    assert "已逾期订单 · 可能逾期订单" in tile.inner_text()
    assert tile.locator("strong").inner_text().split() == ["1", "·", "1"]
    assert "attention" in tile.get_attribute("class")
    shot(page, "promise-01-workspace-1280")
    tile.click()
    page.wait_for_url("**/county/promises/")
    assert page.locator("main h1").inner_text() == zh("Delivery promise")

    # --- the late order and the one at risk, each in its card with the reason
    late_card, risk_card, rate_card = (page.locator("main section.card").nth(i) for i in range(3))
    assert late_card.locator("h2").inner_text() == "1 个订单已逾期"
    assert risk_card.locator("h2").inner_text() == "1 个订单可能逾期"
    late_row = late_card.locator("tbody tr")
    assert late_row.count() == 1 and late.number in late_row.inner_text()
    cells = [late_row.locator("td").nth(i).inner_text() for i in range(6)]
    assert cells[0] == f"{late.promised_on:%m-%d}" and cells[2] == station_a.name
    assert cells[4] == "—"  # its run never left: no day it can be there
    run_day = late.promised_on - timedelta(days=1)  # the route's one travel day
    assert cells[5] == zh("the run planned for %(day)s has not left", day=f"{run_day:%m-%d}")
    risk_row = risk_card.locator("tbody tr")
    assert risk_row.count() == 1 and too_big.number in risk_row.inner_text()
    cells = [risk_row.locator("td").nth(i).inner_text() for i in range(6)]
    assert cells[0] == f"{today:%m-%d}" and cells[4] == "—"
    assert cells[5] == zh(str(UnplannedOrder.Reason.TOO_LARGE.label))
    main = page.locator("main").inner_text()
    assert on_time.number not in main and was_late.number not in main  # arrived: neither late nor at risk
    assert "王建国" not in main  # the villager's name is masked

    # --- the chart: an <img> of a data URI that the browser decoded, as wide as its card at most
    chart = rate_card.locator("img.chart")
    src = chart.get_attribute("src")
    assert src.startswith("data:image/svg+xml;") and ";base64," in src
    chart.scroll_into_view_if_needed()
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0 && img.naturalHeight > 0")
    box, card = chart.bounding_box(), rate_card.bounding_box()
    assert box["width"] > 400 and box["x"] + box["width"] <= card["x"] + card["width"]

    # --- the tables: per route 100 % two weeks ago and 0 % last week; per station one row each
    route_table, station_table = rate_card.locator("table.on-time").nth(0), rate_card.locator("table.on-time").nth(1)
    assert route_table.locator("thead th").count() == 1 + 8  # the name, eight Mondays
    assert route_table.locator("thead th").nth(8).inner_text() == f"{today - timedelta(days=today.weekday()):%m-%d}"

    def figures(table, name: str) -> list[str]:
        row = table.locator("tbody tr").filter(has_text=name)
        assert row.count() == 1, f"no row for {name}"
        return [" ".join(td.split()) for td in row.locator("td.num").all_inner_texts()]

    assert figures(route_table, "城关—里叶线")[5:] == ["100% 1/1", "0% 0/1", "—"]
    assert station_table.locator("tbody tr").count() == 2
    assert figures(station_table, station_a.name)[5:] == ["100% 1/1", "—", "—"]
    assert figures(station_table, station_a2.name)[5:] == ["—", "0% 0/1", "—"]
    shot(page, "promise-02-page-1280")  # also: nothing scrolls sideways at 1280 px
    rate_card.screenshot(path=str(ARTIFACTS / "promise-03-on-time-card-1280.png"))
