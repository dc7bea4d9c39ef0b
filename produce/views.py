"""Produce pages: the station lists a villager's lot and pays it once received; the county buys (or declines),
receives and grades, and prints the lot's traceability label."""

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from logistics import photos
from partners.access import (
    counties_of_user,
    county_manager_required,
    staff_of_request,
    station_may,
    station_required,
)
from partners.phones import mask_name

from . import return_leg, services
from .forms import LotForm
from .models import ProduceLot

S = ProduceLot.Status


# --- the station ---------------------------------------------------------------------------------------


@station_required
@require_GET
def lot_list(request):
    lots = list(
        ProduceLot.objects.filter(station=request.station)
        .select_related("villager", "kind")
        .order_by("-created_at")[:100]
    )
    for lot in lots:
        lot.is_overdue = services.overdue(lot)
        lot.too_late = lot.status == S.LISTED and services.past_keeping(lot)
    return render(request, "produce/list.html", {"lots": lots})


@station_required
@require_http_methods(["GET", "POST"])
def lot_new(request):
    form = LotForm(request.POST or None, request.FILES or None, station=request.station)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lot = services.list_lot(
                station=request.station,
                villager=data["villager"],
                kind=data["kind"],
                quantity=data["quantity"],
                grade=data["grade"].strip(),
                price_asked=data["price_asked"],
                ready_on=data["ready_on"],
                certificate_no=data["certificate_no"],
                photo=data.get("photo"),
                actor=request.user,
            )
        except services.ProduceError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Lot %(number)s listed: the county decides.") % {"number": lot.number})
            return redirect("produce-detail", number=lot.number)
    status = 400 if request.method == "POST" else 200
    return render(request, "produce/new.html", {"form": form}, status=status)


@station_required
@require_http_methods(["GET", "POST"])
def lot_detail(request, number: str):
    lot = get_object_or_404(
        ProduceLot.objects.select_related("villager", "kind"), number=number, station=request.station
    )
    may_pay = station_may(request.station_role, "pay_produce")
    error = ""
    if request.method == "POST":
        step = request.POST.get("step", "")
        try:
            if step == "withdraw":
                services.withdraw_lot(lot=lot, actor=request.user)
                messages.success(request, _("Lot %(number)s withdrawn.") % {"number": lot.number})
            elif step == "pay" and may_pay:
                via = request.POST.get("via") or ProduceLot.PaidVia.CASH
                lot = services.pay_lot(
                    lot=lot,
                    actor=request.user,
                    expected_value=request.POST.get("value") or None,
                    via=via,
                    reference=request.POST.get("reference", ""),
                )
                if lot.paid_via == ProduceLot.PaidVia.ACCOUNT:
                    done = _("¥%(value)s paid to %(villager)s's own account (reference %(reference)s).")
                else:
                    done = _("Pay ¥%(value)s to %(villager)s from the drawer, and have them sign the slip.")
                messages.success(
                    request,
                    done % {"value": lot.value, "villager": lot.villager.name, "reference": lot.payment_reference},
                )
            elif step == "pay":
                return render(request, "partners/not_allowed.html", {"action": "pay_produce"}, status=403)
            else:
                raise services.ProduceError(_("Choose a step."))
        except (services.ProduceError, ValueError, ArithmeticError) as exc:
            error = str(exc) if isinstance(exc, services.ProduceError) else _("The amount is not a number.")
        else:
            return redirect("produce-detail", number=lot.number)
        lot.refresh_from_db()
    run = return_leg.runs_of([lot.number]).get(lot.number) if lot.status == S.ACCEPTED else None
    context = {"lot": lot, "may_pay": may_pay, "overdue": services.overdue(lot), "error": error, "run": run}
    if error and request.POST.get("via") == ProduceLot.PaidVia.ACCOUNT:  # the account form again, as typed
        context["account_reference"] = request.POST.get("reference", "")[:60]
    return render(request, "produce/detail.html", context, status=409 if error else 200)


# --- the county ----------------------------------------------------------------------------------------


def _county_lot(request, number: str) -> ProduceLot:
    if "\x00" in number or len(number) > 20:
        raise Http404("No such lot in your county")
    return get_object_or_404(
        ProduceLot.objects.select_related("villager", "kind", "station__village"),
        number=number,
        station__village__county__in=request.counties,
    )


@county_manager_required
@require_GET
def county_lots(request):
    """The open lots of the county's villages, by kind: to buy or decline, to receive and grade, to be paid."""
    lots = list(
        ProduceLot.objects.filter(station__village__county__in=request.counties, status__in=ProduceLot.OPEN)
        .select_related("villager", "kind", "station__village")
        .order_by("kind__name", "status", "ready_on", "pk")
    )
    runs = return_leg.runs_of([lot.number for lot in lots if lot.status == S.ACCEPTED])
    groups: dict = {}
    for lot in lots:
        lot.masked = mask_name(lot.villager.name)
        lot.is_overdue = services.overdue(lot)
        lot.too_late = lot.status == S.LISTED and services.past_keeping(lot)
        lot.run = runs.get(lot.number)
        groups.setdefault(lot.kind, []).append(lot)
    flagged = [lot for lot in lots if lot.flagged_overdue_at and lot.status == S.ACCEPTED]
    return render(request, "produce/county.html", {"groups": list(groups.items()), "flagged": flagged})


@county_manager_required
@require_POST
def county_lot(request, number: str):
    lot = _county_lot(request, number)
    step = request.POST.get("step", "")
    try:
        if step == "accept":
            services.accept_lot(lot=lot, price=request.POST.get("price", ""), actor=request.user)
            done = _("Lot %(number)s bought; the villager is told.")
        elif step == "decline":
            services.decline_lot(lot=lot, reason=request.POST.get("reason", ""), actor=request.user)
            done = _("Lot %(number)s declined; the villager is told.")
        elif step == "receive":
            services.receive_lot(
                lot=lot,
                quantity=request.POST.get("quantity", ""),
                grade=request.POST.get("grade", ""),
                price=request.POST.get("price") or None,
                actor=request.user,
            )
            done = _("Lot %(number)s received: its value is owed to the villager at the station.")
        else:
            raise services.ProduceError(_("Choose a step."))
    except services.ProduceError as exc:
        messages.error(request, f"{lot.number}: {exc}")
    else:
        messages.success(request, done % {"number": lot.number})
    return redirect("county-produce")


@county_manager_required
@require_GET
def lot_label(request, number: str):
    """The traceability label of a received lot, for the buyer: village, masked villager, kind, grade, date, number."""
    lot = _county_lot(request, number)
    if lot.status not in (S.RECEIVED, S.PAID):
        raise Http404("Not received yet")
    data = f"{lot.number}|{lot.station.village.name}|{lot.kind.name}|{lot.received_grade}|{lot.received_at:%Y-%m-%d}"
    # segno writes the SVG from the lot's own fields (a county's kind name, a village name): escaped by segno.
    qr = mark_safe(segno.make(data, error="m").svg_inline(scale=3, border=2, omitsize=True))  # noqa: S308
    context = {"lot": lot, "masked": mask_name(lot.villager.name), "qr_svg": qr}
    return render(request, "produce/label.html", context)


# --- the lot's photo -------------------------------------------------------------------------------


@login_required
@require_GET
def lot_photo(request, number: str, size: str = "full"):
    """A lot's photo (or its thumbnail), never a public file: to the staff of the station that listed it, to the
    managers of its county and to admins.  Anyone else gets a 404, as for a lot with no photo."""
    if "\x00" in number or len(number) > 20:
        raise Http404("No such photo")
    scope = Q(station__village__county__in=counties_of_user(request.user))
    staff = staff_of_request(request)
    if staff is not None:
        scope |= Q(station=staff.service_center_id)
    lot = ProduceLot.objects.filter(scope, number=number).exclude(photo="").only("number", "photo", "photo_thumbnail")
    lot = lot.first()
    if lot is None:
        raise Http404("No such photo")
    file = lot.photo_thumbnail if size == "thumbnail" else lot.photo
    return photos.private_jpeg(file, filename=f"{lot.number}.jpg")
