"""The way back at the station: the refunds it owes villagers (paid out of the drawer) and the goods for the driver."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from partners.access import station_required
from partners.phones import mask_name

from . import returns, selectors
from .errors import OrderError
from .forms import RefundPayForm


@station_required
def refund_list(request):
    """Refunds owed, the oldest first (every staff member sees them; paying out is ``pay_refund``), and the last paid."""
    station = request.station
    owed = selectors.refunds_owed(station)
    context = {
        "owed": [{"refund": r, "villager": mask_name(r.order.villager.name)} for r in owed],
        "owed_total": sum((r.amount for r in owed), returns.ZERO),
        "villagers": len({r.order.villager_id for r in owed}),
        "paid": [
            {"refund": r, "villager": mask_name(r.order.villager.name)}
            for r in selectors.refunds_paid_recently(station)
        ],
    }
    return render(request, "orders/refunds.html", context)


@station_required(action="pay_refund")
@require_http_methods(["GET", "POST"])
def refund_pay(request, pk: int):
    """GET: the confirmation page (the villager, the order, the amount).  POST: pay it out, for the amount shown.

    Paying twice changes nothing (``returns.pay_refund``): a second tap says it was paid already.
    """
    refund = selectors.refund_of_station(request.station, pk)
    if request.method == "GET":
        back = request.GET.get("next")
        context = {
            "refund": refund,
            "villager": mask_name(refund.order.villager.name),
            "next": back if back in ("refund-list", "order-detail") else "refund-list",
        }
        return render(request, "orders/refund_pay.html", context)
    form = RefundPayForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Confirm the amount on the refund's confirmation page first."))
        return redirect(request.path)
    done = _after(refund, form.cleaned_data["next"])
    if refund.paid_at is not None:
        messages.info(request, _("This refund was already paid out."))
        return done
    try:
        returns.pay_refund(refund=refund, actor=request.user, expected_amount=form.cleaned_data["amount"])
    except OrderError as exc:
        messages.error(request, str(exc))
        return redirect(request.path)
    messages.success(
        request,
        _("¥%(amount)s paid out to %(villager)s (order %(number)s).")
        % {"amount": refund.amount, "villager": refund.order.villager.name, "number": refund.order.number},
    )
    return done


def _after(refund, next_page: str):
    if next_page == "order-detail":
        return redirect("order-detail", number=refund.order.number)
    return redirect("refund-list")


@station_required
def going_back(request):
    """Goods of the station that go back to the warehouse: what to hand to the driver, and what a driver took."""
    rows = [
        {"goods": g, "villager": mask_name(g.order.villager.name)} for g in selectors.goods_going_back(request.station)
    ]
    return render(request, "orders/going_back.html", {"rows": rows})
