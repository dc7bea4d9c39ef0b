"""Installation appointments: the county's free slots (capacity per installer per half-day, working weekdays,
holidays) and booking one, including two partners booking the last place at once on PostgreSQL."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.utils import translation

from installations import services
from installations.models import Appointment, Installer
from notifications.models import Notification
from orders.models import Order
from partners.models import Holiday
from tests.conftest import requires_postgres
from tests.factories import ProductFactory, StockFactory, UserFactory
from tests.orders.test_concurrency import at_once

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 12, 7)
AM, PM = Appointment.HalfDay.AM, Appointment.HalfDay.PM


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def county_a(station_a):
    return station_a.village.county


@pytest.fixture
def installer(county_a):
    return Installer.objects.create(county=county_a, name="张师傅", capacity=1, user=UserFactory(username="zhang"))


@pytest.fixture
def installation_order(place_at_a, villager_a, warehouse_a):
    """An air conditioner to install, placed on the Friday before MONDAY (its goods due at the station by then)."""
    villager_a.address = "三组 12 号"
    villager_a.save()
    aircon = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True)
    StockFactory(product=aircon, warehouse=warehouse_a, on_hand=5)

    def place(key="install-1"):
        with time_machine.travel(datetime.combine(MONDAY - timedelta(days=3), time(9), TZ), tick=False):
            return place_at_a((aircon, 1), key=key, delivery_method=Order.DeliveryMethod.HOME_INSTALLATION).order

    return place


def test_the_free_slots_follow_capacity_working_days_and_holidays(county_a, installer):
    Installer.objects.create(county=county_a, name="李师傅", capacity=2, client=None, work_weekdays="12345")
    Holiday.objects.create(county=county_a, day=MONDAY + timedelta(days=1), name="集市")

    slots = {(s.day, s.half_day): s.free for s in services.free_slots(county_a.pk, MONDAY, days=7)}

    assert slots[(MONDAY, AM)] == 3  # one place of 张 and two of 李
    assert (MONDAY + timedelta(days=1), AM) not in slots  # the county's holiday
    assert slots[(MONDAY + timedelta(days=5), PM)] == 1  # Saturday: 李 does not work
    assert (MONDAY + timedelta(days=6), AM) not in slots  # Sunday: nobody works


def test_a_county_with_no_installer_has_no_slot_and_booking_says_so(installation_order, county_a):
    order = installation_order()
    assert services.free_slots(county_a.pk, MONDAY) == []
    with pytest.raises(services.BookingError, match="no installer"):
        services.book(order=order, day=MONDAY, half_day=AM, actor=None, today=MONDAY - timedelta(days=3))


def test_booking_takes_a_place_moves_the_promise_and_tells_the_villager(installation_order, installer, staff_a):
    order = installation_order()

    appointment = services.book(order=order, day=MONDAY, half_day=PM, actor=staff_a, today=MONDAY - timedelta(days=3))

    assert (appointment.installer, appointment.status) == (installer, Appointment.Status.BOOKED)
    assert Order.objects.get(pk=order.pk).promised_on == MONDAY
    slots = services.free_slots(installer.county_id, MONDAY, days=1)
    assert [(s.half_day, s.free) for s in slots] == [(AM, 1)]  # the afternoon is taken
    sms = Notification.objects.filter(template="installation_booked", reference=order.number).get()
    assert sms.payload["day"] == "12月07日" and sms.payload["half_day"] == "下午"


def test_rebooking_cancels_the_old_appointment_and_frees_its_place(installation_order, installer, staff_a):
    order = installation_order()
    friday = MONDAY - timedelta(days=3)
    first = services.book(order=order, day=MONDAY, half_day=AM, actor=staff_a, today=friday)

    second = services.book(order=order, day=MONDAY, half_day=PM, actor=staff_a, today=friday)

    first.refresh_from_db()
    assert first.status == Appointment.Status.CANCELLED
    assert services.live_appointment(order) == second
    assert [s.half_day for s in services.free_slots(installer.county_id, MONDAY, days=1)] == [AM]


def test_a_full_slot_is_refused_with_the_next_free_one(installation_order, installer, staff_a):
    friday = MONDAY - timedelta(days=3)
    services.book(order=installation_order("one"), day=MONDAY, half_day=PM, actor=staff_a, today=friday)

    with pytest.raises(services.SlotTaken) as refused:
        services.book(order=installation_order("two"), day=MONDAY, half_day=PM, actor=staff_a, today=friday)

    assert (refused.value.next_free.day, refused.value.next_free.half_day) == (MONDAY + timedelta(days=1), AM)


@pytest.mark.parametrize(
    ("day", "message"),
    [(MONDAY - timedelta(days=3), "Choose a day"), (MONDAY + timedelta(days=services.LOOK_AHEAD_DAYS), "Choose a day")],
)
def test_a_day_before_the_goods_arrive_or_too_far_ahead_is_refused(installation_order, installer, day, message):
    with pytest.raises(services.BookingError, match=message):
        services.book(order=installation_order(), day=day, half_day=AM, actor=None, today=MONDAY - timedelta(days=3))


def test_only_an_installation_order_gets_an_appointment(place_at_a, fertilizer_stock, installer):
    order = place_at_a((fertilizer_stock.product, 1)).order
    with pytest.raises(services.BookingError, match="home installation"):
        services.book(order=order, day=MONDAY, half_day=AM, actor=None, today=MONDAY - timedelta(days=3))


def test_a_cancelled_order_cannot_be_booked(installation_order, installer, staff_a):
    from orders import services as orders

    order = installation_order()
    orders.cancel_order(order=order, actor=staff_a, reason="test")
    with pytest.raises(services.BookingError, match="no longer"):
        services.book(order=order, day=MONDAY, half_day=AM, actor=None, today=MONDAY - timedelta(days=3))


def test_an_order_called_off_gives_its_place_back(installation_order, installer, staff_a):
    from orders import services as orders

    friday = MONDAY - timedelta(days=3)
    order = installation_order("called-off")
    services.book(order=order, day=MONDAY, half_day=AM, actor=staff_a, today=friday)
    assert [s.half_day for s in services.free_slots(installer.county_id, MONDAY, days=1)] == [PM]

    orders.cancel_order(order=order, actor=staff_a, reason="村民不要了")

    assert [s.half_day for s in services.free_slots(installer.county_id, MONDAY, days=1)] == [AM, PM]
    assert order.appointments.get().status == Appointment.Status.CANCELLED  # and the installer's page drops it
    services.book(order=installation_order("next"), day=MONDAY, half_day=AM, actor=staff_a, today=friday)


def test_an_order_has_at_most_one_live_appointment_in_the_database(installation_order, installer):
    from django.db import IntegrityError, transaction

    order = installation_order()
    Appointment.objects.create(order=order, installer=installer, day=MONDAY, half_day=AM)
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.create(order=order, installer=installer, day=MONDAY, half_day=PM)


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_partners_booking_the_last_place_at_once_one_gets_it_the_other_sees_the_next(
    installation_order, installer, staff_a
):
    assert connection.vendor == "postgresql"
    orders = [installation_order("race-1"), installation_order("race-2")]
    friday = MONDAY - timedelta(days=3)

    outcomes = at_once(
        lambda i: services.book(
            order=Order.objects.select_related("service_center__village", "villager").get(pk=orders[i].pk),
            day=MONDAY,
            half_day=AM,
            actor=None,
            today=friday,
        ),
        n=2,
    )

    booked = [o for o in outcomes if isinstance(o, Appointment)]
    taken = [o for o in outcomes if isinstance(o, services.SlotTaken)]
    assert len(booked) == 1 and len(taken) == 1, outcomes
    assert (taken[0].next_free.day, taken[0].next_free.half_day) == (MONDAY, PM)
    assert Appointment.objects.filter(day=MONDAY, half_day=AM).exclude(status="cancelled").count() == 1
