"""Deliveries for stations (incoming parcels, receiving) and the county's dispatch board and manifests."""

import csv
from datetime import date
from itertools import groupby

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from kombu.exceptions import OperationalError as BrokerUnavailable

from orders import services as order_services
from orders.models import Order
from partners.access import counties_of_user, county_manager_required, staff_of_request, station_required
from partners.phones import mask_name

from . import photos as parcel_photos
from . import pickups, selectors, services, tasks
from .forms import FindPickupForm, ReceivePickupForm
from .models import BatchStop, DeliveryBatch, Parcel, Pickup

# --- stations -----------------------------------------------------------------------------


@station_required
def deliveries(request):
    stops = selectors.station_stops(station=request.station)
    overdue = selectors.overdue_parcels(station=request.station).select_related("order__villager")
    missing = selectors.missing_parcels(station=request.station)
    context = {"stops": stops, "overdue": overdue, "missing": missing}
    return render(request, "logistics/deliveries.html", context)


def _stop_of_station(request, pk: int) -> BatchStop:
    stop = selectors.station_stop(station=request.station, pk=pk)
    if stop is None:
        raise Http404("No such delivery for this station")
    return stop


@station_required
@require_http_methods(["GET", "POST"])
def receive(request, pk: int):
    stop = _stop_of_station(request, pk)
    parcels = list(stop.parcels.select_related("order__villager").order_by("label"))
    rows = [{"parcel": p, "outcome": "delivered", "note": "", "error": ""} for p in parcels]
    if request.method == "POST":
        problems, photos = {}, {}
        for row in rows:
            parcel = row["parcel"]
            outcome = request.POST.get(f"parcel-{parcel.pk}", "delivered")
            if outcome in (Parcel.Status.MISSING, Parcel.Status.DAMAGED):
                # NUL bytes dropped: PostgreSQL refuses them in text (a 500), SQLite would keep them.
                note = request.POST.get(f"note-{parcel.pk}", "").replace("\x00", "")[:500]
                problems[parcel.pk] = (outcome, note)
                row.update(outcome=outcome, note=note)
                # A photo of a parcel marked received is not read: it is a photo of nothing wrong.
                upload = request.FILES.get(f"photo-{parcel.pk}")
                if upload is not None:
                    try:
                        photos[parcel.pk] = parcel_photos.process_photo(upload)
                    except parcel_photos.PhotoError as exc:
                        row["error"] = str(exc)
            elif outcome != "delivered":
                messages.error(request, _("Choose received, missing or damaged for each parcel."))
                return redirect("delivery-receive", pk=stop.pk)
        if any(row["error"] for row in rows):
            # Nothing received: the page again with the choices and notes as sent, the photo to take again.
            context = {"stop": stop, "rows": rows, "has_errors": True}
            return render(request, "logistics/receive.html", context)
        try:
            parcel_photos.receive_stop_with_photos(stop=stop, actor=request.user, problems=problems, photos=photos)
        except (services.DispatchError, order_services.OrderError) as exc:
            messages.error(request, str(exc))
            return redirect("delivery-receive", pk=stop.pk)
        received = len(parcels) - len(problems)
        if received:  # none received, none told: the message would say otherwise
            messages.success(
                request, _("%(count)s parcels received; the villagers are told by SMS.") % {"count": received}
            )
        if problems:
            labels = ", ".join(row["parcel"].label for row in rows if row["parcel"].pk in problems)
            messages.warning(
                request,
                _(
                    "Marked missing or damaged: %(labels)s. The county decides whether to ship again; "
                    "tell the villagers their goods are delayed."
                )
                % {"labels": labels},
            )
        return redirect("deliveries")
    context = {"stop": stop, "rows": rows}
    if stop.status == BatchStop.Status.RECEIVED:
        context["problems"] = selectors.stop_problem_parcels(stop=stop)
    return render(request, "logistics/receive.html", context)


@station_required
@require_POST
def parcel_found(request, label: str):
    """A parcel marked missing turned up at the counter: receive it as found (the service says what happens)."""
    parcel = Parcel.objects.filter(label=label, batch_stop__service_center=request.station).first()
    if parcel is None:
        raise Http404("No such parcel for this station")
    try:
        parcel = services.receive_found(parcel=parcel, actor=request.user, note=request.POST.get("note", "")[:200])
    except services.DispatchError as exc:
        messages.error(request, str(exc))
        return redirect("delivery-receive", pk=parcel.batch_stop_id)
    if parcel.status == Parcel.Status.DELIVERED:  # the next step is the hand-over, on the order's page
        messages.success(
            request,
            _("Parcel %(label)s received as found: the order waits for its villager, who is told by SMS.")
            % {"label": parcel.label},
        )
        return redirect("order-detail", number=parcel.order.number)
    messages.success(
        request,
        _(
            "Parcel %(label)s received as found. Its order had already moved on, so the goods go back "
            "to the warehouse on the next run: keep them with the goods going back."
        )
        % {"label": parcel.label},
    )
    return redirect("going-back")


@station_required
def overdue_tile(request):
    count = selectors.overdue_parcels(station=request.station).count()
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
    context = {
        "day": day,
        "batches": selectors.board_batches(counties=request.counties, day=day),
        "pending": selectors.board_pending_orders(counties=request.counties),
        "reasons": selectors.board_unplanned_reasons(counties=request.counties),
        "warehouses": [c.warehouse for c in request.counties if hasattr(c, "warehouse")],
    }
    return render(request, "logistics/dispatch_board.html", context)


@county_manager_required
@require_POST
def plan_now(request):
    """Queue the planning of the county's warehouse for the day: a worker plans it, this request does not wait."""
    day = _board_date(request) if request.GET.get("date") else timezone.localdate()
    for county in request.counties:
        warehouse = getattr(county, "warehouse", None)
        if warehouse is None:
            continue
        try:
            # No transaction is open here, so on_commit publishes at once and a broker outage is caught
            # below.  A run that finds the warehouse busy (a cutoff's run) retries after it.
            tasks.plan_warehouse.delay_on_commit(warehouse.pk, day.isoformat())
        except BrokerUnavailable:
            messages.error(request, _("Planning could not be started; try again in a minute."))
        else:
            messages.success(
                request,
                _("Planning %(code)s has started; its batches show on this board when it is done.")
                % {"code": warehouse.code},
            )
    return redirect(f"/county/dispatch/?date={day.isoformat()}")


def _batch_of_county(request, code: str) -> DeliveryBatch:
    batch = selectors.county_batch(counties=request.counties, code=code)
    if batch is None:
        raise Http404("No such batch in your county")
    return batch


@county_manager_required
def manifest(request, code: str):
    batch = _batch_of_county(request, code)
    stops = selectors.manifest_page_stops(batch=batch)
    return render(request, "logistics/manifest.html", {"batch": batch, "stops": stops})


@county_manager_required
def manifest_csv(request, code: str):
    batch = _batch_of_county(request, code)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="manifest-{batch.code}.csv"'
    response.write("\ufeff")
    writer = csv.writer(response)
    # The header stays English in every language, unlike the partners' CSVs: the county forwards this file to
    # the logistics company's systems, and its columns are named as the API's manifest fields (a contract;
    # tests/logistics pin it).
    # "kind": parcel (delivered at the stop) or pickup (goods taken back from it, on the return leg).
    # "delivery_method", "home_address": a parcel that goes on to the villager's house after the stop.
    header = [
        "stop",
        "station",
        "address",
        "label",
        "order",
        "villager",
        "weight_kg",
        "volume_m3",
        "delivery_method",
        "home_address",
        "status",
        "kind",
    ]
    writer.writerow(header)
    for stop in selectors.manifest_stops(batch=batch):
        place = [stop.sequence, stop.service_center.name, stop.service_center.address]
        for kind, items in (("parcel", stop.parcels.all()), ("pickup", stop.pickups.all())):
            for item in items:
                if kind == "pickup" and item.lot_number:  # a villager's produce lot: no order, no house
                    row = [*place, item.label, item.lot_number, "", item.weight_kg, item.volume_m3, "", ""]
                    writer.writerow([*row, item.status, "produce"])
                    continue
                order = item.order if kind == "parcel" else item.goods_return.order
                writer.writerow(
                    [
                        *place,
                        item.label,
                        order.number,
                        mask_name(order.villager.name),
                        item.weight_kg,
                        item.volume_m3,
                        order.delivery_method,
                        order.villager.address if order.delivery_method != "station_pickup" else "",
                        item.status,
                        kind,
                    ]
                )
    return response


# --- delivery exceptions: the county decides ----------------------------------------------------


@county_manager_required
def exception_queue(request):
    """Orders whose parcel was missing or damaged, oldest first, with the run, the stop and the note."""
    now = timezone.now()
    rows = [
        {
            "parcel": p,
            "order": p.order,
            "villager": mask_name(p.order.villager.name),
            "age_days": (now - p.order.updated_at).days,
            "photo": getattr(p, "photo", None),  # selected with the parcel; None when none was taken
        }
        for p in selectors.exception_parcels(counties=request.counties)
    ]
    installations = [
        {"order": o, "villager": mask_name(o.villager.name), "age_days": (now - o.failed_at).days}
        for o in selectors.failed_installations(counties=request.counties)
    ]
    return render(request, "logistics/exceptions.html", {"rows": rows, "installations": installations})


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
def exception_book_again(request, number: str):
    """A failed installation the county settles by booking it again: the order is at its station, to be booked."""
    order = _exception_of_county(request, number)
    try:
        order_services.back_to_station(order=order, actor=request.user)
    except order_services.OrderError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("Order %(number)s waits at its station again: the station books a new installation time.")
            % {"number": order.number},
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


# --- photos of missing or damaged parcels --------------------------------------------------------


@login_required
@require_GET
def parcel_photo(request, pk: int, size: str = "full"):
    """A parcel's photo (or its thumbnail), never a public file: to the staff of the station it was delivered
    to, to the managers of its county and to admins.  Anyone else gets a 404, as for a photo that does not exist.
    """
    staff = staff_of_request(request)
    photo = selectors.visible_parcel_photo(
        pk=pk, station=staff.service_center if staff else None, counties=counties_of_user(request.user)
    )
    if photo is None:
        raise Http404("No such photo")
    file = photo.thumbnail if size == "thumbnail" else photo.image
    return parcel_photos.private_jpeg(file, filename=f"{photo.parcel.label}.jpg")


# --- the way back: the county warehouse receives the goods its runs bring back ---------------------


@county_manager_required
def pickups_to_receive(request):
    """Pickups on their way back, by run, with a scan box that jumps to one; goods still waiting at the stations."""
    find = FindPickupForm(request.GET) if "label" in request.GET else FindPickupForm()
    if find.is_bound and find.is_valid():
        label = find.cleaned_data["label"]
        if selectors.county_pickup(counties=request.counties, label=label) is not None:
            return redirect("county-pickup", label=label)
        find.add_error("label", _("No pickup %(label)s on your county's runs.") % {"label": label})
    # (run, [(pickup, on its way since)]): collected at, or when its run left (the driver has not reported it)
    runs = [
        (batch, [(p, p.collected_at or batch.departed_at) for p in group])
        for batch, group in groupby(
            selectors.pickups_on_the_way(counties=request.counties), key=lambda p: p.batch_stop.batch
        )
    ]
    context = {"find": find, "runs": runs, "waiting": selectors.goods_waiting(counties=request.counties)}
    return render(request, "logistics/pickups.html", context)


def _receivable(pickup: Pickup) -> bool:
    batch_status = pickup.batch_stop.batch.status
    return pickup.status == Pickup.Status.COLLECTED or (
        pickup.status == Pickup.Status.PLANNED and batch_status == DeliveryBatch.Status.IN_TRANSIT
    )


@county_manager_required
@require_http_methods(["GET", "POST"])
def pickup_receive(request, label: str):
    """Count a pickup's goods in: per line, units sellable (back on the shelf) and damaged (into quarantine)."""
    pickup = selectors.county_pickup(counties=request.counties, label=label)
    if pickup is None:
        raise Http404("No such pickup in your county")
    if pickup.lot_number:  # a villager's produce: weighed and graded with the county's lots
        messages.info(
            request,
            _("%(label)s is produce lot %(lot)s: weigh and grade it here.")
            % {"label": pickup.label, "lot": pickup.lot_number},
        )
        return redirect(reverse("county-produce") + f"#lot-{pickup.lot_number}")
    goods = pickup.goods_return
    lines = list(goods.lines.all())
    if request.method == "POST":
        if pickup.status == Pickup.Status.RECEIVED:
            messages.info(request, _("Pickup %(label)s was received already.") % {"label": pickup.label})
            return redirect("county-pickups")
        form = ReceivePickupForm(request.POST, goods=goods, lines=lines)
        if form.is_valid():
            counts = form.counts()
            try:
                pickups.receive(pickup=pickup, actor=request.user, counts=counts, note=form.cleaned_data["note"])
            except (pickups.PickupError, order_services.OrderError) as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("%(label)s received: %(sellable)s units back on the shelf, %(damaged)s into quarantine.")
                    % {
                        "label": pickup.label,
                        "sellable": sum(s for s, _d in counts.values()),
                        "damaged": sum(d for _s, d in counts.values()),
                    },
                )
                return redirect("county-pickups")
    else:
        form = ReceivePickupForm(goods=goods, lines=lines)
    context = {"pickup": pickup, "goods": goods, "form": form, "receivable": _receivable(pickup)}
    return render(request, "logistics/pickup_receive.html", context)
