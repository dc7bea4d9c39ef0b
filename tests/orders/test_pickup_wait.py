"""Goods not collected (issue #14): how long each order has waited, on the partner's dashboard, list and order page."""

import itertools
import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from orders import services
from orders.models import CollectionPolicy, Order
from orders.policy import Policy, Wait
from orders.reminders import send_pickup_reminders
from partners.models import StationStaff
from tests.factories import StationStaffFactory, UserFactory, VillagerFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 9, 20)
keys = itertools.count()


def local(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def arrived(place_at_a, fertilizer_stock, deliver, staff_a):
    """``arrived(days_ago, villager=...)``: an order checked in at station A that many days before TODAY."""
    fertilizer_stock.on_hand = 100
    fertilizer_stock.save()

    def arrive(days_ago: int, *, villager=None) -> Order:
        with time_machine.travel(local(TODAY - timedelta(days=days_ago)), tick=False):
            extra = {"villager": villager} if villager else {}
            order = place_at_a((fertilizer_stock.product, 1), key=f"w-{next(keys)}", notify=False, **extra).order
            return deliver(order, actor=staff_a)

    return arrive


@pytest.fixture
def today():
    with time_machine.travel(local(TODAY, 11), tick=False):
        yield TODAY


def en(client: Client) -> Client:
    client.cookies["django_language"] = "en"
    return client


def waiting_rows(html: str) -> list[str]:
    """The dashboard's waiting rows as text: one per order, tags dropped."""
    section = re.search(r'<section class="card" id="waiting">(.*?)</section>', html, re.S)
    assert section, "no waiting section"
    rows = re.findall(r'<li class="(wait-[a-z_]+)">(.*?)</li>', section.group(1), re.S)
    return [f"{cls}: " + " ".join(re.sub(r"<[^>]+>", " ", body).split()) for cls, body in rows]


# --- what a wait means ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "stage", "days_left"),
    [(0, Wait.WAITING, 14), (6, Wait.WAITING, 8), (7, Wait.REMINDED, 7), (11, Wait.REMINDED, 3)]
    + [(12, Wait.SEND_BACK_SOON, 2), (14, Wait.SEND_BACK_SOON, 0), (20, Wait.SEND_BACK_SOON, -6)],
)
def test_a_wait_is_late_past_the_last_reminder_and_near_the_send_back_day(days, stage, days_left):
    wait = Policy().wait(local(TODAY - timedelta(days=days), 23), today=TODAY)

    assert (wait.days, wait.stage, wait.days_left) == (days, stage, days_left)
    assert wait.send_back_on == TODAY + timedelta(days=days_left)


# --- the dashboard -------------------------------------------------------------------------


def test_the_dashboard_lists_the_orders_waiting_with_their_days_longest_first(client_a, arrived, today):
    fresh, reminded, nearly_back = arrived(0), arrived(8), arrived(13)

    html = en(client_a).get("/").content.decode()

    assert waiting_rows(html) == [
        f"wait-send_back_soon: 王建国 {nearly_back.number} waited 13 days goes back to the warehouse in 1 day",
        f"wait-reminded: 王建国 {reminded.number} waited 8 days past the last reminder; goes back on 09-26",
        f"wait-waiting: 王建国 {fresh.number} arrived today",
    ]


def test_the_dashboard_says_it_in_chinese(client_a, arrived, today):
    arrived(5), arrived(14)

    rows = waiting_rows(client_a.get("/").content.decode())

    assert rows[0].endswith("已等14天 今天应退回仓库")
    assert rows[1].endswith("已等5天")


def test_the_policy_moves_the_highlights(client_a, arrived, today):
    CollectionPolicy.objects.create(reminder_days="2", send_back_after_days=30)
    order = arrived(3)

    (row,) = waiting_rows(en(client_a).get("/").content.decode())

    assert row.startswith("wait-reminded:") and "goes back on 10-17" in row
    assert order.number in row


def test_the_dashboard_shows_the_ten_longest_waiting_and_links_to_all(client_a, arrived, today):
    for days in range(12):
        arrived(days)

    html = en(client_a).get("/").content.decode()

    rows = waiting_rows(html)
    assert len(rows) == 10 and "waited 11 days" in rows[0] and "waited 2 days" in rows[-1]
    assert 'href="/orders/?status=at_station">All 12 waiting' in html


def test_nothing_waiting_shows_no_waiting_section(client_a, order_a, today):
    assert 'id="waiting"' not in client_a.get("/").content.decode()


def test_the_dashboard_costs_the_same_queries_for_1_or_10_waiting(client_a, arrived, station_a, today):
    arrived(3)
    with CaptureQueriesContext(connection) as few:
        assert client_a.get("/").status_code == 200
    for days in range(9):
        arrived(days, villager=VillagerFactory(service_center=station_a))
    with CaptureQueriesContext(connection) as many:
        client_a.get("/")

    assert len(few) == len(many)


def test_an_assistant_sees_the_waiting_orders_too(client, station_a, arrived, today):
    assistant = StationStaffFactory(
        user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    order = arrived(9)
    client.force_login(assistant)

    rows = waiting_rows(en(client).get("/").content.decode())

    assert rows == [f"wait-reminded: 王建国 {order.number} waited 9 days past the last reminder; goes back on 09-25"]


def test_another_station_s_staff_never_see_the_waiting_orders(client, staff_b, arrived, today):
    order = arrived(9)
    client.force_login(staff_b)

    html = client.get("/").content.decode()

    assert order.number not in html and "王建国" not in html
    assert 'id="waiting"' not in html
    assert client.get(f"/orders/{order.number}/").status_code == 404


# --- the order list and page ---------------------------------------------------------------


def test_the_order_list_shows_the_days_of_the_orders_at_the_station(client_a, arrived, order_a, today):
    waiting = arrived(4)

    html = en(client_a).get("/orders/").content.decode()

    row = re.search(rf"<li>.*?{waiting.number}.*?</li>", html, re.S).group(0)
    assert "waited 4 days" in row
    placed = re.search(rf"<li>.*?{order_a.number}.*?</li>", html, re.S).group(0)
    assert "waited" not in placed and "arrived today" not in placed


def test_the_order_list_costs_the_same_queries_with_orders_waiting(client_a, arrived, order_a, today):
    with CaptureQueriesContext(connection) as none_waiting:
        client_a.get("/orders/")
    for days in range(5):
        arrived(days)
    with CaptureQueriesContext(connection) as five_waiting:
        client_a.get("/orders/?status=at_station")

    assert len(none_waiting) == len(five_waiting)


def test_the_order_page_shows_the_wait_the_reminders_and_the_send_back_day(client_a, arrived):
    order = arrived(7)
    with time_machine.travel(local(TODAY - timedelta(days=4), 9), tick=False):
        send_pickup_reminders()
    with time_machine.travel(local(TODAY, 9), tick=False):
        send_pickup_reminders()

        html = en(client_a).get(f"/orders/{order.number}/").content.decode()

    assert "The goods have waited 7 days at the station." in html
    assert "Not collected by 2026-09-27, they go back to the county warehouse." in html
    assert "Reminders: day 3 (09-16) · day 7 (09-20)" in html
    assert "gets no SMS" not in html


def test_the_order_page_says_when_the_villager_gets_no_sms(client_a, arrived, station_a, today):
    order = arrived(3, villager=VillagerFactory(service_center=station_a, phone="", sms_consent=False))
    send_pickup_reminders()

    html = en(client_a).get(f"/orders/{order.number}/").content.decode()

    assert "day 3 (09-20) no SMS" in html
    assert "The villager gets no SMS (no phone or no consent): tell them another way." in html


def test_an_order_no_longer_waiting_shows_no_wait(client_a, arrived, staff_a, today):
    order = arrived(5)
    services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)

    html = en(client_a).get(f"/orders/{order.number}/").content.decode()

    assert "waited" not in html and "go back to the county warehouse" not in html
