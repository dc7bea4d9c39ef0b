"""Commission pages: a station's earnings and statements; a county's stations side by side."""

import csv
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.db.models import Count, Q, Sum
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_http_methods

from catalog.money import to_fen
from partners.access import county_manager_required, station_required
from partners.models import ServiceCenter

from . import commissions
from .models import MONEY, CommissionEntry, CommissionStatement

E = CommissionEntry.Kind


@station_required(action="commissions")
def commission_overview(request):
    station = request.station
    context = {
        "summary": commissions.month_summary(station),
        "statements": station.statements.order_by("-month"),
        "unfiled": station.commission_entries.filter(statement__isnull=True).select_related("order")[:50],
    }
    return render(request, "orders/commissions.html", context)


def _statement_of_station(request, pk: int) -> CommissionStatement:
    try:
        return CommissionStatement.objects.get(pk=pk, service_center=request.station)
    except CommissionStatement.DoesNotExist:
        raise Http404("No such statement at this station") from None


@station_required(action="commissions")
def statement_detail(request, pk: int):
    statement = _statement_of_station(request, pk)
    entries = statement.entries.select_related("order", "created_by").order_by("created_at", "pk")
    return render(request, "orders/statement_detail.html", {"statement": statement, "entries": entries})


@station_required(action="commissions")
def statement_csv(request, pk: int):
    statement = _statement_of_station(request, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="commission-{statement.service_center.code}-{statement.month:%Y-%m}.csv"'
    )
    response.write("\ufeff")  # a BOM, so Excel on a station PC reads the Chinese as UTF-8
    writer = csv.writer(response)
    # The header in the partner's language; the rows stay machine-friendly (the entry's kind as its code,
    # amounts with a dot and two places).  A produce entry: its lot's number in the order column.
    writer.writerow([_("Date"), _("Kind"), _("Order"), _("Amount"), _("Note")])
    for entry in statement.entries.select_related("order").order_by("created_at", "pk"):
        writer.writerow(
            [
                timezone.localtime(entry.created_at).strftime("%Y-%m-%d %H:%M"),
                entry.kind,
                entry.order.number if entry.order else entry.produce_lot,
                f"{entry.amount:.2f}",
                _csv_safe(entry.note),
            ]
        )
    writer.writerow(["", "total", "", f"{statement.total:.2f}", ""])
    return response


def _csv_safe(text: str) -> str:
    # A note starting with = + - @ would run as a formula when the CSV is opened in a spreadsheet.
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


# --- the county -----------------------------------------------------------------------


@county_manager_required
def county_commissions(request):
    """The county's stations side by side (this month's commission) and the statements waiting for the county."""
    month = commissions.month_start(timezone.localdate())
    window = Q(
        commission_entries__created_at__gte=commissions.local_midnight(month),
        commission_entries__created_at__lt=commissions.local_midnight(commissions.next_month(month)),
    )
    stations = (
        ServiceCenter.objects.filter(village__county__in=request.counties)
        .select_related("village__county")
        .annotate(
            accrued=Sum(
                "commission_entries__amount",
                filter=window & Q(commission_entries__kind__in=[E.ACCRUAL, E.PRODUCE]),  # orders and produce
            ),
            reversed=Sum("commission_entries__amount", filter=window & Q(commission_entries__kind=E.REVERSAL)),
            adjusted=Sum("commission_entries__amount", filter=window & Q(commission_entries__kind=E.ADJUSTMENT)),
        )
        .order_by("village__county__code", "code")
    )
    rows = []
    for station in stations:
        accrued, reversed_, adjusted = (
            to_fen(v or Decimal("0")) for v in (station.accrued, station.reversed, station.adjusted)
        )
        rows.append(
            {"station": station, "accrued": accrued, "reversed": reversed_, "net": accrued + reversed_ + adjusted}
        )
    top = max([r["net"] for r in rows] + [Decimal("0.01")])
    for row in rows:
        row["bar"] = round(max(row["net"], 0) / top * 100, 1)  # percent of the widest bar
    pending = (
        CommissionStatement.objects.filter(
            service_center__village__county__in=request.counties,
            status__in=[CommissionStatement.Status.DRAFT, CommissionStatement.Status.APPROVED],
        )
        .select_related("service_center")
        .order_by("month", "service_center__code")
    )
    paid = (
        CommissionStatement.objects.filter(
            service_center__village__county__in=request.counties, status=CommissionStatement.Status.PAID
        )
        .select_related("service_center")
        .order_by("-paid_at", "-pk")[:RECENTLY_PAID]
    )
    context = {"rows": rows, "month": month, "pending": pending, "paid": paid}
    return render(request, "orders/county.html", context)


RECENTLY_PAID = 20


def _statement_of_county(request, pk: int) -> CommissionStatement:
    return get_object_or_404(
        CommissionStatement.objects.select_related("service_center__village__county"),
        pk=pk,
        service_center__village__county__in=request.counties,
    )


class StatementConfirmForm(forms.Form):
    """The amount the county manager saw on the confirmation page; the service refuses any other."""

    total = forms.DecimalField(**MONEY)
    next = forms.ChoiceField(choices=[("county-home", ""), ("county-commissions", "")], required=False)


# action → (the service, why it may not happen, the success message)
STATEMENT_ACTIONS = {
    "approve": (
        commissions.approve_statement,
        commissions.approval_refusal,
        _lazy("Statement %(statement)s approved: ¥%(total)s."),
    ),
    "paid": (
        commissions.mark_paid,
        commissions.payment_refusal,
        _lazy("Statement %(statement)s marked paid: ¥%(total)s."),
    ),
}


def _statement_action(request, pk: int, action: str):
    """GET: the confirmation page (station, month, amount, a confirm button).  POST: do it, for the amount shown."""
    statement = _statement_of_county(request, pk)
    service, refusal, done = STATEMENT_ACTIONS[action]
    if request.method == "GET":
        back = request.GET.get("next")
        context = {
            "statement": statement,
            "action": action,
            "refusal": refusal(statement),
            "kinds": _totals_by_kind(statement),
            "next": back if back in ("county-home", "county-commissions") else "county-commissions",
        }
        return render(request, "county/statement_confirm.html", context)
    form = StatementConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Confirm the amount on the statement's confirmation page first."))
        return redirect(request.path)
    try:
        service(statement=statement, actor=request.user, expected_total=form.cleaned_data["total"])
    except commissions.CommissionError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done % {"statement": statement, "total": f"{statement.total:.2f}"})
    return redirect(form.cleaned_data["next"] or "county-commissions")


def _totals_by_kind(statement: CommissionStatement) -> list[dict]:
    """What the statement is made of: count and sum per kind of entry (one query)."""
    labels = dict(E.choices)
    rows = (
        statement.entries.exclude(kind=E.PAYOUT)
        .values("kind")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("kind")
    )
    return [{"label": labels[r["kind"]], "count": r["count"], "amount": to_fen(r["amount"])} for r in rows]


@county_manager_required
@require_http_methods(["GET", "POST"])
def statement_approve(request, pk: int):
    return _statement_action(request, pk, "approve")


@county_manager_required
@require_http_methods(["GET", "POST"])
def statement_mark_paid(request, pk: int):
    return _statement_action(request, pk, "paid")
