"""The delivery promise from the station's route: its next departure after the cutoff, plus its travel days,
at most the county's standard (``County.promise_days`` after the day of placing).

A route leaves on its departure weekdays, not on the county's holidays (``partners.Holiday``, for the county
or for every county); an order placed at or after the cutoff waits for the next departure.  A station on no
route, or a route with no departure in the next weeks, gets the county's standard (and shows at risk).
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pygal
import pygal.style
from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import promise as orders_promise
from orders.models import Order, OrderEvent
from partners.models import Holiday, ServiceCenter

from .models import Parcel, Route, RouteStop, UnplannedOrder

LOOK_AHEAD_DAYS = 31


def holidays(county_id: int, start: date, days: int = LOOK_AHEAD_DAYS) -> set[date]:
    return set(
        Holiday.objects.filter(
            Q(county_id=county_id) | Q(county__isnull=True), day__gte=start, day__lt=start + timedelta(days=days)
        ).values_list("day", flat=True)
    )


def _holidays_of(counties, start: date) -> dict[int, set[date]]:
    """Each county's closed days ahead (its own and every county's), in one query."""
    ids = [c.pk for c in counties]
    rows = Holiday.objects.filter(
        Q(county_id__in=ids) | Q(county__isnull=True), day__gte=start, day__lt=start + timedelta(days=LOOK_AHEAD_DAYS)
    ).values_list("county_id", "day")
    everywhere = {day for county, day in rows if county is None}
    return {pk: everywhere | {day for county, day in rows if county == pk} for pk in ids}


def next_departure(route: Route, at: datetime, closed: set[date]) -> date | None:
    """The day of the first run of ``route`` an order confirmed at ``at`` can be on."""
    local = timezone.localtime(at)
    day = local.date() if local.time() < route.cutoff_time else local.date() + timedelta(days=1)
    for _day in range(LOOK_AHEAD_DAYS):
        if route.departs_on(day) and day not in closed:
            return day
        day += timedelta(days=1)
    return None


def by_route(route: Route, at: datetime, closed: set[date]) -> date | None:
    """When the route can have goods at its stations: the next departure plus its travel days."""
    departure = next_departure(route, at, closed)
    return None if departure is None else departure + timedelta(days=route.travel_days)


def promise(station: ServiceCenter, at: datetime) -> date:
    standard = orders_promise.standard(station, at)
    stop = RouteStop.objects.select_related("route").filter(service_center_id=station.pk).first()
    if stop is None:
        return standard
    arrival = by_route(stop.route, at, holidays(station.village.county_id, timezone.localdate(at)))
    return standard if arrival is None else min(arrival, standard)


# --- the county's view: promises about to be broken, and broken ---------------------------------------------


@dataclass
class PromiseRow:
    order: Order
    expected: date | None  # when the goods can be at the station as things are planned now (None: no way yet)
    reason: str
    late: bool  # the promised day has passed
    villager: str = ""  # masked, for the page


OPEN = (
    Order.Status.PLACED,
    Order.Status.CONFIRMED,
    Order.Status.BATCHED,
    Order.Status.IN_TRANSIT,
    Order.Status.EXCEPTION,
)


def at_risk(counties, *, now: datetime | None = None, limit: int = 200) -> list[PromiseRow]:
    """Orders not at their station yet that will miss their promise with the runs planned now, or missed it.

    Two queries whatever the number of orders and counties: the open orders with their station's route,
    planning issue and the dispatch day of their live parcel's run; the counties' holidays.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    run_day = Parcel.objects.filter(
        order=OuterRef("pk"), status__in=[Parcel.Status.LOADED, Parcel.Status.DELIVERED]
    ).values("batch_stop__batch__dispatch_date")[:1]
    orders = (
        Order.objects.filter(service_center__village__county__in=counties, status__in=OPEN, promised_on__isnull=False)
        .select_related("service_center__route_stop__route", "service_center__village", "villager", "dispatch_issue")
        .annotate(run_day=Subquery(run_day))
        .order_by("promised_on", "pk")
    )
    closed_by_county = _holidays_of(counties, today)
    rows = []
    for order in orders:
        expected, reason = _expected(order, now, closed_by_county.get(order.service_center.village.county_id, set()))
        late = order.promised_on < today
        if late or expected is None or expected > order.promised_on:
            rows.append(PromiseRow(order, expected, reason, late))
            if len(rows) >= limit:
                break
    return rows


def counts(counties) -> dict[str, int]:
    """For the county workspace's tile: orders late and at risk (the page lists them)."""
    rows = at_risk(counties, limit=10_000)
    late = sum(r.late for r in rows)
    return {"late": late, "at_risk": len(rows) - late}


def _expected(order: Order, now: datetime, closed: set[date]) -> tuple[date | None, str]:
    S = Order.Status
    if order.status == S.EXCEPTION:
        return None, _("its parcel was missing or damaged: the county decides")
    stop = getattr(order.service_center, "route_stop", None)
    if order.status in (S.BATCHED, S.IN_TRANSIT) and order.run_day and stop is not None:
        arrives = order.run_day + timedelta(days=stop.route.travel_days)
        today = timezone.localdate(now)
        if order.status == S.BATCHED and order.run_day < today:
            return None, _("the run planned for %(day)s has not left") % {"day": f"{order.run_day:%m-%d}"}
        if arrives < today:
            return None, _("its run left on %(day)s and has not arrived") % {"day": f"{order.run_day:%m-%d}"}
        return arrives, _("its run arrives on %(day)s") % {"day": f"{arrives:%m-%d}"}
    issue = getattr(order, "dispatch_issue", None)
    if stop is None:
        return None, str(UnplannedOrder.Reason.NO_ROUTE.label)
    if issue is not None and issue.reason == UnplannedOrder.Reason.TOO_LARGE:
        return None, str(issue.get_reason_display())
    arrives = by_route(stop.route, now, closed)
    if arrives is None:
        return None, _("the route has no departure in the next weeks")
    if order.status == S.PLACED:
        return arrives, _("waiting for the villager's say or payment; the next run arrives on %(day)s") % {
            "day": f"{arrives:%m-%d}"
        }
    if issue is not None:
        return arrives, _("%(why)s; the next run arrives on %(day)s") % {
            "why": issue.get_reason_display(),
            "day": f"{arrives:%m-%d}",
        }
    return arrives, _("the next run arrives on %(day)s") % {"day": f"{arrives:%m-%d}"}


# --- the weekly on-time rate --------------------------------------------------------------------------------


@dataclass
class OnTime:
    weeks: list[date]  # the Mondays, oldest first
    stations: dict  # station name -> [(on time, arrived)] per week
    routes: dict  # route name -> [(on time, arrived)] per week

    @staticmethod
    def rate(cell: tuple[int, int]) -> int | None:
        on_time, arrived = cell
        return round(100 * on_time / arrived) if arrived else None


def on_time(counties, *, weeks: int = 8, today: date | None = None) -> OnTime:
    """Of the orders that reached their station in each of the last ``weeks`` weeks (Monday to Sunday), how
    many did by their promised day; per station and per route.  One query: each order's first arrival."""
    today = today or timezone.localdate()
    first_monday = today - timedelta(days=today.weekday() + 7 * (weeks - 1))
    mondays = [first_monday + timedelta(weeks=i) for i in range(weeks)]
    arrivals = (
        OrderEvent.objects.filter(
            to_status=Order.Status.AT_STATION,
            created_at__gte=timezone.make_aware(datetime.combine(first_monday, datetime.min.time())),
            order__service_center__village__county__in=counties,
            order__promised_on__isnull=False,
        )
        .values("order_id")
        .annotate(arrived=Min("created_at"))
        .values_list(
            "order_id",
            "arrived",
            "order__promised_on",
            "order__service_center__name",
            "order__service_center__route_stop__route__name",
        )
    )
    stations: dict = {}
    routes: dict = {}
    for _order, arrived, promised, station, route in arrivals:
        day = timezone.localtime(arrived).date()
        week = (day - first_monday).days // 7
        if not 0 <= week < weeks:
            continue
        hit = int(day <= promised)
        for table, key in ((stations, station), (routes, route or _("no route"))):
            cells = table.setdefault(key, [(0, 0)] * weeks)
            cells[week] = (cells[week][0] + hit, cells[week][1] + 1)
    return OnTime(weeks=mondays, stations=dict(sorted(stations.items())), routes=dict(sorted(routes.items())))


def on_time_chart(rates: OnTime) -> str:
    """The routes' weekly on-time rate as an SVG data URI for an <img> (pygal draws it; no script)."""
    chart = pygal.Line(
        js=[],
        height=360,
        width=1200,
        range=(0, 100),
        show_legend=True,
        legend_at_bottom=True,
        x_title=_("week from"),
        y_title=_("on time (%)"),
        style=pygal.style.CleanStyle(
            font_family="Noto Sans CJK SC, sans-serif",
            label_font_size=16,
            major_label_font_size=16,
            legend_font_size=16,
            title_font_size=18,
        ),
    )
    chart.x_labels = [f"{monday:%m-%d}" for monday in rates.weeks]
    for route, cells in rates.routes.items():
        chart.add(route, [OnTime.rate(cell) for cell in cells])
    return chart.render_data_uri()
