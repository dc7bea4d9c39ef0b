"""The demo's cash book: the busiest station closed today a little short and handed most of its cash over."""

from decimal import Decimal

from django.utils import timezone

from partners.models import StationStaff

from . import services
from .models import DayClose


def seed_cash() -> int:
    """A close (¥2.00 short, with a note) and a remittance waiting for the county, at the station holding the most
    cash; the others are left unclosed, so the county's page shows its alerts.  Nothing when a close exists."""
    if DayClose.objects.exists():
        return 0
    partners = {s.service_center_id: s.user for s in StationStaff.objects.filter(role=StationStaff.Role.PARTNER)}
    held = sorted(
        (
            (services.drawer(s.service_center), s.service_center)
            for s in StationStaff.objects.select_related("service_center")
        ),
        key=lambda pair: (-pair[0], pair[1].code),
    )
    if not held or held[0][0] <= Decimal("10.00"):
        return 0
    drawer, station = held[0]
    partner = partners.get(station.pk)
    if partner is None:
        return 0
    services.close_day(
        station=station,
        actor=partner,
        day=timezone.localdate(),
        counted=drawer - Decimal("2.00"),
        note="找零时多找了两元",
    )
    services.record_remittance(
        station=station,
        actor=partner,
        amount=(drawer - Decimal("2.00")) // 100 * 100 or Decimal("1.00"),
        slip_number="DEMO-0001",
        handed_to="driver",
        note="交给送货司机",
    )
    return 1
