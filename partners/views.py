"""Partner pages: the dashboard and the station's villagers."""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .forms import VillagerForm, VillagerSearchForm

VILLAGERS_PER_PAGE = 25


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


@station_required
def dashboard(request):
    station = request.station
    context = {
        "villager_count": station.villagers.count(),
        "recent_villagers": station.villagers.order_by("-created_at", "-pk")[:5],
    }
    return render(request, "partners/dashboard.html", context)


@station_required
def villager_list(request):
    search = VillagerSearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    villagers = selectors.villagers_of_station(request.station, query=query)
    page = Paginator(villagers, VILLAGERS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"search": search, "query": query, "page": page}
    template = "partners/_villager_rows.html" if is_htmx(request) else "partners/villager_list.html"
    return render(request, template, context)


@station_required
@require_http_methods(["GET", "POST"])
def villager_create(request):
    form = VillagerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            villager = services.register_villager(station=request.station, created_by=request.user, **form.cleaned_data)
        except services.DuplicatePhone as exc:
            form.add_error("phone", str(exc))
        else:
            messages.success(request, _("%(name)s is registered.") % {"name": villager.name})
            next_url = request.GET.get("next", "")
            if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                return redirect(next_url)
            return redirect("villager-detail", pk=villager.pk)
    return render(request, "partners/villager_form.html", {"form": form, "villager": None})


@station_required
def villager_detail(request, pk: int):
    villager = selectors.get_villager_of_station(request.station, pk)
    return render(request, "partners/villager_detail.html", {"villager": villager})


@station_required
@require_http_methods(["GET", "POST"])
def villager_edit(request, pk: int):
    villager = selectors.get_villager_of_station(request.station, pk)
    form = VillagerForm(request.POST or None, instance=villager)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_villager(villager=villager, **form.cleaned_data)
        except services.DuplicatePhone as exc:
            form.add_error("phone", str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("villager-detail", pk=villager.pk)
    return render(request, "partners/villager_form.html", {"form": form, "villager": villager})
