"""Commission: the append-only ledger and the monthly statements built from it.

Earned when the villager collects (an accrual equal to the order's frozen
commission) and when a villager is paid for a produce lot the station listed
(a produce entry, by the lot's number), reversed exactly when goods come back, corrected only by
adjustments, and paid out through statements.  A statement's total is the
sum of its accrual, reversal and adjustment entries, always recomputed from
them, never typed in.

A statement that ends below zero (a clawback larger than the month's
accruals) is never approved or paid: there is no negative payout.  The next
statement built for the station takes its balance along, as a pair of
adjustments that sum to zero (one bringing the old statement to 0.00, one
carrying the amount into the new one), so the ledger stays append-only and
every statement still equals its entries.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money
from partners.models import ServiceCenter

from .models import CommissionEntry, CommissionStatement, Order

E = CommissionEntry.Kind
STATEMENT_KINDS = [E.ACCRUAL, E.REVERSAL, E.ADJUSTMENT, E.CLAWBACK, E.PRODUCE]
# Entries of an order the county holds for review (integrity) stay out of statements until it is decided.
NOT_HELD = ~Q(order__commission_held=True)


class CommissionError(Exception):
    """A refused commission operation; ``str(exc)`` is shown to the user."""


# --- ledger entries ---------------------------------------------------------------


def post_accrual(*, order: Order, actor=None) -> CommissionEntry | None:
    """Commission earned on collection.  Called inside hand_over's transaction; at most one per order.

    None for an order whose self-dealing the county confirmed (``commission_void``): it earns nothing.
    """
    if order.commission_total <= 0 or order.commission_void:
        return None
    return CommissionEntry.objects.create(
        service_center_id=order.service_center_id,
        order=order,
        kind=E.ACCRUAL,
        amount=order.commission_total,
        created_by=actor,
    )


def post_reversal(*, order: Order, actor=None, note: str = "") -> CommissionEntry | None:
    """The exact negation of the order's accrual.  Posting it twice leaves one reversal.

    A savepoint around the insert: the unique constraint (order, kind) is the
    arbiter when two returns race, and the loser simply finds the reversal there.
    """
    accrual = CommissionEntry.objects.filter(order=order, kind=E.ACCRUAL).first()
    if accrual is None:
        return None
    existing = CommissionEntry.objects.filter(order=order, kind=E.REVERSAL).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return CommissionEntry.objects.create(
                service_center_id=accrual.service_center_id,
                order=order,
                kind=E.REVERSAL,
                amount=-accrual.amount,
                created_by=actor,
                note=note[:500],
            )
    except IntegrityError:
        return CommissionEntry.objects.get(order=order, kind=E.REVERSAL)


def post_produce_commission(
    *, station_id: int, lot_number: str, amount: Decimal, actor=None, note: str = ""
) -> CommissionEntry | None:
    """Commission earned on a produce lot when the villager is paid for it (produce's ``pay_lot``, in its
    transaction).  None when it comes to nothing (a rate of 0, a value too small for a fen).

    At most one per lot: the unique constraint (produce_lot) is the arbiter, in a savepoint, and a second call
    finds the first entry.
    """
    if amount <= 0:
        return None
    existing = CommissionEntry.objects.filter(produce_lot=lot_number, kind=E.PRODUCE).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return CommissionEntry.objects.create(
                service_center_id=station_id,
                produce_lot=lot_number,
                kind=E.PRODUCE,
                amount=amount,
                created_by=actor,
                note=note[:500],
            )
    except IntegrityError:
        return CommissionEntry.objects.get(produce_lot=lot_number, kind=E.PRODUCE)


def earned_on(order: Order) -> Decimal:
    """What the order's entries leave the station: its accrual less what returns and clawbacks took back."""
    total = CommissionEntry.objects.filter(order=order, kind__in=[E.ACCRUAL, E.REVERSAL, E.CLAWBACK]).aggregate(
        total=Sum("amount")
    )["total"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def hold(order_ids: list[int]) -> int:
    """The county reviews these orders: their commission stays out of statements until it decides."""
    return Order.objects.filter(pk__in=order_ids, commission_held=False).update(commission_held=True)


def release(order: Order) -> None:
    """Cleared by the county: the held entries go into the next statement built for their month."""
    Order.objects.filter(pk=order.pk).update(commission_held=False)
    order.commission_held = False


def claw_back(*, order: Order, actor, note: str) -> CommissionEntry | None:
    """Self-dealing confirmed: what the order still earns is taken back, and it never accrues again.

    The order is void from now on (a hand-over later posts no accrual, a return no reversal), its hold is
    released so the accrual and the clawback are filed together.  Once per order (a unique constraint).
    """
    with transaction.atomic():
        Order.objects.filter(pk=order.pk).update(commission_void=True, commission_held=False)
        order.commission_void, order.commission_held = True, False
        earned = earned_on(order)
        if earned <= 0 or CommissionEntry.objects.filter(order=order, kind=E.CLAWBACK).exists():
            return None
        return CommissionEntry.objects.create(
            service_center_id=order.service_center_id,
            order=order,
            kind=E.CLAWBACK,
            amount=-earned,
            created_by=actor,
            note=note[:500],
        )


def post_adjustment(*, station: ServiceCenter, amount: Decimal, actor, note: str) -> CommissionEntry:
    """A correction (either sign) with the reason; the only way to change what a station earned."""
    if not note.strip():
        raise CommissionError(_("An adjustment needs a note saying why."))
    amount = Decimal(amount)
    if amount == 0 or amount != amount.quantize(Decimal("0.01")):
        raise CommissionError(_("An adjustment is a non-zero amount in yuan and fen."))
    return CommissionEntry.objects.create(
        service_center=station, kind=E.ADJUSTMENT, amount=amount, created_by=actor, note=note[:500]
    )


# --- months -------------------------------------------------------------------------


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


# --- statements ------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildReport:
    month: date
    statements: int  # statements created or topped up
    entries: int  # entries filed
    carried: int = 0  # statements below zero whose balance was carried into the new one


def months_with_unfiled_entries(*, before: date | None = None) -> list[date]:
    """Local months holding entries not yet in a statement (before ``before``, a first day)."""
    unfiled = CommissionEntry.objects.filter(statement__isnull=True, kind__in=STATEMENT_KINDS)
    if before:
        unfiled = unfiled.filter(created_at__lt=local_midnight(before))
    first = unfiled.order_by("created_at").values_list("created_at", flat=True).first()
    if first is None:
        return []
    months = []
    month = month_start(timezone.localtime(first).date())
    last = month_start(timezone.localdate()) if before is None else previous_month(before)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def build_statements(*, month: date) -> BuildReport:
    """File every unfiled entry of ``month`` into its station's statement for that month.

    Idempotent: a rebuild files only entries still unfiled, never creates a
    second statement (unique per station and month), and recomputes totals
    from the entries.  An entry whose month's statement was already approved
    or paid (a late return) lands in the station's next open statement: a clawback.
    A station's earlier statements that ended below zero are carried into the
    statement being built (``_carry_forward_into``).
    """
    month = month_start(month)
    window = Q(created_at__gte=local_midnight(month), created_at__lt=local_midnight(next_month(month)))
    stations = (
        CommissionEntry.objects.filter(window, NOT_HELD, statement__isnull=True, kind__in=STATEMENT_KINDS)
        .values_list("service_center_id", flat=True)
        .distinct()
    )
    statements = entries = carried = 0
    for station_id in list(stations):
        with transaction.atomic():
            statement = _open_statement(station_id=station_id, month=month)
            filed = CommissionEntry.objects.filter(
                window,
                NOT_HELD,
                service_center_id=station_id,
                statement__isnull=True,
                kind__in=STATEMENT_KINDS,
            ).update(statement=statement)
            carried += _carry_forward_into(statement)
            _recompute_total(statement)
        statements += 1
        entries += filed
    return BuildReport(month=month, statements=statements, entries=entries, carried=carried)


def _open_statement(*, station_id: int, month: date) -> CommissionStatement:
    """The draft statement that takes entries of ``month``, locked for this transaction.

    If the month's statement is approved or paid, the next month's (created
    if need be) takes them.
    """
    while True:
        try:
            with transaction.atomic():
                statement, _ = CommissionStatement.objects.get_or_create(service_center_id=station_id, month=month)
        except IntegrityError:  # built at the same moment by another worker
            statement = CommissionStatement.objects.get(service_center_id=station_id, month=month)
        # Lock it: two builders filing into one statement compute its total one after the other.
        statement = CommissionStatement.objects.select_for_update().get(pk=statement.pk)
        if statement.status == CommissionStatement.Status.DRAFT:
            return statement
        month = next_month(month)


def _carry_forward_into(statement: CommissionStatement) -> int:
    """Bring the balance of the station's earlier statements that ended below zero into ``statement``.

    Each one gets an adjustment of +balance (it now ends at 0.00 and is never paid) and
    ``statement`` one of -balance, in this transaction: the pair sums to zero, so the
    ledger's total does not move.  Only stations being built get here, so a station
    with no new entries keeps its negative statement until it earns again (no chain
    of empty statements).  An approved one is carried too: it was approved before
    approval refused statements below zero, and can be neither paid nor reopened.

    Lock order: ``statement`` (the newest) is locked by the caller, the older ones here
    newest first, the same order every builder takes, so two builders cannot deadlock.
    """
    below_zero = (
        CommissionStatement.objects.select_for_update()
        .filter(
            service_center_id=statement.service_center_id,
            month__lt=statement.month,
            status__in=[CommissionStatement.Status.DRAFT, CommissionStatement.Status.APPROVED],
            total__lt=0,
        )
        .order_by("-month")
    )
    carried = 0
    for old in below_zero:
        CommissionEntry.objects.create(
            service_center_id=old.service_center_id,
            kind=E.ADJUSTMENT,
            amount=-old.total,
            statement=old,
            note=_("Below zero: carried forward to the statement of %(month)s") % {"month": f"{statement.month:%Y-%m}"},
        )
        CommissionEntry.objects.create(
            service_center_id=old.service_center_id,
            kind=E.ADJUSTMENT,
            amount=old.total,
            statement=statement,
            note=_("Carried forward from the statement of %(month)s, which ended below zero")
            % {"month": f"{old.month:%Y-%m}"},
        )
        _recompute_total(old)
        carried += 1
    return carried


def _recompute_total(statement: CommissionStatement) -> None:
    total = statement.entries.filter(kind__in=STATEMENT_KINDS).aggregate(total=Sum("amount"))["total"]
    statement.total = (total or Decimal("0")).quantize(Decimal("0.01"))
    CommissionStatement.objects.filter(pk=statement.pk).update(total=statement.total)


def carries_forward_message(statement: CommissionStatement) -> str:
    return _(
        "Statement %(statement)s ends at %(total)s, below zero: nothing is paid, and its balance "
        "carries forward into the station's next statement."
    ) % {"statement": statement, "total": money.yuan(statement.total)}


def approval_refusal(statement: CommissionStatement) -> str | None:
    """Why ``statement`` may not be approved as it stands, or None (for the confirmation page)."""
    if statement.status != CommissionStatement.Status.DRAFT:
        return _("Only a draft statement can be approved.")
    if statement.total < 0:
        return carries_forward_message(statement)
    return None


def payment_refusal(statement: CommissionStatement) -> str | None:
    """Why ``statement`` may not be marked paid as it stands, or None."""
    if statement.status != CommissionStatement.Status.APPROVED:
        return _("Only an approved statement can be marked paid.")
    if statement.total < 0:
        return carries_forward_message(statement)
    return None


def _refuse(statement: CommissionStatement, refusal, expected_total: Decimal | None) -> CommissionError:
    """The error for a conditional update that changed nothing, read again from the database."""
    statement.refresh_from_db()
    reason = refusal(statement)
    if reason is None and expected_total is not None and statement.total != expected_total:
        reason = _(
            "Statement %(statement)s changed since it was shown: it is now %(total)s. Check it and confirm again."
        ) % {"statement": statement, "total": money.yuan(statement.total)}
    return CommissionError(reason or _("Statement %(statement)s changed; try again.") % {"statement": statement})


def approve_statement(
    *, statement: CommissionStatement, actor, expected_total: Decimal | None = None
) -> CommissionStatement:
    """The county checked it: no more entries go in.  A statement below zero is refused (it carries forward).

    ``expected_total`` is the amount the person confirmed: a late entry filed in
    between makes it a refusal, never an approval of an amount nobody saw.
    """
    condition = Q(pk=statement.pk, status=CommissionStatement.Status.DRAFT, total__gte=0)
    if expected_total is not None:
        condition &= Q(total=expected_total)
    with transaction.atomic():
        # One conditional update: a builder filing into the statement holds its row lock, and
        # the update waits for it and then sees the new total (a race lost is a refusal).
        changed = CommissionStatement.objects.filter(condition).update(
            status=CommissionStatement.Status.APPROVED, approved_by=actor, approved_at=timezone.now()
        )
    if changed != 1:
        raise _refuse(statement, approval_refusal, expected_total)
    statement.refresh_from_db()
    return statement


def mark_paid(
    *, statement: CommissionStatement, actor, expected_total: Decimal | None = None, kept_from_cash: bool = False
) -> CommissionStatement:
    """Paid out: the statement closes and the ledger gets a payout entry of -total.

    Never below zero (refused: it carries forward); a zero statement closes with no payout entry.  In a
    county that nets commission the station keeps it out of its cash (``kept_from_cash``, the cash book's
    ``keep_commission``): a separate payment by the county is refused, so it is never paid twice.
    """
    netting = ServiceCenter.objects.filter(pk=statement.service_center_id, village__county__commission_netting=True)
    if not kept_from_cash and statement.total > 0 and netting.exists():
        raise CommissionError(
            _(
                "This county nets commission: the station keeps ¥%(total)s out of its cash, on its cash book page. "
                "It is not paid separately."
            )
            % {"total": f"{statement.total:.2f}"}
        )
    condition = Q(pk=statement.pk, status=CommissionStatement.Status.APPROVED, total__gte=0)
    if expected_total is not None:
        condition &= Q(total=expected_total)
    with transaction.atomic():
        changed = CommissionStatement.objects.filter(condition).update(
            status=CommissionStatement.Status.PAID, paid_by=actor, paid_at=timezone.now()
        )
        if changed == 1:
            statement.refresh_from_db()
            if statement.total != 0:
                CommissionEntry.objects.create(
                    service_center_id=statement.service_center_id,
                    kind=E.PAYOUT,
                    amount=-statement.total,
                    created_by=actor,
                    statement=statement,
                    note=_("Statement %(month)s paid") % {"month": f"{statement.month:%Y-%m}"},
                )
    if changed != 1:
        raise _refuse(statement, payment_refusal, expected_total)
    return statement


# --- reads --------------------------------------------------------------------------------


def month_summary(station: ServiceCenter, *, month: date | None = None) -> dict[str, Decimal]:
    """Accrued (on orders and on produce), reversed, adjusted and net commission of a station in a local month (one
    query)."""
    month = month_start(month or timezone.localdate())
    window = Q(created_at__gte=local_midnight(month), created_at__lt=local_midnight(next_month(month)))
    sums = CommissionEntry.objects.filter(window, service_center=station).aggregate(
        accrued=Sum("amount", filter=Q(kind=E.ACCRUAL)),
        produce=Sum("amount", filter=Q(kind=E.PRODUCE)),
        reversed=Sum("amount", filter=Q(kind__in=[E.REVERSAL, E.CLAWBACK])),
        adjusted=Sum("amount", filter=Q(kind=E.ADJUSTMENT)),
    )
    summary = {k: (v or Decimal("0")).quantize(Decimal("0.01")) for k, v in sums.items()}
    summary["net"] = summary["accrued"] + summary["produce"] + summary["reversed"] + summary["adjusted"]
    summary["month"] = month
    return summary
