"""The site's home page, and the county workspace: the county's day and what waits for its decision."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from cashbook import selectors as cash_selectors
from installations.models import Installer
from integrity import selectors as review_selectors
from logistics import promise
from logistics import selectors as logistics_selectors
from orders import views
from partners.access import counties_of_user, county_manager_required, staff_of_request

from . import selectors


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
