"""Reads of the county workspace: today's figures and what waits for the county's decision.

Every function takes the counties the user manages (``request.counties``) and
costs a fixed number of queries, whether the county has 5 stations or 500.
"""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from catalog.money import to_fen
from logistics.models import DeliveryBatch, Parcel, UnplannedOrder
from orders.commissions import local_midnight
from orders.models import CommissionStatement, Order
from partners.models import County

S = Order.Status
DECISIONS_SHOWN = 10  # statements listed per kind of decision; the statements page has them all


def today_figures(counties: list[County], *, today: date | None = None) -> dict:
    """Orders placed today and their value, orders waiting for dispatch or pickup, batches, overdue parcels.

    Three queries: one aggregate over the orders, one over the batches, one count of overdue parcels.
    """
    today = today or timezone.localdate()
    placed_today = Q(created_at__gte=local_midnight(today), created_at__lt=local_midnight(today + timedelta(days=1)))
    live = ~Q(status__in=[S.DRAFT, S.CANCELLED])
    figures = Order.objects.filter(warehouse__county__in=counties).aggregate(
        placed_today=Count("pk", filter=placed_today & live),
        placed_today_value=Sum("total", filter=placed_today & live),
        waiting_for_dispatch=Count("pk", filter=Q(status=S.CONFIRMED)),
        at_stations=Count("pk", filter=Q(status=S.AT_STATION)),
        exceptions=Count("pk", filter=Q(status=S.EXCEPTION)),
    )
    # SQLite sums decimals as floats: bring the figure back to the fen.
    figures["placed_today_value"] = to_fen(figures["placed_today_value"] or Decimal("0.00"))
    figures.update(
        DeliveryBatch.objects.filter(warehouse__county__in=counties).aggregate(
            batches_today=Count("pk", filter=Q(dispatch_date=today) & ~Q(status=DeliveryBatch.Status.CANCELLED)),
            in_transit=Count("pk", filter=Q(status=DeliveryBatch.Status.IN_TRANSIT)),
        )
    )
    figures["overdue_parcels"] = Parcel.objects.filter(
        batch_stop__service_center__village__county__in=counties,
        overdue_since__isnull=False,
        order__status=S.AT_STATION,
    ).count()
    figures["today"] = today
    return figures


def unplanned_reasons(counties: list[County]) -> list[tuple[str, int]]:
    """Confirmed orders the planner left out, counted by reason (one query)."""
    labels = dict(UnplannedOrder.Reason.choices)
    rows = (
        UnplannedOrder.objects.filter(warehouse__county__in=counties, order__status=S.CONFIRMED)
        .values("reason")
        .annotate(count=Count("pk"))
        .order_by("-count", "reason")
    )
    return [(labels.get(r["reason"], r["reason"]), r["count"]) for r in rows]


def statement_decisions(counties: list[County]) -> dict:
    """Statements waiting for the county: drafts to approve, approved ones to pay, those below zero .

    A draft at exactly zero waits for nobody (it stays open to late entries of its month); one below
    zero cannot be approved, it carries forward, so it is listed apart, without a button.
    Four queries: the counts, and the first few of each list.
    """
    D, A = CommissionStatement.Status.DRAFT, CommissionStatement.Status.APPROVED
    statements = CommissionStatement.objects.filter(service_center__village__county__in=counties)
    to_approve = Q(status=D, total__gt=0)
    to_pay = Q(status=A, total__gte=0)
    below_zero = Q(status__in=[D, A], total__lt=0)
    counts = statements.aggregate(
        to_approve=Count("pk", filter=to_approve),
        to_approve_total=Sum("total", filter=to_approve),
        to_pay=Count("pk", filter=to_pay),
        to_pay_total=Sum("total", filter=to_pay),
        below_zero=Count("pk", filter=below_zero),
    )

    def first(condition) -> list[CommissionStatement]:
        return list(
            statements.filter(condition)
            .select_related("service_center")
            .order_by("month", "service_center__code")[:DECISIONS_SHOWN]
        )

    return {
        **counts,
        "to_approve_total": to_fen(counts["to_approve_total"] or Decimal("0.00")),
        "to_pay_total": to_fen(counts["to_pay_total"] or Decimal("0.00")),
        "approve_list": first(to_approve),
        "pay_list": first(to_pay),
        "below_zero_list": first(below_zero),
    }
