"""The self-dealing signals of a county's stations in a month, each computed set-based (one query per signal).

A signal is counted per station and month in the month of its own event (an order keyed, a hand-over, a
reprint, a call-back, a return), and fires when the count reaches the review policy's threshold; the
orders behind a fired signal are the ones flagged for review.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncDate, TruncTime
from django.utils import timezone

from orders.commissions import local_midnight, month_start, next_month
from orders.models import CommissionEntry, CommissionStatement, GoodsReturn, Order, SlipPrint
from partners.models import ServiceCenter, StationStaff, Villager

from .models import CallBack, Review, ReviewPolicy, Signal


@dataclass
class StationSignals:
    station: ServiceCenter
    counts: Counter = field(default_factory=Counter)
    fired: set = field(default_factory=set)
    commission: Decimal = Decimal("0.00")  # accrued in the month
    top_share: int = 0  # percent of it from the policy's few villagers

    def cells(self) -> list[tuple[str, int, bool]]:
        return [(s, self.counts.get(s, 0), s in self.fired) for s in Signal.values]


@dataclass
class MonthSignals:
    month: date
    stations: list[StationSignals]
    orders: dict[int, set[str]]  # order id -> the signals it carries

    def flagged(self) -> dict[int, list[str]]:
        """Order id -> its signals that fired for its station (what the review lists and holds)."""
        fired = {row.station.pk: row.fired for row in self.stations}
        station_of = self._station_of
        out = {}
        for order_id, signals in self.orders.items():
            hits = sorted(signals & fired.get(station_of.get(order_id), set()))
            if hits:
                out[order_id] = hits
        return out

    _station_of: dict = field(default_factory=dict)


def signals(county, month: date, *, policy: ReviewPolicy | None = None) -> MonthSignals:
    """Every signal of ``county``'s stations in ``month`` (its first day or any day of it)."""
    policy = policy or ReviewPolicy.current()
    month = month_start(month)
    start, end = local_midnight(month), local_midnight(next_month(month))
    stations = list(ServiceCenter.objects.filter(village__county=county).order_by("code"))
    rows = {s.pk: StationSignals(s) for s in stations}
    in_county = Q(service_center__village__county=county)
    keyed = Order.objects.filter(in_county, created_at__gte=start, created_at__lt=end)
    tz = timezone.get_current_timezone()
    orders: dict[int, set[str]] = defaultdict(set)
    station_of: dict[int, int] = {}

    def add(signal: str, pairs) -> None:
        for order_id, station_id in pairs:
            if signal not in orders[order_id]:
                orders[order_id].add(signal)
                rows[station_id].counts[signal] += 1
            station_of[order_id] = station_id

    add(
        Signal.SAME_DAY_VILLAGER,
        keyed.filter(placed_by=F("villager__created_by"))
        .annotate(day=TruncDate("created_at", tzinfo=tz), registered=TruncDate("villager__created_at", tzinfo=tz))
        .filter(day=F("registered"))
        .values_list("pk", "service_center_id"),
    )
    shared = _villagers_with_shared_phones(county)
    add(Signal.SHARED_PHONE, keyed.filter(villager_id__in=shared).values_list("pk", "service_center_id"))
    add(
        Signal.NO_CODE_HANDOVER,
        Order.objects.filter(
            in_county, collected_without_code=True, collected_at__gte=start, collected_at__lt=end
        ).values_list("pk", "service_center_id"),
    )
    add(
        Signal.SLIP_REPRINT,
        SlipPrint.objects.filter(
            reprint=True, printed_at__gte=start, printed_at__lt=end, order__service_center__village__county=county
        ).values_list("order_id", "order__service_center_id"),
    )
    add(
        Signal.CALL_BACK_DENIED,
        CallBack.objects.filter(
            result=CallBack.Result.DENIED,
            called_at__gte=start,
            called_at__lt=end,
            order__service_center__village__county=county,
        ).values_list("order_id", "order__service_center_id"),
    )
    add(
        Signal.RETURN_AFTER_PAYOUT,
        GoodsReturn.objects.filter(
            kind=GoodsReturn.Kind.RETURN,
            created_at__gte=start,
            created_at__lt=end,
            order__service_center__village__county=county,
            order__commission_entries__kind=CommissionEntry.Kind.ACCRUAL,
            order__commission_entries__statement__status=CommissionStatement.Status.PAID,
            order__commission_entries__statement__paid_at__lt=F("created_at"),
        )
        .values_list("order_id", "order__service_center_id")
        .distinct(),
    )
    add(
        Signal.OUTSIDE_HOURS,
        keyed.annotate(at=TruncTime("created_at", tzinfo=tz))
        .filter(Q(at__lt=F("service_center__opens_at")) | Q(at__gte=F("service_center__closes_at")))
        .values_list("pk", "service_center_id"),
    )
    _few_villagers(county, start, end, policy, rows, add)
    for row in rows.values():
        row.fired = {s for s, n in row.counts.items() if n >= policy.threshold(s)}
    return MonthSignals(month=month, stations=list(rows.values()), orders=dict(orders), _station_of=station_of)


def _villagers_with_shared_phones(county) -> set[int]:
    """Villagers whose phone (their own or the family phone for codes) is on another villager of the county,
    or is a staff member's or a station's phone (two queries and a set: phones are few per villager)."""
    holders: dict[str, set[int]] = defaultdict(set)
    for pk, phone, code_phone in Villager.objects.filter(service_center__village__county=county).values_list(
        "pk", "phone", "code_phone"
    ):
        for number in {str(phone or ""), str(code_phone or "")} - {""}:
            holders[number].add(pk)
    staff = {
        str(p)
        for p in StationStaff.objects.filter(service_center__village__county=county).values_list("phone", flat=True)
    } | {str(p) for p in ServiceCenter.objects.filter(village__county=county).values_list("phone", flat=True)}
    staff.discard("")
    return {pk for number, pks in holders.items() if len(pks) > 1 or number in staff for pk in pks}


def _few_villagers(county, start, end, policy: ReviewPolicy, rows: dict, add) -> None:
    """A station whose month of accrued commission comes mostly from a few villagers (one grouped query)."""
    sums = (
        CommissionEntry.objects.filter(
            kind=CommissionEntry.Kind.ACCRUAL,
            created_at__gte=start,
            created_at__lt=end,
            service_center__village__county=county,
        )
        .values("service_center_id", "order__villager_id")
        .annotate(total=Sum("amount"), orders=Count("pk"))
    )
    by_station: dict[int, list[tuple[Decimal, int]]] = defaultdict(list)
    accruals: Counter = Counter()  # station -> accruals in the month (one per order)
    for row in sums:
        by_station[row["service_center_id"]].append((row["total"], row["order__villager_id"]))
        accruals[row["service_center_id"]] += row["orders"]
    heavy: dict[int, set[int]] = {}
    for station_id, totals in by_station.items():
        total = sum((t for t, _v in totals), Decimal("0"))
        rows[station_id].commission = total.quantize(Decimal("0.01"))
        top = sorted(totals, key=lambda tv: tv[0], reverse=True)[: policy.few_villagers_count]
        share = int(sum((t for t, _v in top), Decimal("0")) * 100 / total) if total > 0 else 0
        rows[station_id].top_share = share
        if share >= policy.few_villagers_percent and accruals[station_id] >= policy.few_villagers_min_orders:
            heavy[station_id] = {v for _t, v in top}
    if heavy:
        q = Q()
        for station_id, villagers in heavy.items():
            q |= Q(service_center_id=station_id, order__villager_id__in=villagers)
        add(
            Signal.FEW_VILLAGERS,
            CommissionEntry.objects.filter(
                q, kind=CommissionEntry.Kind.ACCRUAL, created_at__gte=start, created_at__lt=end
            ).values_list("order_id", "service_center_id"),
        )


# --- the review queue and the call-backs --------------------------------------------------------------


def waiting_counts(counties) -> dict[str, int]:
    """For the county workspace's tile: flagged orders waiting for a decision, call-backs to make (two counts)."""
    reviews = Review.objects.filter(service_center__village__county__in=counties, status=Review.Status.OPEN)
    return {"reviews": reviews.count(), "call_backs": due_call_backs(counties).count()}


def open_reviews(counties):
    return (
        Review.objects.filter(service_center__village__county__in=counties, status=Review.Status.OPEN)
        .select_related("order__villager", "service_center")
        .order_by("flagged_at", "pk")
    )


def recent_decisions(counties, *, limit: int = 20):
    return (
        Review.objects.filter(service_center__village__county__in=counties)
        .exclude(status=Review.Status.OPEN)
        .select_related("order", "service_center", "decided_by")
        .order_by("-decided_at", "-pk")[:limit]
    )


def review_of_county(counties, pk: int) -> Review | None:
    return (
        Review.objects.filter(pk=pk, service_center__village__county__in=counties)
        .select_related("order__villager", "order__placed_by", "service_center", "decided_by")
        .first()
    )


def due_call_backs(counties):
    return (
        CallBack.objects.filter(order__service_center__village__county__in=counties, result="")
        .select_related("order__villager", "order__service_center")
        .order_by("drawn_at", "pk")
    )


def recent_call_backs(counties, *, limit: int = 20):
    return (
        CallBack.objects.filter(order__service_center__village__county__in=counties)
        .exclude(result="")
        .select_related("order__villager", "order__service_center", "called_by")
        .order_by("-called_at", "-pk")[:limit]
    )


def call_back_of_county(counties, pk: int) -> CallBack | None:
    return (
        CallBack.objects.filter(pk=pk, order__service_center__village__county__in=counties)
        .select_related("order__villager", "order__service_center")
        .first()
    )
