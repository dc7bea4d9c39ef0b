"""Booking installation appointments: the free slots of a county's installers, and booking one under a lock.

A slot is a day and a half-day.  Its capacity is the sum, over the county's active installers working that
weekday, of their ``capacity``; the county's holidays have none.  Booking locks the county's installer rows
(in primary-key order) before counting, so two partners booking the last place of a slot at once are served
one after the other: the first gets it, the second is told it is taken and which slot is free next.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.promise import holidays
from notifications import services as notifications
from orders import promise as orders_promise
from orders.models import Order

from .models import Appointment, Installer

LOOK_AHEAD_DAYS = 21
HALF_DAYS = [Appointment.HalfDay.AM, Appointment.HalfDay.PM]
S = Order.Status
# An appointment can be booked from placement until the goods are installed.
BOOKABLE = (S.PLACED, S.CONFIRMED, S.BATCHED, S.IN_TRANSIT, S.AT_STATION)
GONE = (S.CANCELLED, S.GOING_BACK, S.EXCEPTION)

SMS_TEMPLATES = {
    "installation_booked": "【村淘】您的订单{order}已预约{day}{half_day}上门安装，安装师傅会在当天联系您，"
    "请保管好取货码，安装完成时告诉师傅。",
}
HALF_DAY_SMS = {Appointment.HalfDay.AM: "上午", Appointment.HalfDay.PM: "下午"}


class BookingError(Exception):
    """A refused booking; ``str(exc)`` is shown to the user."""


class SlotTaken(BookingError):
    """The slot filled up meanwhile; ``next_free`` is the first free slot after it (None: nothing free ahead)."""

    def __init__(self, message: str, next_free: "Slot | None"):
        super().__init__(message)
        self.next_free = next_free


@dataclass(frozen=True)
class Slot:
    day: date
    half_day: str
    free: int


def _closed(county_id: int, start: date, days: int) -> set[date]:
    return holidays(county_id, start, days)


def _used(installer_ids: list[int], start: date, days: int) -> Counter:
    """Appointments not cancelled per (installer, day, half-day) in the range: one query."""
    rows = (
        Appointment.objects.filter(installer_id__in=installer_ids, day__gte=start, day__lt=start + timedelta(days=days))
        .exclude(status=Appointment.Status.CANCELLED)
        # A live appointment of an order called off, going back or in exception holds no installer's time.
        .exclude(status__in=Appointment.LIVE, order__status__in=GONE)
        .values_list("installer_id", "day", "half_day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return Counter({(i, d, h): n for i, d, h, n in rows})


def free_slots(county_id: int, start: date, days: int = LOOK_AHEAD_DAYS, *, installers=None) -> list[Slot]:
    """The slots from ``start`` with a place free, in order (three queries, or two with ``installers`` given)."""
    if installers is None:
        installers = list(Installer.objects.filter(county_id=county_id, is_active=True).order_by("pk"))
    if not installers:
        return []
    closed = _closed(county_id, start, days)
    used = _used([i.pk for i in installers], start, days)
    slots = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        if day in closed:
            continue
        for half in HALF_DAYS:
            free = sum(max(0, i.capacity - used[(i.pk, day, half)]) for i in installers if i.works_on(day))
            if free:
                slots.append(Slot(day, half, free))
    return slots


def earliest_day(order: Order, *, today: date | None = None) -> date:
    """The first day an installer can come: tomorrow, and not before the goods can be at the station."""
    today = today or timezone.localdate()
    earliest = today + timedelta(days=1)
    if order.status != S.AT_STATION:
        arrival = orders_promise.promise_for(order.service_center, order.created_at)
        earliest = max(earliest, arrival)
    return earliest


def slots_for(order: Order, *, today: date | None = None) -> list[Slot]:
    """The free slots an installation order can be booked into."""
    return free_slots(order.service_center.village.county_id, earliest_day(order, today=today))


def live_appointment(order: Order) -> Appointment | None:
    return order.appointments.filter(status__in=Appointment.LIVE).select_related("installer").first()


def book(*, order: Order, day: date, half_day: str, actor, today: date | None = None) -> Appointment:
    """Book the order's installation for ``day`` and ``half_day`` with the least busy installer free then.

    A live appointment is cancelled by the new one (rescheduling).  The order's promise becomes the
    appointment's day, and the villager is told by SMS (after commit, with their consent).
    """
    if order.delivery_method != Order.DeliveryMethod.HOME_INSTALLATION:
        raise BookingError(_("Only an order with home installation has an installation appointment."))
    if order.status not in BOOKABLE:
        raise BookingError(_("This order is no longer waiting for its installation."))
    if half_day not in Appointment.HalfDay.values:
        raise BookingError(_("Choose the morning or the afternoon."))
    earliest = earliest_day(order, today=today)
    if not earliest <= day < earliest + timedelta(days=LOOK_AHEAD_DAYS):
        raise BookingError(
            _("Choose a day from %(first)s to %(last)s.")
            % {"first": earliest, "last": earliest + timedelta(days=LOOK_AHEAD_DAYS - 1)}
        )
    county_id = order.service_center.village.county_id
    with transaction.atomic():
        # The lock that makes counting and booking one step: every booking of the county waits here.
        installers = list(
            Installer.objects.select_for_update().filter(county_id=county_id, is_active=True).order_by("pk")
        )
        if not installers:
            raise BookingError(_("The county has no installer yet: ask the county to add one."))
        used = _used([i.pk for i in installers], day, 1)
        closed = day in _closed(county_id, day, 1)
        free = [
            (i.capacity - used[(i.pk, day, half_day)], i)
            for i in installers
            if not closed and i.works_on(day) and used[(i.pk, day, half_day)] < i.capacity
        ]
        if not free:
            later = [
                s
                for s in free_slots(county_id, earliest, installers=installers)
                if (s.day, HALF_DAYS.index(s.half_day)) > (day, HALF_DAYS.index(half_day))
            ]
            raise SlotTaken(_("That time is fully booked."), later[0] if later else None)
        installer = max(free, key=lambda pair: (pair[0], -pair[1].pk))[1]
        Appointment.objects.filter(order=order, status__in=Appointment.LIVE).update(
            status=Appointment.Status.CANCELLED, note=_("rebooked")
        )
        appointment = Appointment.objects.create(
            order=order, installer=installer, day=day, half_day=half_day, booked_by=actor
        )
        Order.objects.filter(pk=order.pk).update(promised_on=day)
        order.promised_on = day
        notifications.queue_sms(
            [
                notifications.to_villager(
                    order.villager,
                    template="installation_booked",
                    payload={"order": order.number, "day": f"{day:%m月%d日}", "half_day": HALF_DAY_SMS[half_day]},
                    reference=order.number,
                )
            ]
        )
    return appointment
