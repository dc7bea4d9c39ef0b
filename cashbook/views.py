"""The cash book's pages: the station's drawer, the day's close and its slip, remittances; the county's view."""

import csv
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from catalog import money
from partners.access import county_manager_required, station_required
from partners.models import ServiceCenter

from . import selectors, services
from .forms import (
    CloseDayForm,
    ConfirmRemittanceForm,
    CreditLimitForm,
    FloatForm,
    KeepCommissionForm,
    RemittanceForm,
)

# --- the station --------------------------------------------------------------------------------------


@station_required
def cash_book(request):
    """The drawer by the book, what is waiting for the county, the last close and the latest entries."""
    station = request.station
    context = {
        "balance": services.balance(station),
        "entries": selectors.recent_entries(station),
        "last_close": selectors.last_close(station),
        "waiting": selectors.waiting_remittances(station),
        "closable": services.closable_days(station),
        "today": timezone.localdate(),
        "to_keep": services.statements_to_keep(station),
    }
    return render(request, "cashbook/cash_book.html", context)


@station_required
def cash_tile(request):
    """The dashboard's tile (loaded by htmx): the drawer by the book, and whether today still needs closing."""
    station = request.station
    context = {"drawer": services.drawer(station), "to_close": timezone.localdate() in services.closable_days(station)}
    return render(request, "cashbook/_cash_tile.html", context)


@station_required(action="close_day")
@require_http_methods(["GET", "POST"])
def close_day(request):
    """Count the drawer: the form, then the figures (expected, counted, difference) to confirm, then the slip."""
    station = request.station
    days = services.closable_days(station)
    if not days:
        messages.info(request, _("Today is closed already."))
        return redirect("cash-book")
    form = CloseDayForm(request.POST or None, days=days, initial={"day": days[0].isoformat()})
    preview = None
    if request.method == "POST" and form.is_valid():
        day = date.fromisoformat(form.cleaned_data["day"])
        try:
            preview = services.preview_close(station=station, day=day, counted=form.cleaned_data["counted"])
            if request.POST.get("step") == "confirm":
                close = services.close_day(
                    station=station,
                    actor=request.user,
                    day=day,
                    counted=form.cleaned_data["counted"],
                    expected_shown=form.cleaned_data["expected"],
                    denominations=form.cleaned_data["denominations"],
                    note=form.cleaned_data["note"],
                )
                messages.success(request, _("%(day)s is closed.") % {"day": day.isoformat()})
                return redirect("cash-close-slip", pk=close.pk)
        except services.CashError as exc:
            form.add_error(None, str(exc))
    status = 200 if not form.errors else 400
    return render(request, "cashbook/close_form.html", {"form": form, "preview": preview}, status=status)


@station_required
def close_slip(request, pk: int):
    close = selectors.station_close(request.station, pk)
    if close is None:
        raise Http404("No such close for this station")
    return render(request, "cashbook/close_slip.html", {"close": close})


@station_required(action="remittance")
@require_http_methods(["GET", "POST"])
def remittance_new(request):
    """Cash handed to the county: the form, the figures to confirm, then recorded (the county confirms later)."""
    station = request.station
    form = RemittanceForm(request.POST or None)
    confirming = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if request.POST.get("step") == "confirm":
            try:
                services.record_remittance(station=station, actor=request.user, **data)
            except services.CashError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request,
                    _("¥%(amount)s handed over on slip %(slip)s: waiting for the county to confirm it.")
                    % {"amount": data["amount"], "slip": data["slip_number"]},
                )
                return redirect("cash-book")
        else:
            confirming = True
    context = {"form": form, "confirming": confirming, "balance": services.balance(station)}
    return render(request, "cashbook/remittance_form.html", context, status=400 if form.errors else 200)


@station_required(action="keep_commission")
@require_http_methods(["GET", "POST"])
def keep_commission(request, pk: int):
    """Commission netting: GET the confirmation (the statement and its amount), POST keep it out of the drawer."""
    station = request.station
    statement = next((s for s in services.statements_to_keep(station) if s.pk == pk), None)
    if statement is None:
        raise Http404("No approved statement to keep at this station")
    if request.method == "POST":
        form = KeepCommissionForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Confirm the amount on the confirmation page first."))
            return redirect(request.path)
        try:
            services.keep_commission(
                station=station, statement=statement, actor=request.user, expected_total=form.cleaned_data["total"]
            )
        except services.CashError as exc:
            messages.error(request, str(exc))
            return redirect("cash-book")
        messages.success(
            request,
            _("¥%(total)s of commission for %(month)s kept out of the drawer: the statement is paid.")
            % {"total": statement.total, "month": f"{statement.month:%Y-%m}"},
        )
        return redirect("cash-book")
    return render(
        request, "cashbook/keep_commission.html", {"statement": statement, "drawer": services.drawer(station)}
    )


# --- the county ---------------------------------------------------------------------------------------


@county_manager_required
def county_cash(request):
    rows = selectors.county_cash(request.counties)
    sort = request.GET.get("sort", "")
    if sort in selectors.SORTS:
        rows.sort(key=selectors.SORTS[sort])
    stations = [row.station for row in rows]
    context = {
        "rows": rows,
        "sort": sort,
        "float_form": FloatForm(stations=stations),
        "limit_form": CreditLimitForm(stations=stations, prefix="limit"),
        "waiting": [r for r in rows if r.waiting_slips],
        "remittances": selectors.county_waiting_remittances(request.counties),
    }
    return render(request, "cashbook/county_cash.html", context)


@county_manager_required
def county_cash_csv(request):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cash-{timezone.localdate().isoformat()}.csv"'
    response.write("\ufeff")  # Excel opens UTF-8 with a BOM as UTF-8
    writer = csv.writer(response)
    writer.writerow(
        [
            _("Station code"),
            _("Station"),
            _("Expected in the drawer"),
            _("Handed over, not confirmed"),
            _("Not received of confirmed slips"),
            _("Owed to the county"),
            _("Last close"),
            _("Days since"),
            _("Closes off this month"),
            _("Their sum"),
            _("Pay on pickup open"),
            _("Limit"),
            _("Alerts"),
        ]
    )
    for row in selectors.county_cash(request.counties):
        writer.writerow(
            [
                row.station.code,
                row.station.name,
                row.drawer,
                row.in_transit,
                row.shortfall,
                row.owed,
                row.last_close.isoformat() if row.last_close else "",
                "" if row.days_since_close is None else row.days_since_close,
                row.differences,
                row.difference_total,
                row.on_credit,
                row.station.pay_on_pickup_limit,
                " ".join(row.alerts),
            ]
        )
    return response


@county_manager_required
@require_http_methods(["GET", "POST"])
def remittance_confirm(request, pk: int):
    remittance = selectors.county_remittance(request.counties, pk)
    if remittance is None:
        raise Http404("No such remittance in your county")
    form = ConfirmRemittanceForm(request.POST or None, initial={"received": remittance.amount})
    if request.method == "POST" and form.is_valid():
        try:
            services.confirm_remittance(
                remittance=remittance, actor=request.user, received=form.cleaned_data["received"]
            )
        except services.CashError as exc:
            messages.error(request, str(exc))
            return redirect("county-cash")
        remittance.refresh_from_db()
        if remittance.shortfall:
            messages.warning(
                request,
                _(
                    "Slip %(slip)s confirmed: ¥%(received)s received of ¥%(amount)s handed over. The difference stays on %(station)s's account."
                )
                % {
                    "slip": remittance.slip_number,
                    "received": remittance.received_amount,
                    "amount": remittance.amount,
                    "station": remittance.station.name,
                },
            )
        else:
            messages.success(request, _("Slip %(slip)s confirmed.") % {"slip": remittance.slip_number})
        return redirect("county-cash")
    return render(
        request,
        "cashbook/remittance_confirm.html",
        {"remittance": remittance, "form": form},
        status=400 if form.errors else 200,
    )


@county_manager_required
@require_POST
def float_give(request):
    stations = list(ServiceCenter.objects.filter(village__county__in=request.counties))
    form = FloatForm(request.POST, stations=stations)
    if not form.is_valid():
        messages.error(request, _("Choose a station and enter the float in yuan, such as 200.00."))
        return redirect("county-cash")
    station = next(s for s in stations if s.code == form.cleaned_data["station"])
    try:
        services.give_float(
            station=station, actor=request.user, amount=form.cleaned_data["amount"], note=form.cleaned_data["note"]
        )
    except services.CashError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            # a float taken back is negative: -¥50.00, the sign before the currency
            _("Float of %(amount)s recorded for %(station)s.")
            % {"amount": money.yuan(form.cleaned_data["amount"]), "station": station.name},
        )
    return redirect("county-cash")


@county_manager_required
@require_POST
def credit_limit(request):
    """The county sets a station's pay-on-pickup limit."""
    stations = list(ServiceCenter.objects.filter(village__county__in=request.counties))
    form = CreditLimitForm(request.POST, stations=stations, prefix="limit")
    if not form.is_valid():
        messages.error(request, _("Choose a station and enter its limit in yuan, such as 2000.00."))
        return redirect("county-cash")
    station = next(s for s in stations if s.code == form.cleaned_data["station"])
    try:
        services.set_credit_limit(station=station, limit=form.cleaned_data["limit"], actor=request.user)
    except services.CashError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("The pay-on-pickup limit of %(station)s is now ¥%(limit)s.")
            % {"station": station.name, "limit": station.pay_on_pickup_limit},
        )
    return redirect("county-cash")
