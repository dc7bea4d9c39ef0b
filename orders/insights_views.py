"""The station's "what sells" page (orders.insights): four small tables, each with its chart."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from partners.access import station_may, station_required
from partners.phones import mask_name

from . import insights


def _chart(rows, *, label, value, title) -> str:
    # pygal writes the SVG from the figures and the names: the data URI goes into an <img> as it is.
    return mark_safe(  # noqa: S308
        insights.bar_chart([label(r) for r in rows], [value(r) for r in rows], title=title)
    )


@station_required(action="insights")
@require_GET
def station_insights(request):
    station = request.station
    season = insights.season(timezone.localdate())
    by = "value" if request.GET.get("by") == "value" else "units"
    # The commission is the partner's income: an assistant sees what sells, not what it earns.
    with_commission = station_may(request.station_role, "commissions")
    categories = insights.station_categories(station, season)
    status, error = 200, ""
    try:
        category = insights.chosen_category(request.GET.get("category", ""), categories)
    except insights.BadCategory as exc:
        status, error, category = 400, str(exc), insights.default_category(categories)

    ours = insights.station_best_sellers(station, season, by=by, commission=with_commission)
    county = insights.county_best_sellers(station, season, by=by)
    repeat = insights.repeat_buyers(station, season)
    remind = insights.who_to_remind(station, category.pk if category else None, season)
    missing = insights.not_sold_here(station, season)
    for row in (*repeat, *remind):
        row.masked = mask_name(row.name)

    measure = (lambda r: r.value) if by == "value" else (lambda r: r.units)
    measure_title = _("value sold (¥)") if by == "value" else _("units sold")
    context = {
        "season": season,
        "last_year": season.year_before(),
        "by": by,
        "with_commission": with_commission,
        "categories": categories,
        "category": category,
        "error": error,
        "ours": ours,
        "county": county,
        "repeat": repeat,
        "remind": remind,
        "missing": missing,
        "ours_chart": _chart(ours, label=lambda r: r.name, value=measure, title=measure_title),
        "county_chart": _chart(county, label=lambda r: r.name, value=measure, title=measure_title),
        "repeat_chart": _chart(repeat, label=lambda r: r.masked, value=lambda r: r.orders, title=_("orders collected")),
        "remind_chart": _chart(remind, label=lambda r: r.masked, value=lambda r: r.units, title=_("units last year")),
        "missing_chart": _chart(missing, label=lambda r: r.name, value=lambda r: r.units, title=_("units sold")),
    }
    return render(request, "orders/insights.html", context, status=status)
