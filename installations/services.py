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
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics import services as logistics_services
from logistics import webhooks
from logistics.promise import holidays
from notifications import services as notifications
from orders import promise as orders_promise
from orders import services as order_services
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
    "installation_reminder": "【村淘】明天{day}{half_day}安装师傅上门安装订单{order}，请家里留人，"
    "安装完成时把取货码告诉师傅。",
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
        logistics_services.bump_order_batches([order.pk])  # the manifests show the new time
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


def give_up_appointments(sender, *, order_ids: list[int], to: str, **kwargs) -> None:
    """An order called off, going back or in exception keeps no installer's time: its live appointment is
    cancelled (``orders.services.status_changed``; no statement at all for the other transitions)."""
    if to in GONE:
        given_up = Appointment.objects.filter(order_id__in=order_ids, status__in=Appointment.LIVE).update(
            status=Appointment.Status.CANCELLED, note=_("the order was %(status)s") % {"status": Order.Status(to).label}
        )
        if given_up:  # the manifests showed those appointments
            logistics_services.bump_order_batches(order_ids)


def live_slots(order_ids: list[int]) -> dict[int, tuple[date, str]]:
    """The live appointment's (day, half-day) of each order that has one, in one query: what the manifests show
    (registered with ``logistics.appointments`` in ``InstallationsConfig.ready``)."""
    return {
        order_id: (day, half_day)
        for order_id, day, half_day in Appointment.objects.filter(order_id__in=order_ids, status__in=Appointment.LIVE)
        .values_list("order_id", "day", "half_day")
        .order_by()
    }


# --- the visit: the installer's steps -----------------------------------------------------------------

A = Appointment.Status
# After a failed visit: the station books a new time (the goods wait at the station), or the county decides.
THEN_REBOOK, THEN_COUNTY = "rebook", "county"


class VisitError(BookingError):
    """A refused step of a visit; ``str(exc)`` is shown to the installer."""


def _locked(appointment: Appointment) -> Appointment:
    """The appointment and its order, locked in that order (every visit step takes them so)."""
    appointment = Appointment.objects.select_for_update().get(pk=appointment.pk)
    appointment.order = (
        Order.objects.select_for_update().select_related("villager", "service_center").get(pk=appointment.order_id)
    )
    if appointment.status not in Appointment.LIVE:
        raise VisitError(
            _("This appointment is %(status)s already.") % {"status": Appointment.Status(appointment.status).label}
        )
    if appointment.order.status != S.AT_STATION:
        raise VisitError(
            _("The goods are not at the station (the order is %(status)s): there is nothing to install yet.")
            % {"status": Order.Status(appointment.order.status).label}
        )
    return appointment


def _tell_the_company(appointment: Appointment, event: str) -> None:
    """``installation.done`` / ``installation.failed`` to the webhooks of the order's warehouse's companies."""
    order = appointment.order
    webhooks.queue_event(
        order.warehouse_id,
        event,
        {
            "order": order.number,
            "station": order.service_center.code,
            "day": appointment.day.isoformat(),
            "half_day": appointment.half_day,
            "installer": appointment.installer.name,
            "reason": appointment.fail_reason,
        },
    )


def on_the_way(*, appointment: Appointment, actor) -> Appointment:
    """The installer has the goods from the station and is on the way to the villager."""
    with transaction.atomic():
        appointment = _locked(appointment)
        if appointment.status != A.BOOKED:
            raise VisitError(_("The installer is on the way already."))
        appointment.status = A.ON_THE_WAY
        appointment.save(update_fields=["status"])
    return appointment


def installed(*, appointment: Appointment, actor, pickup_code: str) -> Appointment:
    """Installed, confirmed with the villager's pickup code: the order is collected and its commission accrues now.

    A wrong code refuses the step (``orders.services.WrongPickupCode``) and changes nothing.
    """
    with transaction.atomic():
        appointment = _locked(appointment)
        order_services.hand_over(order=appointment.order, actor=actor, pickup_code=pickup_code, by_installer=True)
        appointment.status, appointment.done_at = A.INSTALLED, timezone.now()
        appointment.save(update_fields=["status", "done_at"])
        logistics_services.bump_order_batches([appointment.order_id])  # no appointment on the manifests now
        _tell_the_company(appointment, "installation.done")
    return appointment


def failed(*, appointment: Appointment, actor, reason: str, note: str = "", then: str = THEN_REBOOK) -> Appointment:
    """The visit failed for ``reason``: the station books a new time (``then="rebook"``, the goods wait at the
    station), or the order becomes an exception the county decides (``then="county"``)."""
    if reason not in Appointment.FailReason.values:
        raise VisitError(_("Say why the installation failed."))
    if then not in (THEN_REBOOK, THEN_COUNTY):
        raise VisitError(_("Choose what happens next: a new appointment, or the county decides."))
    note = (note or "").replace("\x00", "").strip()[:300]
    with transaction.atomic():
        appointment = _locked(appointment)
        appointment.status, appointment.fail_reason = A.FAILED, reason
        appointment.note, appointment.done_at = note, timezone.now()
        appointment.save(update_fields=["status", "fail_reason", "note", "done_at"])
        logistics_services.bump_order_batches([appointment.order_id])  # no appointment on the manifests now
        if then == THEN_COUNTY:
            label = Appointment.FailReason(reason).label
            order_services.installation_failed(
                order=appointment.order,
                actor=actor,
                note=_("installation failed: %(reason)s") % {"reason": f"{label} {note}".strip()},
            )
        _tell_the_company(appointment, "installation.failed")
    return appointment


def route_order(appointment: Appointment) -> tuple:
    """An installer's day in route order: morning first, then the stations in their route's order, then the
    address (the appointment's order with its station's ``route_stop`` and its villager, selected)."""
    stop = getattr(appointment.order.service_center, "route_stop", None)
    return (
        HALF_DAYS.index(appointment.half_day),
        (stop.route_id, stop.sequence) if stop else (0, 0),
        appointment.order.service_center.code,
        appointment.order.villager.address,
        appointment.pk,
    )


def _without_a_time(station) -> QuerySet[Order]:
    # exclude() across the appointments is a NOT EXISTS: one row per order, so a COUNT counts orders.
    return Order.objects.filter(
        service_center=station, delivery_method=Order.DeliveryMethod.HOME_INSTALLATION, status__in=BOOKABLE
    ).exclude(appointments__status__in=Appointment.LIVE)


def waiting_for_a_time(station) -> list[Order]:
    """The station's installation orders with no live appointment, while one can still be booked (oldest first).

    The next step of a failed visit, or of an order placed without a time: the station books one.
    """
    return list(_without_a_time(station).select_related("villager").order_by("created_at", "pk"))


def how_many_wait_for_a_time(station) -> int:
    """How many orders ``waiting_for_a_time`` lists, in one COUNT query (the dashboard's tile)."""
    return _without_a_time(station).count()


def booked_ahead(station, *, today: date | None = None) -> list[Appointment]:
    """The station's live appointments from today on, soonest first, with their order and installer."""
    today = today or timezone.localdate()
    return list(
        Appointment.objects.filter(order__service_center=station, status__in=Appointment.LIVE, day__gte=today)
        .exclude(order__status__in=GONE)
        .select_related("order__villager", "installer")
        .order_by("day", "half_day", "pk")
    )


# --- the reminder, the day before ----------------------------------------------------------------------


def remind_tomorrow(*, today: date | None = None) -> int:
    """SMS the villagers of tomorrow's live appointments, once each (``reminded_at``); how many were claimed."""
    today = today or timezone.localdate()
    tomorrow = today + timedelta(days=1)
    due = list(
        Appointment.objects.filter(
            day=tomorrow, status__in=Appointment.LIVE, reminded_at__isnull=True, order__status__in=BOOKABLE
        ).select_related("order__villager")
    )
    reminded = 0
    for appointment in due:
        with transaction.atomic():
            # The claim: a second run (or a duplicate task) finds reminded_at set and sends nothing.
            if not Appointment.objects.filter(pk=appointment.pk, reminded_at__isnull=True).update(
                reminded_at=timezone.now()
            ):
                continue
            order = appointment.order
            notifications.queue_sms(
                [
                    notifications.to_villager(
                        order.villager,
                        template="installation_reminder",
                        payload={
                            "order": order.number,
                            "day": f"{appointment.day:%m月%d日}",
                            "half_day": HALF_DAY_SMS[appointment.half_day],
                        },
                        reference=order.number,
                    )
                ]
            )
            reminded += 1
    return reminded
