"""The county's page of the delivery promise: orders about to miss it or late, and the weekly on-time rate."""

from django.shortcuts import render
from django.utils.safestring import mark_safe

from partners.access import county_manager_required
from partners.phones import mask_name

from . import promise


@county_manager_required
def promises(request):
    rows = promise.at_risk(request.counties)
    for row in rows:
        row.villager = mask_name(row.order.villager.name)
    rates = promise.on_time(request.counties)
    context = {
        "late": [r for r in rows if r.late],
        "at_risk": [r for r in rows if not r.late],
        "rates": rates,
        "station_rates": [
            (name, [(c, promise.OnTime.rate(c)) for c in cells]) for name, cells in rates.stations.items()
        ],
        "route_rates": [(name, [(c, promise.OnTime.rate(c)) for c in cells]) for name, cells in rates.routes.items()],
        # pygal writes the SVG from the figures and route names: the data URI goes into an <img> as it is.
        "chart": mark_safe(promise.on_time_chart(rates)) if rates.routes else "",  # noqa: S308
    }
    return render(request, "logistics/promises.html", context)
