"""The cash book's reads: a station's page, and the county's view of all its stations (a fixed number of queries)."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from catalog.money import to_fen
from orders.models import Order
from orders.payments import Method
from orders.services import OPEN_ON_CREDIT
from partners.models import ServiceCenter

from .models import CashEntry, DayClose, Remittance

ZERO = Decimal("0.00")


def recent_entries(station, *, limit: int = 30) -> list[CashEntry]:
    return list(
        CashEntry.objects.filter(station=station)
        .select_related("order", "created_by")
        .order_by("-created_at", "-pk")[:limit]
    )


def last_close(station) -> DayClose | None:
    return DayClose.objects.filter(station=station).order_by("-day", "-pk").first()


def waiting_remittances(station) -> list[Remittance]:
    return list(Remittance.objects.filter(station=station, status=Remittance.Status.RECORDED).order_by("recorded_at"))


def station_close(station, pk: int) -> DayClose | None:
    return DayClose.objects.filter(station=station, pk=pk).select_related("closed_by", "cash_entry").first()


def county_remittance(counties, pk: int) -> Remittance | None:
    return (
        Remittance.objects.filter(pk=pk, station__village__county__in=counties)
        .select_related("station", "recorded_by")
        .first()
    )


@dataclass
class StationCash:
    """One station's row on the county's cash page."""

    station: ServiceCenter
    drawer: Decimal = ZERO
    in_transit: Decimal = ZERO
    waiting_slips: int = 0
    shortfall: Decimal = ZERO
    last_close: date | None = None
    days_since_close: int | None = None
    differences: int = 0  # closes this month that were off
    difference_total: Decimal = ZERO  # their sum: short < 0 < over
    on_credit: Decimal = ZERO
    alerts: list = field(default_factory=list)

    @property
    def owed(self) -> Decimal:
        return self.drawer + self.in_transit + self.shortfall

    @property
    def credit_used_percent(self) -> int:
        limit = self.station.pay_on_pickup_limit
        return int(self.on_credit * 100 / limit) if limit else 0


ALERT_NOT_CLOSED, ALERT_DIFFERENCE, ALERT_CASH_HELD = "not_closed", "difference", "cash_held"


def county_cash(counties, *, today: date | None = None) -> list[StationCash]:
    """Every station of ``counties`` with its money, the worst first (most alerts, then the most cash owed)."""
    today = today or timezone.localdate()
    month = today.replace(day=1)
    stations = list(
        ServiceCenter.objects.filter(village__county__in=counties).select_related("village__county").order_by("code")
    )
    rows = {s.pk: StationCash(station=s) for s in stations}
    ids = list(rows)
    for pk, total in (
        CashEntry.objects.filter(station_id__in=ids, method=Method.CASH)
        .values_list("station_id")
        .annotate(total=Sum("amount"))
        .order_by()
    ):
        rows[pk].drawer = to_fen(total or ZERO)  # to_fen: SQLite sums decimals as floats
    for pk, status, count, handed, received in (
        Remittance.objects.filter(station_id__in=ids)
        .values_list("station_id", "status")
        .annotate(count=Count("pk"), handed=Sum("amount"), received=Sum("received_amount"))
        .order_by()
    ):
        if status == Remittance.Status.RECORDED:
            rows[pk].in_transit, rows[pk].waiting_slips = to_fen(handed or ZERO), count
        else:
            rows[pk].shortfall = to_fen((handed or ZERO) - (received or ZERO))
    for pk, last, off, off_total in (
        DayClose.objects.filter(station_id__in=ids)
        .values_list("station_id")
        .annotate(
            last=Max("day"),
            off=Count("pk", filter=Q(day__gte=month) & ~Q(difference=0)),
            off_total=Sum("difference", filter=Q(day__gte=month)),
        )
        .order_by()
    ):
        rows[pk].last_close, rows[pk].differences, rows[pk].difference_total = last, off, to_fen(off_total or ZERO)
        rows[pk].days_since_close = (today - last).days
    for pk, total in (
        Order.objects.filter(
            service_center_id__in=ids,
            payment_method=Order.PaymentMethod.PAY_ON_PICKUP,
            paid_at__isnull=True,
            status__in=OPEN_ON_CREDIT,
        )
        .values_list("service_center_id")
        .annotate(total=Sum("total"))
        .order_by()
    ):
        rows[pk].on_credit = to_fen(total or ZERO)
    threshold = settings.CASHBOOK_DIFFERENCE_NOTE_ABOVE
    big_differences = set(
        DayClose.objects.filter(station_id__in=ids, day__gte=month)
        .filter(Q(difference__gt=threshold) | Q(difference__lt=-threshold))
        .values_list("station_id", flat=True)
    )
    for row in rows.values():
        overdue = settings.CASHBOOK_CLOSE_OVERDUE_DAYS
        if row.days_since_close is None or row.days_since_close >= overdue:
            row.alerts.append(ALERT_NOT_CLOSED)
        if row.station.pk in big_differences:
            row.alerts.append(ALERT_DIFFERENCE)
        if row.drawer > settings.CASHBOOK_CASH_HELD_ALERT:
            row.alerts.append(ALERT_CASH_HELD)
    return sorted(rows.values(), key=lambda r: (-len(r.alerts), -r.owed, r.station.code))


SORTS = {
    "owed": lambda r: (-r.owed, r.station.code),
    "closed": lambda r: (-(r.days_since_close if r.days_since_close is not None else 10**6), r.station.code),
    "differences": lambda r: (r.difference_total, r.station.code),
    "credit": lambda r: (-r.credit_used_percent, r.station.code),
}


def county_waiting_remittances(counties) -> list[Remittance]:
    """Slips the county has not confirmed yet, the oldest first."""
    return list(
        Remittance.objects.filter(station__village__county__in=counties, status=Remittance.Status.RECORDED)
        .select_related("station")
        .order_by("recorded_at", "pk")
    )
