"""The county's figures over time: the last 12 weeks or 12 months, for the county or one of its stations.

Each function is one aggregate query, grouped in the database by the local week (Monday) or month
(``Trunc`` in ``TIME_ZONE``, Asia/Shanghai), whatever the number of orders, entries, closes or lots;
Python only lays the grouped rows onto the 12 periods, so a period without a row shows as zero.

- *Orders*: placed in the period (its ``created_at``), not drafts and not cancelled ones (as the
  workspace's "placed today"); their value is the sum of their totals.
- *Commission*: the ledger entries written in the period, per station: accruals, produce lots,
  adjustments, and reversals and clawbacks (negative), so what the station earned, net.  Payouts are
  not earnings (they pay a statement out) and do not count.
- *On time*: an order counts in the period its goods first reached the station (its first event to
  ``at_station``, as ``logistics.promise.on_time``), and is on time when that local day is on or before
  its ``promised_on``.  Orders without a promise do not count.  A period with no arrival has no rate.
- *Exceptions*: every move of an order into ``exception`` in the period (an order that went missing
  twice counts twice); and the orders in exception now, by how long since they went in.
- *Cash differences*: the stations' day closes in the period (by their ``day``): how many, how many
  off, the sum short (negative) and the sum over.
- *Produce bought*: the lots received at the warehouse in the period and their value, and the value
  paid to villagers in the period (lots received earlier included).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Trunc, TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from cashbook.models import DayClose
from catalog.money import to_fen
from orders.commissions import local_midnight, month_start, previous_month
from orders.models import CommissionEntry, Order, OrderEvent
from partners.models import County, ServiceCenter
from produce.models import ProduceLot

ZERO = Decimal("0.00")
PERIODS = 12  # weeks or months shown
S = Order.Status
K = CommissionEntry.Kind
# What a station earned: every kind but the payout of a statement.
EARNING_KINDS = (K.ACCRUAL, K.PRODUCE, K.ADJUSTMENT, K.REVERSAL, K.CLAWBACK)
# The open exceptions' ages: (label, at least this old); the last one has no upper bound.
AGE_BUCKETS = (
    (_("under 2 days"), timedelta(0)),
    (_("2 to 6 days"), timedelta(days=2)),
    (_("7 to 13 days"), timedelta(days=7)),
    (_("14 days or more"), timedelta(days=14)),
)


class Period:
    WEEKS = "weeks"
    MONTHS = "months"
    CHOICES = (WEEKS, MONTHS)


@dataclass(frozen=True)
class Scope:
    """What the charts look at: the counties the user manages, perhaps one of their stations."""

    counties: list[County]
    period: str  # Period.WEEKS or Period.MONTHS
    station: ServiceCenter | None = None
    today: date = field(default_factory=timezone.localdate)

    @property
    def starts(self) -> list[date]:
        """The first day of each of the 12 periods, oldest first; the last one holds today."""
        if self.period == Period.WEEKS:
            monday = self.today - timedelta(days=self.today.weekday())
            return [monday - timedelta(weeks=PERIODS - 1 - i) for i in range(PERIODS)]
        months = [month_start(self.today)]
        while len(months) < PERIODS:
            months.insert(0, previous_month(months[0]))
        return months

    @property
    def since(self) -> datetime:
        return local_midnight(self.starts[0])

    def label(self, start: date) -> str:
        return f"{start:%m-%d}" if self.period == Period.WEEKS else f"{start:%Y-%m}"

    def trunc(self, field_name: str, *, local: bool = True):
        """The period a timestamp (local: in TIME_ZONE) or a date falls in, as the database truncates it."""
        kind = "week" if self.period == Period.WEEKS else "month"
        if local:
            return Trunc(field_name, kind, tzinfo=timezone.get_default_timezone())
        return Trunc(field_name, kind)

    def stations(self, path: str) -> Q:
        """The rows of the scope's stations, ``path`` leading from the model to its ServiceCenter."""
        if self.station is not None:
            return Q(**{path: self.station})
        return Q(**{f"{path}__village__county__in": self.counties})

    @property
    def positions(self) -> dict[date, int]:
        """Each period's first day → its place among the 12 (for laying the grouped rows out)."""
        return {start: i for i, start in enumerate(self.starts)}


def _day(value) -> date:
    """A truncated period from the database as its local first day (a datetime for timestamps, a date else)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value


def _fen(value) -> Decimal:
    # SQLite sums decimals as floats: bring every sum back to the fen.
    return to_fen(Decimal(str(value))) if value is not None else ZERO


# --- orders placed ---------------------------------------------------------------------------------------


@dataclass
class OrdersRow:
    start: date
    count: int = 0
    value: Decimal = ZERO


def orders_placed(scope: Scope) -> list[OrdersRow]:
    rows = [OrdersRow(start) for start in scope.starts]
    where = scope.positions
    grouped = (
        Order.objects.filter(scope.stations("service_center"), created_at__gte=scope.since)
        .exclude(status__in=[S.DRAFT, S.CANCELLED])
        .values(period=scope.trunc("created_at"))
        .annotate(count=Count("pk"), value=Sum("total"))
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["period"]))
        if i is not None:
            rows[i].count, rows[i].value = g["count"], _fen(g["value"])
    return rows


# --- commission per station ------------------------------------------------------------------------------


@dataclass
class StationCommission:
    code: str
    name: str
    amounts: list[Decimal]  # per period

    @property
    def total(self) -> Decimal:
        return sum(self.amounts, ZERO)


def commission_by_station(scope: Scope, stations: list[tuple[str, str]]) -> list[StationCommission]:
    """Every station of ``stations`` ((code, name), those of the scope), with what it earned per period: the
    largest earner first, a station that earned nothing at zero."""
    where = scope.positions
    by_code = {code: StationCommission(code, name, [ZERO] * PERIODS) for code, name in stations}
    grouped = (
        CommissionEntry.objects.filter(
            scope.stations("service_center"), created_at__gte=scope.since, kind__in=EARNING_KINDS
        )
        .values("service_center__code", period=scope.trunc("created_at"))
        .annotate(amount=Sum("amount"))
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["period"]))
        station = by_code.get(g["service_center__code"])
        if i is not None and station is not None:
            station.amounts[i] = _fen(g["amount"])
    return sorted(by_code.values(), key=lambda s: (-s.total, s.code))


# --- on-time delivery ------------------------------------------------------------------------------------


@dataclass
class OnTimeRow:
    start: date
    arrived: int = 0
    on_time: int = 0

    @property
    def late(self) -> int:
        return self.arrived - self.on_time

    @property
    def rate(self) -> int | None:
        """Percent on time, rounded; None when nothing arrived (no rate, rather than a false 0 %)."""
        return round(100 * self.on_time / self.arrived) if self.arrived else None


def on_time(scope: Scope) -> list[OnTimeRow]:
    rows = [OnTimeRow(start) for start in scope.starts]
    where = scope.positions
    earlier = OrderEvent.objects.filter(
        order=OuterRef("order"), to_status=S.AT_STATION, created_at__lt=OuterRef("created_at")
    )
    grouped = (
        OrderEvent.objects.filter(
            scope.stations("order__service_center"),
            to_status=S.AT_STATION,
            created_at__gte=scope.since,
            order__promised_on__isnull=False,
        )
        .filter(~Exists(earlier))  # the first arrival only: found goods arriving again count once
        .annotate(arrived_on=TruncDate("created_at", tzinfo=timezone.get_default_timezone()))
        .values(period=scope.trunc("created_at"))
        .annotate(
            arrived=Count("order", distinct=True),
            on_time=Count("order", distinct=True, filter=Q(arrived_on__lte=F("order__promised_on"))),
        )
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["period"]))
        if i is not None:
            rows[i].arrived, rows[i].on_time = g["arrived"], g["on_time"]
    return rows


# --- exceptions ------------------------------------------------------------------------------------------


@dataclass
class CountRow:
    start: date
    count: int = 0


def exceptions_opened(scope: Scope) -> list[CountRow]:
    rows = [CountRow(start) for start in scope.starts]
    where = scope.positions
    grouped = (
        OrderEvent.objects.filter(
            scope.stations("order__service_center"), to_status=S.EXCEPTION, created_at__gte=scope.since
        )
        .values(period=scope.trunc("created_at"))
        .annotate(count=Count("pk"))
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["period"]))
        if i is not None:
            rows[i].count = g["count"]
    return rows


def open_exceptions_by_age(scope: Scope, *, now: datetime | None = None) -> list[tuple[str, int]]:
    """The orders in exception now, by the time since they (last) went in: (label, count) for every bucket."""
    now = now or timezone.now()
    went_in = OrderEvent.objects.filter(order=OuterRef("pk"), to_status=S.EXCEPTION).order_by("-created_at", "-pk")
    bounds = [now - at_least for _label, at_least in AGE_BUCKETS] + [None]
    buckets = {}
    for n, (newest, oldest) in enumerate(zip(bounds, bounds[1:], strict=False)):
        # younger than ``newest`` is not yet this old; at or before ``oldest`` belongs to the next bucket
        condition = Q(since__lte=newest) if n else Q()
        if oldest is not None:
            condition &= Q(since__gt=oldest)
        buckets[f"b{n}"] = Count("pk", filter=condition)
    counts = (
        Order.objects.filter(scope.stations("service_center"), status=S.EXCEPTION)
        .annotate(since=Subquery(went_in.values("created_at")[:1]))
        .aggregate(**buckets)
    )
    return [(str(label), counts[f"b{n}"]) for n, (label, _at_least) in enumerate(AGE_BUCKETS)]


# --- cash differences ------------------------------------------------------------------------------------


@dataclass
class CashRow:
    start: date
    closes: int = 0
    off: int = 0  # closes with a difference
    short: Decimal = ZERO  # the sum of the differences below zero (negative)
    over: Decimal = ZERO  # the sum of those above zero


def cash_differences(scope: Scope) -> list[CashRow]:
    rows = [CashRow(start) for start in scope.starts]
    where = scope.positions
    grouped = (
        DayClose.objects.filter(scope.stations("station"), day__gte=scope.starts[0])
        .values(period=scope.trunc("day", local=False))
        .annotate(
            closes=Count("pk"),
            off=Count("pk", filter=~Q(difference=0)),
            short=Sum("difference", filter=Q(difference__lt=0)),
            over=Sum("difference", filter=Q(difference__gt=0)),
        )
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["period"]))
        if i is not None:
            rows[i].closes, rows[i].off = g["closes"], g["off"]
            rows[i].short, rows[i].over = _fen(g["short"]), _fen(g["over"])
    return rows


# --- produce bought --------------------------------------------------------------------------------------


@dataclass
class ProduceRow:
    start: date
    received: int = 0  # lots received at the warehouse
    received_value: Decimal = ZERO
    paid_value: Decimal = ZERO  # paid to villagers in the period


def produce_bought(scope: Scope) -> list[ProduceRow]:
    """One query grouped by the pair (period received, period paid): at most 13 × 13 rows, folded here."""
    rows = [ProduceRow(start) for start in scope.starts]
    where = scope.positions
    grouped = (
        ProduceLot.objects.filter(
            scope.stations("station"), status__in=[ProduceLot.Status.RECEIVED, ProduceLot.Status.PAID]
        )
        .filter(Q(received_at__gte=scope.since) | Q(paid_at__gte=scope.since))
        .values(received_in=scope.trunc("received_at"), paid_in=scope.trunc("paid_at"))
        .annotate(lots=Count("pk"), value=Sum("value"))
        .order_by()
    )
    for g in grouped:
        i = where.get(_day(g["received_in"]))
        if i is not None:
            rows[i].received += g["lots"]
            rows[i].received_value += _fen(g["value"])
        j = where.get(_day(g["paid_in"])) if g["paid_in"] is not None else None
        if j is not None:
            rows[j].paid_value += _fen(g["value"])
    return rows
