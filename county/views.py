"""The site's home page, the county workspace (the county's day and what waits for its decision), and the county's
charts over the last 12 weeks or months."""

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from cashbook import selectors as cash_selectors
from installations.models import Installer
from integrity import selectors as review_selectors
from logistics import promise
from logistics import selectors as logistics_selectors
from orders import views
from partners.access import counties_of_user, county_manager_required, staff_of_request
from partners.models import ServiceCenter

from . import chart_svg, charts, selectors


@login_required
def home(request):
    """A station's dashboard; for a county manager (or an admin) who works at no station, their county workspace;
    for an installer, the day's appointments.

    Station staff pay nothing extra here: the membership looked up is the one the dashboard uses.
    """
    if staff_of_request(request) is None:
        if counties_of_user(request.user):
            return redirect("county-home")
        if Installer.objects.filter(user_id=request.user.pk, is_active=True).exists():
            return redirect("installer-day")
    return views.dashboard(request)


@county_manager_required
def workspace(request):
    counties = request.counties
    context = {
        "figures": selectors.today_figures(counties),
        "unplanned": selectors.unplanned_reasons(counties),
        "decisions": selectors.statement_decisions(counties),
        "returns": logistics_selectors.returns_figures(counties=counties),
        "cash": cash_selectors.cash_alerts(counties),
        "review": review_selectors.waiting_counts(counties),
        "promises": promise.counts(counties),
    }
    return render(request, "county/workspace.html", context)


# --- the county charts: the last 12 weeks or months ------------------------------------------------------


@dataclass
class ChartSection:
    """One chart on the page and its figures as a table (the first cell of a row is its header)."""

    key: str
    title: str
    note: str
    svg: str  # a data URI pygal wrote from the figures
    alt: str
    head: list[str]
    rows: list[list]
    foot: list = field(default_factory=list)
    more: list[tuple[str, str]] = field(default_factory=list)  # further charts of the same figures: (svg, alt)


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def _sections(scope: charts.Scope, stations: list[tuple[str, str]]) -> list[ChartSection]:
    """The seven charts, one query each."""
    label, period = scope.label, _("Week from") if scope.period == charts.Period.WEEKS else _("Month")
    out = []

    placed = charts.orders_placed(scope)
    out.append(
        ChartSection(
            "orders",
            _("Orders placed and their value"),
            _("Orders placed in the period, not counting drafts and cancelled orders; their value is their total."),
            chart_svg.orders_chart(scope, placed),
            _("Orders placed per period (the table has the figures)"),
            [period, _("Orders"), _("Value (¥)")],
            [[label(r.start), r.count, _money(r.value)] for r in placed],
            [_("Total"), sum(r.count for r in placed), _money(sum((r.value for r in placed), charts.ZERO))],
            [(chart_svg.order_value_chart(scope, placed), _("The value of the orders placed per period"))],
        )
    )

    earned = charts.commission_by_station(scope, stations)
    out.append(
        ChartSection(
            "commission",
            _("Commission earned per station"),
            _(
                "Commission ledger entries written in the period: accruals at hand-over, produce lots, adjustments, "
                "less reversals of returns and clawbacks. Payouts of statements are not earnings and do not count."
            ),
            chart_svg.commission_chart(scope, earned),
            _("Commission earned per station (the table has the figures per period)"),
            [_("Station"), *(label(s) for s in scope.starts), _("Total (¥)")],
            [[s.name, *(_money(a) for a in s.amounts), _money(s.total)] for s in earned],
            [
                _("Total"),
                *(_money(sum((s.amounts[i] for s in earned), charts.ZERO)) for i in range(charts.PERIODS)),
                _money(sum((s.total for s in earned), charts.ZERO)),
            ]
            if len(earned) > 1
            else [],
        )
    )

    arrivals = charts.on_time(scope)
    arrived, in_time = sum(r.arrived for r in arrivals), sum(r.on_time for r in arrivals)
    out.append(
        ChartSection(
            "on-time",
            _("On-time delivery"),
            _(
                "Orders whose goods first reached their station in the period; on time when that day was on or "
                "before the day promised at placement. Orders placed without a promise do not count."
            ),
            chart_svg.on_time_chart(scope, arrivals),
            _("Orders that reached their station on time and late, per period (the table has the rates)"),
            [period, _("Arrived"), _("On time"), _("Late"), _("On time (%)")],
            [[label(r.start), r.arrived, r.on_time, r.late, "—" if r.rate is None else r.rate] for r in arrivals],
            [_("Total"), arrived, in_time, arrived - in_time, round(100 * in_time / arrived) if arrived else "—"],
        )
    )

    opened = charts.exceptions_opened(scope)
    out.append(
        ChartSection(
            "exceptions",
            _("Delivery exceptions opened"),
            _("Each time an order's parcel was reported missing or damaged, or its installation failed."),
            chart_svg.exceptions_chart(scope, opened),
            _("Delivery exceptions opened per period (the table has the figures)"),
            [period, _("Exceptions opened")],
            [[label(r.start), r.count] for r in opened],
            [_("Total"), sum(r.count for r in opened)],
        )
    )

    ages = charts.open_exceptions_by_age(scope)
    out.append(
        ChartSection(
            "exception-ages",
            _("Exceptions still open, by age"),
            _("Orders waiting for the county's decision now, by the time since they went into exception."),
            chart_svg.exception_ages_chart(ages),
            _("Open delivery exceptions by age (the table has the figures)"),
            [_("Open for"), _("Orders")],
            [[bucket, count] for bucket, count in ages],
            [_("Total"), sum(count for _bucket, count in ages)],
        )
    )

    cash = charts.cash_differences(scope)
    out.append(
        ChartSection(
            "cash",
            _("Cash differences at the day's close"),
            _("The stations' day closes in the period: the drawer counted against what the cash book expected."),
            chart_svg.cash_chart(scope, cash),
            _("Cash short and over at the day's close per period (the table has the figures)"),
            [period, _("Day closes"), _("Closes off"), _("Short (¥)"), _("Over (¥)")],
            [[label(r.start), r.closes, r.off, _money(r.short), _money(r.over)] for r in cash],
            [
                _("Total"),
                sum(r.closes for r in cash),
                sum(r.off for r in cash),
                _money(sum((r.short for r in cash), charts.ZERO)),
                _money(sum((r.over for r in cash), charts.ZERO)),
            ],
        )
    )

    produce = charts.produce_bought(scope)
    out.append(
        ChartSection(
            "produce",
            _("Produce bought"),
            _(
                "Lots weighed or counted at the warehouse in the period and their value, and what villagers were "
                "paid for their lots in the period."
            ),
            chart_svg.produce_chart(scope, produce),
            _("Produce received and paid per period (the table has the figures)"),
            [period, _("Lots received"), _("Value received (¥)"), _("Paid to villagers (¥)")],
            [[label(r.start), r.received, _money(r.received_value), _money(r.paid_value)] for r in produce],
            [
                _("Total"),
                sum(r.received for r in produce),
                _money(sum((r.received_value for r in produce), charts.ZERO)),
                _money(sum((r.paid_value for r in produce), charts.ZERO)),
            ],
        )
    )
    return out


@county_manager_required
@require_GET
def county_charts(request):
    """``?period=weeks|months`` (weeks by default) and ``?station=<code>`` (the whole county by default).

    A period that is neither is a 400, a station that is not one of the county's a 404, each with the reason
    on the page.  Queries: the counties, the stations (for the filter, and the commission's rows), one per chart.
    """
    period = request.GET.get("period", charts.Period.WEEKS)
    code = request.GET.get("station", "").strip()
    stations = list(
        ServiceCenter.objects.filter(village__county__in=request.counties).order_by("name", "code").only("code", "name")
    )
    context = {"period": period, "code": code, "stations": stations, "periods": charts.Period.CHOICES}
    if period not in charts.Period.CHOICES:
        context["error"] = _("Show the last 12 weeks or the last 12 months: period must be weeks or months.")
        return render(request, "county/charts.html", context, status=400)
    station = None
    if code:
        station = next((s for s in stations if s.code == code), None)
        if station is None:
            context["error"] = _("Your county has no station with the code %(code)s.") % {"code": code[:20]}
            return render(request, "county/charts.html", context, status=404)
    scope = charts.Scope(counties=request.counties, period=period, station=station)
    shown = [(s.code, s.name) for s in stations if station is None or s == station]
    context.update(scope=scope, station=station, sections=_sections(scope, shown))
    return render(request, "county/charts.html", context)
