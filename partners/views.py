"""Partner pages: the dashboard and the station's villagers."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .access import is_htmx, station_required
from .forms import VillagerForm, VillagerSearchForm

VILLAGERS_PER_PAGE = 25


@station_required
def villager_list(request):
    search = VillagerSearchForm(request.GET or None)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    villagers = selectors.villagers_of_station(request.station, query=query)
    page = Paginator(villagers, VILLAGERS_PER_PAGE).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    context = {"search": search, "query": query, "page": page, "query_string": query_string.urlencode()}
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
            next_url = _next_path(request)
            if next_url:
                # Back to where the partner came from (the order form) with this villager chosen.
                separator = "&" if "?" in next_url else "?"
                return redirect(f"{next_url}{separator}villager={villager.pk}")
            return redirect("villager-detail", pk=villager.pk)
    next_url = _next_path(request)
    return render(request, "partners/villager_form.html", {"form": form, "villager": None, "next_url": next_url})


def _next_path(request) -> str:
    """?next= when it is a path of this site, else "" (redirect() would take "a b" for a view name: a 500)."""
    next_url = request.GET.get("next", "")
    if next_url.startswith("/") and url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return ""


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
            services.update_villager(villager=villager, actor=request.user, **form.cleaned_data)
        except services.DuplicatePhone as exc:
            form.add_error("phone", str(exc))
        else:
            messages.success(request, _("Saved."))
            return redirect("villager-detail", pk=villager.pk)
    return render(request, "partners/villager_form.html", {"form": form, "villager": villager})


@station_required(action="anonymise_villager")
@require_POST
def villager_anonymise(request, pk: int):
    villager = selectors.get_villager_of_station(request.station, pk)
    services.anonymise_villager(villager=villager)
    messages.success(request, _("The villager's name, phone number and notes are erased; their orders are kept."))
    return redirect("villager-detail", pk=villager.pk)
