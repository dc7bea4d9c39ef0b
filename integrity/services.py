"""The county's decisions on the villager's say: call-backs drawn and answered, orders flagged, cleared or
confirmed as self-dealing (their commission clawed back), each recorded with who and why."""

import random
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders import commissions
from orders.models import Order
from partners.models import County

from . import selectors
from .models import CallBack, Review, ReviewPolicy

_draw = random.SystemRandom()  # the partner must not be able to predict which orders are called back


class ReviewError(Exception):
    """A refused decision; ``str(exc)`` is shown to the county manager."""


# --- call-backs -----------------------------------------------------------------------------------------


def maybe_call_back(sender=None, *, order: Order, evidence: str, **kwargs) -> CallBack | None:
    """``orders.consent.consent_given`` receiver: an order confirmed by a signed slip joins the call-back
    sample with the policy's probability (each one drawn on its own: the sample is random, not every n-th)."""
    if evidence != Order.ConsentEvidence.SIGNED_SLIP:
        return None
    percent = ReviewPolicy.current().call_back_percent
    if percent <= 0 or Decimal(_draw.random() * 100) >= percent:
        return None
    return CallBack.objects.create(order=order)


def record_call_back(*, call_back: CallBack, actor, result: str, note: str = "") -> CallBack:
    """The villager was called: confirmed, denied (flagged at once), or not reached.  Once per call-back."""
    if result not in CallBack.Result.values:
        raise ReviewError(_("Choose what the villager said."))
    now = timezone.now()
    with transaction.atomic():
        done = CallBack.objects.filter(pk=call_back.pk, result="").update(
            result=result, note=(note or "").strip()[:300], called_by=actor, called_at=now
        )
        if not done:
            raise ReviewError(_("This call-back was recorded already."))
        call_back.refresh_from_db()
        if result == CallBack.Result.DENIED:
            flag_month(call_back.order.service_center.county, timezone.localdate(now))
    return call_back


# --- flags ----------------------------------------------------------------------------------------------


def flag_month(county: County, month: date) -> int:
    """Flag the orders behind the signals that fired in ``county`` in ``month``: a review each, their
    commission held.  Idempotent: an open review gains new signals, a decided one is left as decided.
    Returns how many orders were newly flagged."""
    month = commissions.month_start(month)
    flagged = selectors.signals(county, month).flagged()
    if not flagged:
        return 0
    with transaction.atomic():
        existing = {r.order_id: r for r in Review.objects.select_for_update().filter(order_id__in=list(flagged))}
        station_of = dict(Order.objects.filter(pk__in=list(flagged)).values_list("pk", "service_center_id"))
        new = [
            Review(order_id=order_id, service_center_id=station_of[order_id], month=month, signals=signals)
            for order_id, signals in flagged.items()
            if order_id not in existing
        ]
        Review.objects.bulk_create(new, ignore_conflicts=True)
        for order_id, review in existing.items():
            merged = sorted(set(review.signals) | set(flagged[order_id]))
            if review.status == Review.Status.OPEN and merged != review.signals:
                Review.objects.filter(pk=review.pk).update(signals=merged)
        commissions.hold([r.order_id for r in new])
    return len(new)


def flag_all(*, today: date | None = None) -> int:
    """Nightly: this month in every county, and last month as well in its first days (late events)."""
    today = today or timezone.localdate()
    months = [commissions.month_start(today)]
    if today.day <= 5:
        months.append(commissions.previous_month(months[0]))
    return sum(flag_month(county, month) for county in County.objects.all() for month in months)


# --- decisions ------------------------------------------------------------------------------------------


def _decide(review: Review, *, status: str, actor, reason: str) -> bool:
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError(_("Say why: every decision is kept with who made it and why."))
    return bool(
        Review.objects.filter(pk=review.pk, status=Review.Status.OPEN).update(
            status=status, decided_by=actor, decided_at=timezone.now(), reason=reason[:500]
        )
    )


def clear(*, review: Review, actor, reason: str) -> Review:
    """Nothing wrong: the order's held commission goes into the next statement built for its month."""
    with transaction.atomic():
        if not _decide(review, status=Review.Status.CLEARED, actor=actor, reason=reason):
            raise ReviewError(_("This review was decided already."))
        commissions.release(review.order)
    review.refresh_from_db()
    return review


def confirm_self_dealing(*, review: Review, actor, reason: str) -> Review:
    """Self-dealing: the order's commission is taken back (a clawback entry) and it never earns again."""
    with transaction.atomic():
        if not _decide(review, status=Review.Status.CONFIRMED, actor=actor, reason=reason):
            raise ReviewError(_("This review was decided already."))
        entry = commissions.claw_back(
            order=review.order, actor=actor, note=_("Self-dealing: %(why)s") % {"why": reason}
        )
        taken = -entry.amount if entry else Decimal("0.00")
        Review.objects.filter(pk=review.pk).update(clawed_back=taken)
    review.refresh_from_db()
    return review
