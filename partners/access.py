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
