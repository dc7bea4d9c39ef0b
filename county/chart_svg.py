"""The county charts drawn by pygal: SVG as a data URI for an <img>, no script (``js=[]``).

An SVG image runs no script and its own <style> is not the page's inline style, so the CSP's
``img-src data:`` is all it needs (an inline <svg> would need ``style-src 'unsafe-inline'``).
Every chart has the same figures as a table on the page (``templates/county/charts.html``).
"""

import math

import pygal
import pygal.style
from django.utils.translation import gettext as _

from . import charts
from .charts import Scope

TOP_STATIONS = 15  # stations drawn one by one on the county's commission chart; the rest as one bar


def _chart(kind, **options):
    options = {"height": 340, "show_legend": True, **options}
    return kind(
        js=[],
        width=1200,
        legend_at_bottom=True,
        print_zeroes=True,
        max_scale=8,  # at most about eight ticks on an axis of yuan
        truncate_label=-1,  # pygal guesses label widths for Latin text and cuts Chinese station names short
        truncate_legend=-1,
        no_data_text=_("No figures"),
        style=pygal.style.CleanStyle(
            font_family="Noto Sans CJK SC, Microsoft YaHei, sans-serif",
            label_font_size=15,
            major_label_font_size=15,
            legend_font_size=16,
            title_font_size=18,
            value_font_size=14,
            no_data_font_size=24,
        ),
        **options,
    )


def _whole_numbers(chart, values: list[int]):
    """Counts get whole-number ticks (pygal would mark 0.2 orders), about five of them."""
    top = max(values, default=0) or 1
    step = math.ceil(top / 5)
    chart.y_labels = list(range(0, top + step, step))
    return chart


def _periods(chart, scope: Scope):
    chart.x_labels = [scope.label(start) for start in scope.starts]
    return chart


def orders_chart(scope: Scope, rows: list[charts.OrdersRow]) -> str:
    chart = _periods(_chart(pygal.Bar, height=260, y_title=_("orders"), print_values=True), scope)
    _whole_numbers(chart, [r.count for r in rows])
    chart.add(_("orders placed"), [r.count for r in rows])
    return chart.render_data_uri()


def order_value_chart(scope: Scope, rows: list[charts.OrdersRow]) -> str:
    chart = _periods(_chart(pygal.Bar, height=260, y_title=_("value (¥)"), include_x_axis=True), scope)
    chart.add(_("value of the orders placed (¥)"), [float(r.value) for r in rows])
    return chart.render_data_uri()


def commission_chart(scope: Scope, stations: list[charts.StationCommission]) -> str:
    """One station: what it earned per period.  The county: each station's total, the largest first."""
    if scope.station is not None:
        chart = _periods(_chart(pygal.Bar, y_title=_("commission (¥)"), include_x_axis=True), scope)
        amounts = stations[0].amounts if stations else [charts.ZERO] * charts.PERIODS
        chart.add(scope.station.name, [float(a) for a in amounts])
        return chart.render_data_uri()
    shown, rest = stations[:TOP_STATIONS], stations[TOP_STATIONS:]
    bars = [(s.name, s.total) for s in shown]
    if rest:
        bars.append((_("%(count)s other stations") % {"count": len(rest)}, sum((s.total for s in rest), charts.ZERO)))
    chart = _chart(
        pygal.HorizontalBar,
        height=max(200, 90 + 30 * len(bars)),
        show_legend=False,
        print_values=True,
        include_x_axis=True,
        margin_left=60,
        x_title=_("commission earned in the 12 periods (¥)"),
    )
    chart.x_labels = [name for name, _total in reversed(bars)]  # pygal draws the first label at the bottom
    chart.add(_("commission (¥)"), [float(total) for _name, total in reversed(bars)])
    return chart.render_data_uri()


def on_time_chart(scope: Scope, rows: list[charts.OnTimeRow]) -> str:
    chart = _periods(_chart(pygal.StackedBar, y_title=_("orders arrived")), scope)
    _whole_numbers(chart, [r.arrived for r in rows])
    chart.add(_("on time"), [r.on_time for r in rows])
    chart.add(_("late"), [r.late for r in rows])
    return chart.render_data_uri()


def exceptions_chart(scope: Scope, rows: list[charts.CountRow]) -> str:
    chart = _periods(_chart(pygal.Bar, y_title=_("exceptions"), print_values=True), scope)
    _whole_numbers(chart, [r.count for r in rows])
    chart.add(_("exceptions opened"), [r.count for r in rows])
    return chart.render_data_uri()


def exception_ages_chart(buckets: list[tuple[str, int]]) -> str:
    chart = _chart(pygal.Bar, height=280, show_legend=False, print_values=True)
    _whole_numbers(chart, [count for _label, count in buckets])
    chart.x_labels = [label for label, _count in buckets]
    chart.add(_("open exceptions"), [count for _label, count in buckets])
    return chart.render_data_uri()


def cash_chart(scope: Scope, rows: list[charts.CashRow]) -> str:
    chart = _periods(_chart(pygal.Bar, y_title=_("difference (¥)"), include_x_axis=True), scope)
    chart.add(_("short"), [float(r.short) for r in rows])
    chart.add(_("over"), [float(r.over) for r in rows])
    return chart.render_data_uri()


def produce_chart(scope: Scope, rows: list[charts.ProduceRow]) -> str:
    chart = _periods(_chart(pygal.Bar, y_title=_("value (¥)"), include_x_axis=True), scope)
    chart.add(_("received at the warehouse"), [float(r.received_value) for r in rows])
    chart.add(_("paid to villagers"), [float(r.paid_value) for r in rows])
    return chart.render_data_uri()
