"""Deliveries for stations (incoming parcels, receiving) and the county's dispatch board and manifests."""

import csv
from datetime import date

from django.contrib import messages
from django.db.models import Count, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from orders import services as order_services
from orders.models import Order
from partners.access import county_manager_required, station_required
from partners.phones import mask_name

from . import services
from .models import BatchStop, DeliveryBatch, Parcel, UnplannedOrder

B = DeliveryBatch.Status


# --- stations -----------------------------------------------------------------------------


@station_required
def deliveries(request):
    stops = (
        BatchStop.objects.filter(service_center=request.station)
        .exclude(batch__status=B.CANCELLED)
        .select_related("batch__vehicle")
        .annotate(parcels_expected=Count("parcels"))
    )
    # What is coming (every one of them), then the last few received.
    incoming = list(stops.exclude(status=BatchStop.Status.RECEIVED).order_by("batch__dispatch_date", "pk"))
    recent = list(stops.filter(status=BatchStop.Status.RECEIVED).order_by("-received_at", "-pk")[:5])
    overdue = (
        Parcel.objects.filter(batch_stop__service_center=request.station, overdue_since__isnull=False)
        .filter(order__status=Order.Status.AT_STATION)
        .select_related("order__villager")
    )
    return render(request, "logistics/deliveries.html", {"stops": incoming + recent, "overdue": overdue})


def _stop_of_station(request, pk: int) -> BatchStop:
    try:
        return BatchStop.objects.select_related("batch__vehicle").get(pk=pk, service_center=request.station)
    except BatchStop.DoesNotExist:
        raise Http404("No such delivery for this station") from None


@station_required
@require_http_methods(["GET", "POST"])
def receive(request, pk: int):
    stop = _stop_of_station(request, pk)
    parcels = list(stop.parcels.select_related("order__villager").order_by("label"))
    if request.method == "POST":
        problems = {}
        for parcel in parcels:
            outcome = request.POST.get(f"parcel-{parcel.pk}", "delivered")
            if outcome in (Parcel.Status.MISSING, Parcel.Status.DAMAGED):
                # NUL bytes dropped: PostgreSQL refuses them in text (a 500), SQLite would keep them.
                note = request.POST.get(f"note-{parcel.pk}", "").replace("\x00", "")[:500]
                problems[parcel.pk] = (outcome, note)
            elif outcome != "delivered":
                messages.error(request, _("Choose received, missing or damaged for each parcel."))
                return redirect("delivery-receive", pk=stop.pk)
        try:
            services.receive_stop(stop=stop, actor=request.user, problems=problems)
        except (services.DispatchError, order_services.OrderError) as exc:
            messages.error(request, str(exc))
            return redirect("delivery-receive", pk=stop.pk)
        received = len(parcels) - len(problems)
        messages.success(request, _("%(count)s parcels received; the villagers are told by SMS.") % {"count": received})
        return redirect("deliveries")
    return render(request, "logistics/receive.html", {"stop": stop, "parcels": parcels})


@station_required
def overdue_tile(request):
    count = Parcel.objects.filter(
        batch_stop__service_center=request.station, overdue_since__isnull=False, order__status=Order.Status.AT_STATION
    ).count()
    return render(request, "logistics/_overdue_tile.html", {"count": count})


# --- the county ------------------------------------------------------------------------------


def _board_date(request) -> date:
    try:
        return date.fromisoformat(request.GET.get("date", "")[:10])
    except ValueError:
        return timezone.localdate()


@county_manager_required
def dispatch_board(request):
    day = _board_date(request)
    batches = (
        DeliveryBatch.objects.filter(warehouse__county__in=request.counties, dispatch_date=day)
        .select_related("vehicle", "route", "warehouse")
        .prefetch_related(Prefetch("stops", queryset=BatchStop.objects.select_related("service_center")))
        .order_by("warehouse__code", "route__code", "code")
    )
    pending = (
        Order.objects.filter(warehouse__county__in=request.counties, status=Order.Status.CONFIRMED)
        .select_related("service_center", "dispatch_issue")
        .order_by("service_center__code", "confirmed_at")[:200]
    )
    reasons = (
        UnplannedOrder.objects.filter(warehouse__county__in=request.counties, order__status=Order.Status.CONFIRMED)
        .values("reason")
        .annotate(count=Count("pk"))
        .order_by("reason")
    )
    labels = dict(UnplannedOrder.Reason.choices)
    context = {
        "day": day,
        "batches": batches,
        "pending": pending,
        "reasons": [(labels.get(r["reason"], r["reason"]), r["count"]) for r in reasons],
        "warehouses": [c.warehouse for c in request.counties if hasattr(c, "warehouse")],
    }
    return render(request, "logistics/dispatch_board.html", context)


@county_manager_required
@require_POST
def plan_now(request):
    day = _board_date(request) if request.GET.get("date") else timezone.localdate()
    for county in request.counties:
        warehouse = getattr(county, "warehouse", None)
        if warehouse is None:
            continue
        report = services.plan_dispatch(warehouse=warehouse, dispatch_date=day)
        if report.busy:
            messages.warning(
                request, _("%(code)s is being planned right now; try again in a minute.") % {"code": warehouse.code}
            )
        else:
            messages.success(
                request,
                _("%(code)s: %(batches)s batches, %(parcels)s parcels planned.")
                % {"code": warehouse.code, "batches": len(report.batches), "parcels": report.parcels},
            )
    return redirect(f"/county/dispatch/?date={day.isoformat()}")


def _batch_of_county(request, code: str) -> DeliveryBatch:
    if "\x00" in code:  # from %00 in the path: no batch has it, and PostgreSQL refuses it in a query (a 500)
        raise Http404("No such batch in your county")
    try:
        return DeliveryBatch.objects.select_related("vehicle", "route", "warehouse").get(
            code=code, warehouse__county__in=request.counties
        )
    except DeliveryBatch.DoesNotExist:
        raise Http404("No such batch in your county") from None


def _manifest_stops(batch: DeliveryBatch):
    return batch.stops.select_related("service_center").prefetch_related(
        Prefetch("parcels", queryset=Parcel.objects.select_related("order__villager").order_by("label"))
    )


@county_manager_required
def manifest(request, code: str):
    batch = _batch_of_county(request, code)
    return render(request, "logistics/manifest.html", {"batch": batch, "stops": _manifest_stops(batch)})


@county_manager_required
def manifest_csv(request, code: str):
    batch = _batch_of_county(request, code)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="manifest-{batch.code}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow(["stop", "station", "address", "label", "order", "villager", "weight_kg", "volume_m3", "status"])
    for stop in _manifest_stops(batch):
        for parcel in stop.parcels.all():
            writer.writerow(
                [
                    stop.sequence,
                    stop.service_center.name,
                    stop.service_center.address,
                    parcel.label,
                    parcel.order.number,
                    mask_name(parcel.order.villager.name),
                    parcel.weight_kg,
                    parcel.volume_m3,
                    parcel.status,
                ]
            )
    return response


# --- delivery exceptions: the county decides ----------------------------------------------------


@county_manager_required
def exception_queue(request):
    """Orders whose parcel was missing or damaged, oldest first, with the run, the stop and the note."""
    parcels = (
        Parcel.objects.filter(
            order__status=Order.Status.EXCEPTION,
            order__warehouse__county__in=request.counties,
            status__in=services.PROBLEM_KINDS,
        )
        .select_related("batch_stop__batch__vehicle", "batch_stop__service_center", "order__villager")
        .order_by("batch_stop__batch__dispatch_date", "pk")
    )
    # An order shipped again and lost again has two problem parcels: the queue shows the latest.
    latest = {}
    for parcel in parcels:
        latest[parcel.order_id] = parcel
    now = timezone.now()
    rows = [
        {
            "parcel": p,
            "order": p.order,
            "villager": mask_name(p.order.villager.name),
            "age_days": (now - p.order.updated_at).days,
        }
        for p in latest.values()
    ]
    return render(request, "logistics/exceptions.html", {"rows": rows})


def _exception_of_county(request, number: str) -> Order:
    if "\x00" in number or len(number) > 20:
        raise Http404("No such order in your county")
    try:
        return Order.objects.get(number=number, warehouse__county__in=request.counties)
    except Order.DoesNotExist:
        raise Http404("No such order in your county") from None


@county_manager_required
@require_POST
def exception_ship_again(request, number: str):
    order = _exception_of_county(request, number)
    try:
        order_services.ship_again(order=order, actor=request.user)
    except order_services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("Order %(number)s goes out again on the next run to its station.") % {"number": order.number}
        )
    return redirect("county-exceptions")


@county_manager_required
@require_POST
def exception_cancel(request, number: str):
    order = _exception_of_county(request, number)
    reason = request.POST.get("reason", "").replace("\x00", "")[:500]
    try:
        order_services.cancel_exception(order=order, actor=request.user, reason=reason)
    except order_services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Order %(number)s is cancelled.") % {"number": order.number})
    return redirect("county-exceptions")
