"""Who may see what: the one place that scopes partner pages to the user's station."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from . import selectors


def station_required(view):
    """Login required, then resolve the user's station into ``request.station``.

    The one place that scopes a partner page: a user with no station sees a
    page that says so (403), never another station's data.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.station = selectors.station_for_user(request.user)
        if request.station is None:
            managed = request.user.managed_counties.select_related("county")
            return render(request, "partners/no_station.html", {"managed": managed}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


def county_manager_required(view):
    """Login required, then ``request.counties``: the counties the user manages (all of them for a superuser).

    Anyone else gets a 404, so a station's staff cannot even tell the page exists.
    """

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        from django.http import Http404

        from .models import County

        if request.user.is_superuser:
            request.counties = list(County.objects.all())
        else:
            request.counties = list(County.objects.filter(managers__user=request.user))
        if not request.counties:
            raise Http404("Not a county manager")
        return view(request, *args, **kwargs)

    return wrapper
