"""The county's produce figures for a month: what each village sold, by kind, with what its villagers were
paid and are owed; and how full the trucks come back on the return leg.

Two queries whatever the number of lots, runs and villages: the lots' figures summed per village and kind,
and the month's runs with their pickups' weight summed per run.  The month is local (Asia/Shanghai).

- *Received*: the quantity and value of the lots received at the warehouse in the month.
- *Paid*: the value of the lots paid at the counter in the month (received in the month or before).
- *Owed*: the value received and not paid at the month's end (now, for this month), however old the lot.
- *Return leg*: each run that left one of the counties' warehouses in the month (in transit or completed,
  not planned or called off), the weight of its pickups that ride back (goods returns and produce lots
  apart; pickups left behind do not) in percent of the vehicle's weight capacity.  The month's and each
  day's average is the mean of their runs' percentages.
"""

import calendar
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pygal
import pygal.style
from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from logistics.models import DeliveryBatch, Pickup
from orders.commissions import local_midnight, next_month
from ruralshop.names import in_language

from .models import ProduceKind, ProduceLot

ZERO = Decimal("0")
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
EMPTIEST = 5  # the runs that came back emptiest, listed on the page
MONTH = re.compile(r"(\d{4})-(\d{2})")


class BadMonth(ValueError):
    """A ``?month=`` that is no month; ``str(exc)`` says why."""


def parse_month(raw: str) -> date:
    """``2026-11`` → the 1st of November 2026."""
    found = MONTH.fullmatch(raw.strip())
    if not found:
        raise BadMonth(_("The month must be written as year-month, such as 2026-11."))
    year, month = int(found[1]), int(found[2])
    if not 1 <= month <= 12:
        raise BadMonth(_("There is no month %(month)s.") % {"month": month})
    if not 2000 <= year <= 2099:
        raise BadMonth(_("Choose a month between 2000 and 2099."))
    return date(year, month, 1)


# --- what the villages sold ------------------------------------------------------------------------------


@dataclass
class KindRow:
    kind: str  # the kind's name in the active language
    unit: str  # the kind's unit (ProduceKind.Unit)
    received: Decimal  # quantity received in the month
    received_value: Decimal  # ¥, the value of what was received in the month
    paid: Decimal  # ¥ paid to villagers in the month
    owed: Decimal  # ¥ received and not paid at the month's end

    @property
    def unit_label(self) -> str:
        return str(ProduceKind.Unit(self.unit).label)


@dataclass
class VillageRow:
    name: str
    kinds: list[KindRow] = field(default_factory=list)

    @property
    def received_value(self) -> Decimal:
        return sum((k.received_value for k in self.kinds), ZERO)

    @property
    def paid(self) -> Decimal:
        return sum((k.paid for k in self.kinds), ZERO)

    @property
    def owed(self) -> Decimal:
        return sum((k.owed for k in self.kinds), ZERO)


def _money(expression, condition: Q):
    return Coalesce(
        Sum(expression, filter=condition), Value(ZERO), output_field=DecimalField(max_digits=14, decimal_places=2)
    )


def village_sales(counties, month: date) -> list[VillageRow]:
    """Per village (by name, then kind), the month's received quantity and value, paid, and owed.  One query."""
    start, end = local_midnight(month), local_midnight(next_month(month))
    in_month = Q(received_at__gte=start)
    paid_in_month = Q(paid_at__gte=start, paid_at__lt=end)
    unpaid_at_end = Q(paid_at__isnull=True) | Q(paid_at__gte=end)
    several = len(counties) > 1
    rows = (
        ProduceLot.objects.filter(
            station__village__county__in=counties,
            status__in=[ProduceLot.Status.RECEIVED, ProduceLot.Status.PAID],
            received_at__lt=end,
        )
        # Only the lots that count for the month: received in it, paid in it, or still owed at its end.
        .filter(in_month | Q(paid_at__gte=start) | Q(paid_at__isnull=True))
        .values(
            "station__village_id",
            "station__village__name",
            "station__village__county__name",
            "kind__name",
            "kind__name_en",
            "kind__unit",
        )
        .annotate(
            received=_money("received_quantity", in_month),
            received_value=_money("value", in_month),
            paid=_money("value", paid_in_month),
            owed=_money("value", unpaid_at_end),
        )
        .order_by("station__village__name", "station__village_id", "kind__name")
    )
    villages: dict[int, VillageRow] = {}
    for row in rows:
        name = row["station__village__name"]
        if several:
            name = f"{row['station__village__county__name']} · {name}"
        village = villages.setdefault(row["station__village_id"], VillageRow(name))
        village.kinds.append(
            KindRow(
                kind=in_language(row["kind__name"], row["kind__name_en"]),
                unit=row["kind__unit"],
                received=row["received"],
                received_value=row["received_value"].quantize(CENT),
                paid=row["paid"].quantize(CENT),
                owed=row["owed"].quantize(CENT),
            )
        )
    return list(villages.values())


# --- the return leg ---------------------------------------------------------------------------------------


def _percent(part: Decimal, whole: Decimal) -> Decimal:
    return (100 * part / whole).quantize(TENTH) if whole else ZERO


@dataclass
class RunFill:
    code: str
    day: date
    plate: str
    route: str
    capacity_kg: Decimal
    returns_kg: Decimal  # goods returns riding back
    produce_kg: Decimal  # produce lots riding back

    @property
    def weight_kg(self) -> Decimal:
        return self.returns_kg + self.produce_kg

    @property
    def returns_percent(self) -> Decimal:
        return _percent(self.returns_kg, self.capacity_kg)

    @property
    def produce_percent(self) -> Decimal:
        return _percent(self.produce_kg, self.capacity_kg)

    @property
    def percent(self) -> Decimal:
        return _percent(self.weight_kg, self.capacity_kg)


@dataclass
class ReturnLeg:
    month: date
    runs: list[RunFill]  # by day, then code

    def _mean(self, runs: list[RunFill], attribute: str) -> Decimal | None:
        if not runs:
            return None
        exact = [100 * getattr(r, attribute) / r.capacity_kg for r in runs]
        return (sum(exact, ZERO) / len(exact)).quantize(TENTH)

    @property
    def average(self) -> Decimal | None:
        return self._mean(self.runs, "weight_kg")

    @property
    def average_returns(self) -> Decimal | None:
        return self._mean(self.runs, "returns_kg")

    @property
    def average_produce(self) -> Decimal | None:
        return self._mean(self.runs, "produce_kg")

    @property
    def emptiest(self) -> list[RunFill]:
        return sorted(self.runs, key=lambda r: (r.weight_kg / r.capacity_kg, r.day, r.code))[:EMPTIEST]

    def days(self) -> list[tuple[date, Decimal | None, Decimal | None]]:
        """Every day of the month: the mean share of goods returns and of produce of its runs (None: no run)."""
        by_day: dict[date, list[RunFill]] = {}
        for run in self.runs:
            by_day.setdefault(run.day, []).append(run)
        length = calendar.monthrange(self.month.year, self.month.month)[1]
        out = []
        for number in range(1, length + 1):
            day = self.month.replace(day=number)
            runs = by_day.get(day, [])
            out.append((day, self._mean(runs, "returns_kg"), self._mean(runs, "produce_kg")))
        return out


def return_leg(counties, month: date) -> ReturnLeg:
    """The month's runs from the counties' warehouses with the weight their return leg carries.  One query."""
    rides = ~Q(stops__pickups__status=Pickup.Status.LEFT)
    kg = DecimalField(max_digits=14, decimal_places=3)
    rows = (
        DeliveryBatch.objects.filter(
            warehouse__county__in=counties,
            dispatch_date__gte=month,
            dispatch_date__lt=next_month(month),
            status__in=[DeliveryBatch.Status.IN_TRANSIT, DeliveryBatch.Status.COMPLETED],
        )
        .values("pk", "code", "dispatch_date", "vehicle__plate", "vehicle__capacity_kg", "route__name")
        .annotate(
            returns_kg=Coalesce(
                Sum("stops__pickups__weight_kg", filter=rides & Q(stops__pickups__goods_return__isnull=False)),
                Value(ZERO),
                output_field=kg,
            ),
            produce_kg=Coalesce(
                Sum("stops__pickups__weight_kg", filter=rides & ~Q(stops__pickups__lot_number="")),
                Value(ZERO),
                output_field=kg,
            ),
        )
        .order_by("dispatch_date", "code")
    )
    return ReturnLeg(
        month=month,
        runs=[
            RunFill(
                code=r["code"],
                day=r["dispatch_date"],
                plate=r["vehicle__plate"],
                route=r["route__name"],
                capacity_kg=r["vehicle__capacity_kg"],
                returns_kg=r["returns_kg"],
                produce_kg=r["produce_kg"],
            )
            for r in rows
        ],
    )


# --- the charts: SVG data URIs for an <img> (pygal draws them; no script) --------------------------------


def _chart(kind, **options):
    return kind(
        js=[],
        height=360,
        width=1200,
        show_legend=True,
        legend_at_bottom=True,
        no_data_text=_("No figures this month"),
        style=pygal.style.CleanStyle(
            font_family="Noto Sans CJK SC, sans-serif",
            label_font_size=16,
            major_label_font_size=16,
            legend_font_size=16,
            title_font_size=18,
            no_data_font_size=24,
        ),
        **options,
    )


def sales_chart(villages: list[VillageRow]) -> str:
    """The value received in the month per village, stacked by kind (¥: the kinds' units differ)."""
    chart = _chart(pygal.StackedBar, y_title=_("value received (¥)"))
    chart.x_labels = [v.name for v in villages]
    kinds = sorted({k.kind for v in villages for k in v.kinds})
    for kind in kinds:
        values = []
        for village in villages:
            row = next((k for k in village.kinds if k.kind == kind), None)
            values.append(float(row.received_value) if row and row.received_value else None)
        chart.add(kind, values)
    return chart.render_data_uri()


def return_leg_chart(leg: ReturnLeg) -> str:
    """Each day's mean fill of the trucks coming back, goods returns and produce stacked (% of weight capacity)."""
    chart = _chart(pygal.StackedBar, x_title=_("day"), y_title=_("full on the way back (%)"))
    days = leg.days() if leg.runs else []
    chart.x_labels = [f"{day:%d}" for day, _returns, _produce in days]
    if days:
        chart.add(_("goods returns"), [None if r is None else float(r) for _day, r, _p in days])
        chart.add(_("produce"), [None if p is None else float(p) for _day, _r, p in days])
    return chart.render_data_uri()
