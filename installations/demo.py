"""Demo installers (two per county, the first of Jiande with the ``installer`` login) and appointments for the
demo's installation orders: those at a station are booked (today's first, and one of them installed)."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from orders.models import Order
from partners.models import County

from . import services
from .models import Installer

DEMO_INSTALLERS = [("张师傅", "13900000101", 2), ("李师傅", "13900000102", 1)]
DEMO_INSTALLER_USER = "installer"
JIANDE = "330182"


def seed_installers(*, password: str | None = None) -> int:
    """The counties' installers; the first of Jiande logs in as ``installer`` (its password set when given)."""
    made = 0
    for county in County.objects.order_by("pk"):
        for name, phone, capacity in DEMO_INSTALLERS:
            _installer, created = Installer.objects.get_or_create(
                county=county, name=name, defaults={"phone": phone, "capacity": capacity, "work_weekdays": "1234567"}
            )
            made += created
    first = Installer.objects.filter(county__code=JIANDE, name=DEMO_INSTALLERS[0][0]).first()
    if first is not None and password:
        user, _created = get_user_model().objects.get_or_create(username=DEMO_INSTALLER_USER)
        user.set_password(password)
        user.save(update_fields=["password"])
        if first.user_id != user.pk:
            Installer.objects.filter(pk=first.pk).update(user=user)
    return made


def seed_appointments() -> int:
    """Book the demo's installation orders that have no appointment yet; install one of today's.

    Booked for today (the installer's page has work on it) while there is room, later otherwise.
    """
    orders = list(
        Order.objects.filter(delivery_method=Order.DeliveryMethod.HOME_INSTALLATION, status__in=services.BOOKABLE)
        .exclude(appointments__isnull=False)
        .select_related("service_center__village", "villager")
        .order_by("pk")
    )
    today = timezone.localdate()
    booked = []
    for order in orders:
        staff = order.service_center.staff.select_related("user").first()
        actor = staff.user if staff else None
        county_id = order.service_center.village.county_id
        # today's places first (the earliest a station may book is tomorrow: the demo books as the county would)
        start = today if order.status == Order.Status.AT_STATION else services.earliest_day(order, today=today)
        for slot in services.free_slots(county_id, start):
            try:
                booked.append(
                    services.book(
                        order=order, day=slot.day, half_day=slot.half_day, actor=actor, today=today - timedelta(days=1)
                    )
                )
            except services.BookingError:
                continue
            break
    today_s = [a for a in booked if a.day == today]
    if len(today_s) > 1:  # one installed already this morning; the others wait for the installer's page
        first = today_s[0]
        services.installed(appointment=first, actor=first.installer.user, pickup_code=first.order.pickup_code)
    return len(booked)
