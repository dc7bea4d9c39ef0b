"""Goods not collected (issue #14): the SMS reminders on the collection policy's days, each once, and the policy.

Time is frozen with time_machine: the goods arrive at the station on ARRIVED at 10:00 (Shanghai),
and the daily task runs at 09:00 on the days that follow.
"""

import itertools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from notifications.models import Notification
from notifications.sms import render
from notifications.tasks import send_notification
from orders import services
from orders.models import CollectionPolicy, Order, PickupReminder, parse_reminder_days
from orders.policy import Policy, collection_policy
from orders.reminders import send_pickup_reminders
from orders.tasks import remind_uncollected
from tests.factories import StockFactory, VillagerFactory
from tests.orders.conftest import place

SHANGHAI = ZoneInfo("Asia/Shanghai")
ARRIVED = date(2026, 9, 1)
keys = itertools.count()


def local(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI)


def day(n: int) -> date:
    """The n-th day after the goods arrived (day 0 is the arrival)."""
    return ARRIVED + timedelta(days=n)


def run_on(n: int, hour: int = 9) -> int:
    """The daily task as beat starts it, on day ``n`` at 09:00."""
    with time_machine.travel(local(day(n), hour), tick=False):
        return remind_uncollected()


def reminder_texts(order: Order | None = None) -> list[Notification]:
    texts = Notification.objects.filter(template="order_reminder").order_by("pk")
    return list(texts.filter(reference=order.number) if order else texts)


@pytest.fixture
def arrived(place_at_a, fertilizer_stock, deliver, staff_a):
    """``arrived(villager=..., on=n)``: an order placed, paid, shipped and checked in at station A on day n."""
    fertilizer_stock.on_hand = 100
    fertilizer_stock.save()

    def arrive(*, villager=None, on: int = 0, hour: int = 10) -> Order:
        with time_machine.travel(local(day(on), hour), tick=False):
            extra = {"villager": villager} if villager else {}
            order = place_at_a((fertilizer_stock.product, 1), key=f"k-{next(keys)}", notify=False, **extra).order
            return deliver(order, actor=staff_a)

    return arrive


# --- the reminders -------------------------------------------------------------------------


def test_it_reminds_on_the_third_and_the_seventh_day(arrived, villager_a):
    order = arrived()

    sent = {n: run_on(n) for n in range(14)}

    assert [n for n, count in sent.items() if count] == [3, 7]
    first, second = reminder_texts(order)
    assert (first.recipient, first.villager_id, first.status) == ("+8613812345678", villager_a.pk, "pending")
    assert first.payload["days"] == 3 and second.payload["days"] == 7
    assert first.payload["send_back_on"] == "9月15日"  # 14 days after 1 September
    assert list(order.pickup_reminders.values_list("day", "notification")) == [(3, first.pk), (7, second.pk)]


def test_the_reminder_text_names_the_code_the_station_and_the_wait(arrived, station_a):
    order = arrived()

    run_on(3)

    (text,) = reminder_texts(order)
    assert render(text.template, text.payload) == (
        f"【村淘】您的订单{order.number}已在{station_a.name}等您3天，请凭取货码{order.pickup_code}尽快取货，"
        "9月15日前未取将退回。"
    )


def test_the_days_are_calendar_days_at_the_station(arrived):
    # arrived late in the evening of day 0: the third day is still day 3, not 72 hours later
    order = arrived(hour=23)

    assert run_on(3, hour=0) == 1
    assert reminder_texts(order)[0].payload["days"] == 3


def test_it_reminds_once_when_the_task_runs_twice(arrived):
    order = arrived()

    assert run_on(3) == 1
    assert run_on(3, hour=15) == 0
    assert run_on(4) == 0

    assert len(reminder_texts(order)) == 1


def test_the_database_refuses_a_second_reminder_of_one_day(arrived):
    order = arrived()
    PickupReminder.objects.create(order=order, day=3)

    with pytest.raises(IntegrityError), transaction.atomic():
        PickupReminder.objects.create(order=order, day=3)


def test_a_late_run_sends_only_the_latest_reminder(arrived):
    # the worker was down from day 2 to day 8: the order is past both reminder days
    order = arrived()

    assert run_on(9) == 1
    assert run_on(10) == 0

    (text,) = reminder_texts(order)
    assert text.payload["days"] == 9
    assert list(order.pickup_reminders.values_list("day", flat=True)) == [7]


def test_a_run_two_days_late_sends_the_missed_reminder_once(arrived):
    order = arrived()

    assert run_on(5) == 1  # day 3's, late
    assert run_on(6) == 0
    assert run_on(7) == 1

    assert [t.payload["days"] for t in reminder_texts(order)] == [5, 7]


def test_no_reminder_once_the_goods_are_due_back(arrived):
    order = arrived()

    assert run_on(14) == 0
    assert run_on(20) == 0

    assert reminder_texts(order) == []


def test_no_sms_without_a_phone_or_consent(arrived, station_a):
    no_phone = arrived(villager=VillagerFactory(service_center=station_a, phone="", sms_consent=False))
    said_no = arrived(villager=VillagerFactory(service_center=station_a, sms_consent=False))
    agreed = arrived(villager=VillagerFactory(service_center=station_a))

    assert run_on(3) == 3

    assert [t.reference for t in reminder_texts()] == [agreed.number]
    # their turn is recorded all the same: a later consent does not bring a stale reminder
    assert PickupReminder.objects.filter(order__in=[no_phone, said_no], notification=None).count() == 2


def test_orders_collected_or_elsewhere_in_their_life_are_not_reminded(arrived, staff_a, place_at_a, fertilizer_stock):
    collected = arrived()
    with time_machine.travel(local(day(1), 11), tick=False):
        services.hand_over(order=collected, actor=staff_a, pickup_code=collected.pickup_code)
    with time_machine.travel(local(day(0)), tick=False):
        place_at_a((fertilizer_stock.product, 1), key="only-placed", notify=False)

    assert run_on(3) == 0
    assert reminder_texts() == []


def test_every_station_s_orders_are_reminded(arrived, station_b, villager_b, staff_b, warehouse_b, fertilizer, deliver):
    a = arrived()
    StockFactory(product=fertilizer, warehouse=warehouse_b, on_hand=5)
    with time_machine.travel(local(day(0), 10), tick=False):
        b = deliver(place(station_b, villager_b, staff_b, fertilizer, key="b"), actor=staff_b)

    assert run_on(3) == 2

    assert {t.reference for t in reminder_texts()} == {a.number, b.number}
    assert {t.payload["station"] for t in reminder_texts()} == {a.service_center.name, station_b.name}


@pytest.mark.parametrize("n", [2, 8])
def test_a_run_costs_the_same_queries_for_any_number_of_orders(arrived, station_a, n, django_assert_num_queries):
    for _ in range(n):
        arrived(villager=VillagerFactory(service_center=station_a))

    # 1 the policy, 2 SAVEPOINT, 3 the orders due (with arrival, last reminder, villager and station),
    # 4 their texts, 5 their reminders, 6 RELEASE
    with time_machine.travel(local(day(3)), tick=False), django_assert_num_queries(6):
        assert send_pickup_reminders() == n

    assert len(reminder_texts()) == n


def test_a_run_with_nothing_due_costs_four_queries(arrived, django_assert_num_queries):
    arrived()

    with time_machine.travel(local(day(2)), tick=False), django_assert_num_queries(4):
        assert send_pickup_reminders() == 0


def test_the_texts_are_queued_for_sending_after_commit(arrived, django_capture_on_commit_callbacks, monkeypatch):
    order = arrived()
    queued = []
    monkeypatch.setattr(send_notification, "delay", lambda *args: queued.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        run_on(3)

    assert queued == [(reminder_texts(order)[0].pk,)]


def test_the_task_is_on_the_beat_schedule_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["remind-uncollected-orders"]

    assert entry["task"] == "orders.tasks.remind_uncollected"
    assert entry["schedule"].hour == {9} and entry["schedule"].minute == {0}


# --- the policy ----------------------------------------------------------------------------


def test_the_policy_has_defaults_without_a_row(db):
    assert collection_policy() == Policy(reminder_days=(3, 7), send_back_after_days=14)


@pytest.mark.parametrize(
    ("text", "days"),
    [("3,7", (3, 7)), (" 7, 3,3 ", (3, 7)), ("３，７", (3, 7)), ("2、5；9", (2, 5, 9)), ("", ()), ("1", (1,))],
)
def test_reminder_days_are_read_as_a_list_of_days(text, days):
    assert parse_reminder_days(text) == days


@pytest.mark.parametrize("text", ["3;x", "0,3", "3.5", "-3", "1,2,3,4,5,6", "91", "9" * 50])
def test_reminder_days_that_are_not_a_few_whole_days_are_refused(text):
    with pytest.raises(ValidationError):
        parse_reminder_days(text)


def test_a_reminder_on_or_after_the_send_back_day_is_refused(db):
    policy = CollectionPolicy(reminder_days="3,14", send_back_after_days=14)

    with pytest.raises(ValidationError) as refused:
        policy.full_clean()

    assert list(refused.value.message_dict) == ["reminder_days"]


def test_the_policy_is_one_row(db):
    CollectionPolicy(reminder_days="2", send_back_after_days=10).save()
    CollectionPolicy(reminder_days="4", send_back_after_days=12).save()

    assert list(CollectionPolicy.objects.values_list("pk", "reminder_days")) == [(1, "4")]


def test_the_policy_changes_the_reminder_days(arrived):
    CollectionPolicy.objects.create(reminder_days="2,5", send_back_after_days=10)
    order = arrived()

    sent = {n: run_on(n) for n in range(14)}

    assert [n for n, count in sent.items() if count] == [2, 5]
    assert reminder_texts(order)[0].payload["send_back_on"] == "9月11日"


def test_no_reminder_days_send_none(arrived):
    CollectionPolicy.objects.create(reminder_days="", send_back_after_days=14)
    arrived()

    assert sum(run_on(n) for n in range(14)) == 0


def test_a_row_written_around_the_admin_does_not_stop_the_reminders(arrived, caplog):
    CollectionPolicy.objects.update_or_create(pk=1, defaults={"reminder_days": "three", "send_back_after_days": 14})
    order = arrived()

    assert run_on(3) == 1
    assert "unreadable reminder days" in caplog.text
    assert reminder_texts(order)[0].payload["days"] == 3


# --- the policy in the admin ---------------------------------------------------------------

POLICY_URL = "/admin/orders/collectionpolicy/"


def test_the_admin_shows_the_defaults_and_saves_them_as_the_one_row(client, admin_user):
    client.force_login(admin_user)

    page = client.get(POLICY_URL)

    assert page.status_code == 200
    assert page.context["adminform"].form.initial["reminder_days"] == "3,7"
    assert not CollectionPolicy.objects.exists()  # looking writes nothing

    saved = client.post(POLICY_URL, {"reminder_days": "2， 5", "send_back_after_days": "10"})

    assert saved.status_code == 302
    assert list(CollectionPolicy.objects.values_list("pk", "reminder_days", "send_back_after_days")) == [(1, "2,5", 10)]
    client.post(POLICY_URL, {"reminder_days": "4", "send_back_after_days": "12"})
    assert collection_policy() == Policy(reminder_days=(4,), send_back_after_days=12)
    assert CollectionPolicy.objects.count() == 1


def test_the_admin_changes_the_days_the_villagers_are_reminded_on(client, admin_user, arrived):
    client.force_login(admin_user)
    client.post(POLICY_URL, {"reminder_days": "1,4", "send_back_after_days": "6"})
    order = arrived()

    assert [n for n in range(8) if run_on(n)] == [1, 4]
    assert reminder_texts(order)[0].payload["send_back_on"] == "9月7日"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"reminder_days": "3,x", "send_back_after_days": "14"}, "reminder_days"),
        ({"reminder_days": "3,14", "send_back_after_days": "14"}, "reminder_days"),
        ({"reminder_days": "3,7", "send_back_after_days": "0"}, "send_back_after_days"),
        ({"reminder_days": "3,7", "send_back_after_days": "abc"}, "send_back_after_days"),
    ],
)
def test_the_admin_refuses_a_bad_policy_with_a_reason(client, admin_user, data, field):
    client.force_login(admin_user)

    response = client.post(POLICY_URL, data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert list(errors) == [field] and len(errors[field]) == 1
    assert not CollectionPolicy.objects.exists()


def test_the_admin_has_no_add_and_no_delete(client, admin_user):
    client.force_login(admin_user)
    client.post(POLICY_URL, {"reminder_days": "3,7", "send_back_after_days": "14"})

    assert client.get(f"{POLICY_URL}add/").status_code == 403
    assert client.post(f"{POLICY_URL}1/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{POLICY_URL}1/change/").status_code == 200
    assert CollectionPolicy.objects.count() == 1


def test_the_policy_is_the_superuser_s_only(client, county_manager):
    county_manager.is_staff = True
    county_manager.save()
    client.force_login(county_manager)

    assert client.get(POLICY_URL).status_code == 403
    assert client.post(POLICY_URL, {"reminder_days": "1", "send_back_after_days": "2"}).status_code == 403
    assert not CollectionPolicy.objects.exists()
