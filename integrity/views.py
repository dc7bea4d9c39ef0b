"""County pages of the villager's say: the review queue of self-dealing signals, and the call-backs to make."""

from datetime import date

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from orders import commissions
from orders.models import SlipPrint
from partners.access import county_manager_required

from . import selectors, services
from .models import CallBack, ReviewPolicy, Signal


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("clear", gettext_lazy("clear")), ("confirm", gettext_lazy("self-dealing"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(label=gettext_lazy("Why"), max_length=500)
    step = forms.CharField(required=False, widget=forms.HiddenInput)


class CallBackForm(forms.Form):
    result = forms.ChoiceField(label=gettext_lazy("Result"), choices=CallBack.Result.choices, widget=forms.RadioSelect)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)


def _month_of(request) -> date:
    """``?month=2026-11``, else this month."""
    raw = request.POST.get("month") or request.GET.get("month", "")
    try:
        year, month = (int(p) for p in raw.split("-"))
        return date(year, month, 1)
    except (ValueError, TypeError):
        return commissions.month_start(timezone.localdate())


@county_manager_required
def review_queue(request):
    month = _month_of(request)
    county_rows = [(county, selectors.signals(county, month)) for county in request.counties]
    context = {
        "month": month,
        "previous": commissions.previous_month(month),
        "next": commissions.next_month(month) if month < commissions.month_start(timezone.localdate()) else None,
        "county_rows": county_rows,
        "signals": Signal.choices,
        "policy": ReviewPolicy.current(),
        "reviews": list(selectors.open_reviews(request.counties)),
        "decided": list(selectors.recent_decisions(request.counties)),
        "call_backs_due": selectors.due_call_backs(request.counties).count(),
    }
    return render(request, "integrity/review_queue.html", context)


@county_manager_required
@require_POST
def review_check(request):
    """Compute the month's signals now and flag the orders behind them (the nightly task does it too)."""
    month = _month_of(request)
    flagged = sum(services.flag_month(county, month) for county in request.counties)
    if flagged:
        messages.warning(request, _("%(n)s more orders flagged; their commission is held.") % {"n": flagged})
    else:
        messages.success(request, _("No new orders to flag."))
    return redirect(f"{reverse('county-review')}?month={month:%Y-%m}")


@county_manager_required
@require_http_methods(["GET", "POST"])
def review_detail(request, pk: int):
    review = selectors.review_of_county(request.counties, pk)
    if review is None:
        raise Http404("No such review in your county")
    order = review.order
    form = DecisionForm(request.POST or None)
    confirming = None
    if request.method == "POST" and form.is_valid():
        decision, reason = form.cleaned_data["decision"], form.cleaned_data["reason"]
        if decision == "confirm" and form.cleaned_data["step"] != "confirmed":
            # A step to see what is taken back before it is: money moves.
            confirming = {"reason": reason, "amount": commissions.earned_on(order)}
        else:
            try:
                if decision == "confirm":
                    services.confirm_self_dealing(review=review, actor=request.user, reason=reason)
                    messages.warning(
                        request,
                        _("Self-dealing confirmed for order %(order)s: ¥%(amount)s of commission taken back.")
                        % {"order": order.number, "amount": review.clawed_back},
                    )
                else:
                    services.clear(review=review, actor=request.user, reason=reason)
                    messages.success(
                        request,
                        _("Order %(order)s cleared: its commission goes into the next statement.")
                        % {"order": order.number},
                    )
            except services.ReviewError as exc:
                messages.error(request, str(exc))
            return redirect("county-review")
    context = {
        "review": review,
        "order": order,
        "form": form,
        "confirming": confirming,
        "earned": commissions.earned_on(order),
        "prints": list(SlipPrint.objects.filter(order=order).select_related("printed_by")),
        "call_back": CallBack.objects.filter(order=order).first(),
        "events": list(order.events.select_related("actor")),
    }
    return render(request, "integrity/review_detail.html", context, status=400 if form.errors else 200)


@county_manager_required
def call_backs(request):
    context = {
        "due": list(selectors.due_call_backs(request.counties)[:50]),
        "recent": list(selectors.recent_call_backs(request.counties)),
        "form": CallBackForm(),
        "policy": ReviewPolicy.current(),
    }
    return render(request, "integrity/call_backs.html", context)


@county_manager_required
@require_POST
def call_back_record(request, pk: int):
    call_back = selectors.call_back_of_county(request.counties, pk)
    if call_back is None:
        raise Http404("No such call-back in your county")
    form = CallBackForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose what the villager said."))
        return redirect("county-call-backs")
    try:
        services.record_call_back(
            call_back=call_back, actor=request.user, result=form.cleaned_data["result"], note=form.cleaned_data["note"]
        )
    except services.ReviewError as exc:
        messages.error(request, str(exc))
    else:
        if call_back.result == CallBack.Result.DENIED:
            messages.warning(
                request,
                _("Order %(order)s flagged for review: the villager denied it.") % {"order": call_back.order.number},
            )
        else:
            messages.success(request, _("Call-back of order %(order)s recorded.") % {"order": call_back.order.number})
    return redirect("county-call-backs")
