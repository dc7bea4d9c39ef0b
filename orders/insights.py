"""What sells at a station (issue 20): the season's best sellers, repeat buyers, who to remind, what the county sells.

Every figure is one aggregate query (GROUP BY in the database, never a loop over orders in Python):

- *The season* is the last 90 days, today included (local dates, Asia/Shanghai): a rolling window, so
  the page is never empty on the first day of a quarter.  *The same weeks last year* are the season
  moved back 52 weeks (364 days), so the weekdays line up (markets and paydays fall on weekdays).
- *Sold* is what villagers collected: orders ``collected``, counted on the day they were collected
  (when the commission accrues), less the units brought back (``returned_quantity``).  The value is
  the frozen unit price times the units kept; the commission is the line's, pro rata the units kept.
- *Repeat buyers*: villagers with two or more collected orders in the season.
- *Who to remind*: villagers who bought the chosen category in the same weeks last year and have no
  live order of it placed this season (anything but a draft, cancelled or fully returned order).
  The category is one the station has sold since the start of last year's season; by default the
  one it sold most of (by value) in last year's season.
- *Not sold here*: products the county's other stations sold this season that this station has
  never had a live order for.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

import pygal
import pygal.style
from django.db.models import Count, DecimalField, Exists, ExpressionWrapper, F, IntegerField, Max, OuterRef, Q, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from catalog.models import unit_label
from ruralshop.names import in_language

from .commissions import local_midnight
from .models import Order, OrderLine

SEASON_DAYS = 90
YEAR = timedelta(weeks=52)  # the same weekdays a year before
TOP = 10  # rows of each table (and bars of each chart)
HINT_DAYS = 28  # the new-order page's hint: the four weeks from this day last year
HINT_TOP = 5
CENT = Decimal("0.01")
SOLD = Order.Status.COLLECTED
NOT_LIVE = [Order.Status.DRAFT, Order.Status.CANCELLED, Order.Status.RETURNED]


@dataclass(frozen=True)
class Window:
    """Local days ``first`` to ``last``, both included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def end(self) -> datetime:
        return local_midnight(self.last + timedelta(days=1))

    def year_before(self) -> "Window":
        return Window(self.first - YEAR, self.last - YEAR)


def season(today: date) -> Window:
    return Window(today - timedelta(days=SEASON_DAYS - 1), today)


def _collected_in(window: Window, prefix: str = "order__") -> Q:
    return Q(
        **{f"{prefix}status": SOLD, f"{prefix}collected_at__gte": window.start, f"{prefix}collected_at__lt": window.end}
    )


_KEPT = ExpressionWrapper(F("quantity") - F("returned_quantity"), output_field=IntegerField())
_VALUE = ExpressionWrapper(
    F("unit_price") * (F("quantity") - F("returned_quantity")),
    output_field=DecimalField(max_digits=14, decimal_places=2),
)
_COMMISSION = ExpressionWrapper(
    F("commission_amount") * (F("quantity") - F("returned_quantity")) / F("quantity"),
    output_field=DecimalField(max_digits=14, decimal_places=4),
)


# --- the tables ------------------------------------------------------------------------------------------


@dataclass
class ProductRow:
    product_id: int
    sku: str
    name: str
    unit: str  # as stored, in Chinese (catalog.models.Unit)
    units: int
    value: Decimal  # ¥ sold
    commission: Decimal | None = None  # ¥ earned: the station's own best sellers only
    stations: int | None = None  # how many other stations sold it: "not sold here" only

    @property
    def unit_label(self) -> str:
        return unit_label(self.unit)


def _product_rows(lines, *, by: str, commission: bool = False, stations: bool = False) -> list[ProductRow]:
    aggregates = {"units": Sum(_KEPT), "value": Sum(_VALUE)}
    if commission:
        aggregates["commission"] = Sum(_COMMISSION)
    if stations:
        aggregates["stations"] = Count("order__service_center_id", distinct=True)
    order = ["-units", "-value"] if by == "units" else ["-value", "-units"]
    if stations:
        order = ["-stations", *order]
    rows = (
        lines.values("product_id", "product__sku", "product__name", "product__unit")
        .annotate(**aggregates)
        .filter(units__gt=0)
        .order_by(*order, "product__name", "product_id")[:TOP]
    )
    return [
        ProductRow(
            product_id=r["product_id"],
            sku=r["product__sku"],
            name=r["product__name"],
            unit=r["product__unit"],
            units=r["units"],
            value=r["value"].quantize(CENT),
            commission=r["commission"].quantize(CENT) if commission else None,
            stations=r.get("stations"),
        )
        for r in rows
    ]


def station_best_sellers(station, window: Window, *, by: str = "units", commission: bool = False) -> list[ProductRow]:
    """The station's top products of the window, by units or by value.  One query."""
    lines = OrderLine.objects.filter(_collected_in(window), order__service_center=station)
    return _product_rows(lines, by=by, commission=commission)


def county_best_sellers(station, window: Window, *, by: str = "units") -> list[ProductRow]:
    """The county's top products of the window (every station of the station's county).  One query."""
    lines = OrderLine.objects.filter(
        _collected_in(window), order__service_center__village__county_id=county_of(station)
    )
    return _product_rows(lines, by=by)


def not_sold_here(station, window: Window) -> list[ProductRow]:
    """What the county's other stations sold in the window that this station never had a live order for.  One query."""
    ours = OrderLine.objects.filter(order__service_center=station, product_id=OuterRef("product_id")).exclude(
        order__status__in=NOT_LIVE
    )
    lines = (
        OrderLine.objects.filter(_collected_in(window), order__service_center__village__county_id=county_of(station))
        .exclude(order__service_center=station)
        .filter(~Exists(ours))
    )
    return _product_rows(lines, by="units", stations=True)


def county_of(station) -> int:
    return station.village.county_id


@dataclass
class BuyerRow:
    villager_id: int
    name: str
    orders: int  # collected orders in the window ("repeat buyers"), or 0
    units: int  # units of the category ("who to remind"), or 0
    value: Decimal
    last: datetime | None = None  # their last purchase of the category then ("who to remind")


def repeat_buyers(station, window: Window) -> list[BuyerRow]:
    """Villagers with two or more orders collected in the window, most orders first.  One query."""
    rows = (
        Order.objects.filter(_collected_in(window, prefix=""), service_center=station)
        .values("villager_id", "villager__name")
        .annotate(orders=Count("pk"), value=Sum("total"))
        .filter(orders__gte=2)
        .order_by("-orders", "-value", "villager_id")[:TOP]
    )
    return [BuyerRow(r["villager_id"], r["villager__name"], r["orders"], 0, r["value"].quantize(CENT)) for r in rows]


def who_to_remind(station, category_id: int | None, window: Window) -> list[BuyerRow]:
    """Villagers who bought ``category_id`` in the window's weeks last year and have no live order of it this season.

    One query (the "not yet" is an anti-join, NOT EXISTS).  Anonymised villagers are left out: nobody to remind.
    """
    if category_id is None:
        return []
    then = window.year_before()
    since = OrderLine.objects.filter(
        order__service_center=station,
        order__villager_id=OuterRef("order__villager_id"),
        order__created_at__gte=window.start,
        product__category_id=category_id,
    ).exclude(order__status__in=NOT_LIVE)
    rows = (
        OrderLine.objects.filter(
            _collected_in(then),
            order__service_center=station,
            product__category_id=category_id,
            order__villager__anonymised_at__isnull=True,
        )
        .filter(~Exists(since))
        .values("order__villager_id", "order__villager__name")
        .annotate(units=Sum(_KEPT), value=Sum(_VALUE), last=Max("order__collected_at"))
        .filter(units__gt=0)
        .order_by("-units", "-value", "order__villager_id")[:TOP]
    )
    return [
        BuyerRow(
            r["order__villager_id"],
            r["order__villager__name"],
            0,
            r["units"],
            r["value"].quantize(CENT),
            r["last"],
        )
        for r in rows
    ]


@dataclass
class CategoryChoice:
    pk: int
    name: str
    value_then: Decimal  # ¥ sold in the same weeks last year
    name_en: str = ""

    @property
    def display_name(self) -> str:
        return in_language(self.name, self.name_en)


def station_categories(station, window: Window) -> list[CategoryChoice]:
    """The categories the station sold since the start of last year's season, the most sold then first.  One query."""
    then = window.year_before()
    rows = (
        OrderLine.objects.filter(
            order__service_center=station,
            order__status=SOLD,
            order__collected_at__gte=then.start,
            order__collected_at__lt=window.end,
        )
        .values("product__category_id", "product__category__name", "product__category__name_en")
        .annotate(value_then=Sum(_VALUE, filter=Q(order__collected_at__lt=then.end), default=Decimal("0")))
        .order_by("-value_then", "product__category__name", "product__category_id")
    )
    return [
        CategoryChoice(
            r["product__category_id"], r["product__category__name"], r["value_then"], r["product__category__name_en"]
        )
        for r in rows
    ]


def default_category(choices: list[CategoryChoice]) -> CategoryChoice | None:
    """The category sold most in the same weeks last year; the first one sold since, if none sold then."""
    return choices[0] if choices else None


class BadCategory(ValueError):
    """A ``?category=`` that is none of the station's categories."""


def chosen_category(raw: str, choices: list[CategoryChoice]) -> CategoryChoice | None:
    if not raw:
        return default_category(choices)
    found = next((c for c in choices if str(c.pk) == raw.strip()), None)
    if found is None:
        raise BadCategory(_("Choose one of the station's categories."))
    return found


# --- the new-order page's hint ---------------------------------------------------------------------------


def this_time_last_year(station, today: date) -> list[ProductRow]:
    """What the station's villagers collected in the four weeks from this day last year, the most units first.

    One query; the new-order page shows it so the partner can suggest what the season brings.
    """
    then = Window(today - YEAR, today - YEAR + timedelta(days=HINT_DAYS - 1))
    lines = OrderLine.objects.filter(_collected_in(then), order__service_center=station)
    return _product_rows(lines, by="units")[:HINT_TOP]


# --- the charts: SVG data URIs for an <img> (pygal draws them; no script) --------------------------------


def _chart(**options):
    return pygal.HorizontalBar(
        js=[],
        width=600,
        height=60 + 34 * TOP,
        show_legend=False,
        print_values=False,
        truncate_label=14,
        no_data_text=_("Nothing sold in these weeks"),
        style=pygal.style.CleanStyle(
            font_family="Noto Sans CJK SC, sans-serif",
            label_font_size=16,
            major_label_font_size=16,
            value_font_size=14,
            no_data_font_size=22,
        ),
        **options,
    )


def bar_chart(labels: list[str], values: list[float], *, title: str) -> str:
    """One series of horizontal bars, the first label on top.  Draws an empty, one-bar or full series alike.

    Drawing takes pygal about 10 ms a chart, a fifth of the page's time on a province's data, while the
    figures change only when orders are collected: a process keeps the last charts it drew, keyed by
    everything the drawing reads (the figures, the names, the title and the language of the no-data
    text), so a chart is never stale, only drawn once."""
    return _drawn(tuple(labels), tuple(float(v) for v in values), title, get_language() or "")


@lru_cache(maxsize=512)
def _drawn(labels: tuple[str, ...], values: tuple[float, ...], title: str, language: str) -> str:
    chart = _chart(x_title=title)
    # pygal draws the first value at the bottom of a horizontal bar chart: reverse, so the table's order reads down.
    chart.x_labels = list(reversed(labels))
    if values:
        chart.add(title, list(reversed([float(v) for v in values])))
    return chart.render_data_uri()
