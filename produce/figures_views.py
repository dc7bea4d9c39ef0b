"""The county's produce figures page: a month's sales by village and kind, and how full the trucks come back."""

from django.shortcuts import render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from orders.commissions import month_start, next_month, previous_month
from partners.access import county_manager_required

from . import figures


@county_manager_required
@require_GET
def county_figures(request):
    this_month = month_start(timezone.localdate())
    raw = request.GET.get("month", "")
    try:
        month = figures.parse_month(raw) if raw else this_month
    except figures.BadMonth as exc:
        context = {"error": str(exc), "raw": raw[:20], "this_month": this_month}
        return render(request, "produce/figures.html", context, status=400)
    villages = figures.village_sales(request.counties, month)
    leg = figures.return_leg(request.counties, month)
    context = {
        "month": month,
        "this_month": this_month,
        "previous": previous_month(month),
        "next": next_month(month) if month < this_month else None,
        "villages": villages,
        "totals": {
            "received_value": sum((v.received_value for v in villages), figures.ZERO),
            "paid": sum((v.paid for v in villages), figures.ZERO),
            "owed": sum((v.owed for v in villages), figures.ZERO),
        },
        "leg": leg,
        # pygal writes the SVG from the figures and the names: the data URIs go into an <img> as they are.
        "sales_chart": mark_safe(figures.sales_chart(villages)) if villages else "",  # noqa: S308
        "leg_chart": mark_safe(figures.return_leg_chart(leg)) if leg.runs else "",  # noqa: S308
    }
    return render(request, "produce/figures.html", context)
