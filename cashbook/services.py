"""The cash book's writes: sales and refunds (told by orders), the day's close, remittances and the float.

Every change of a station's money is a ``CashEntry``; the drawer's expected
cash is the sum of its cash entries (``drawer``), so it can always be
re-derived.  Every write locks the station's row first (a sale and a refund
too, inside the payment's transaction), so two staff closing at once give one
close, and the balance a close compares the count with is the one no other
entry changes meanwhile: the entries before a close in the book are the ones
its expected cash adds up.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money
from orders import commissions
from orders.models import CommissionStatement
from orders.payments import Method
from partners.models import ServiceCenter

from .models import CashEntry, DayClose, Remittance

K = CashEntry.Kind
ZERO = Decimal("0.00")
NOTE_LENGTH = 500


class CashError(Exception):
    """A refused cash book operation; ``str(exc)`` says why."""


def _user(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def _lock(station_id) -> None:
    """Wait for a close (or a remittance, a float) of the station being made, and hold the next one back until
    this transaction commits.  The foreign key alone takes no lock: Django's are checked at commit (deferred),
    so without this a sale written while a close reads the drawer is before the close in the book but not in
    its expected cash."""
    ServiceCenter.objects.select_for_update().filter(pk=station_id).values_list("pk", flat=True).get()


# --- told by orders (orders.payments) ------------------------------------------------------------


def record_sale(*, order, amount: Decimal, tender, change: Decimal, actor=None, **_signal) -> CashEntry:
    """A payment taken for an order: one sale entry (the database refuses a second for the same order)."""
    note = _("change ¥%(change)s") % {"change": change} if change else ""
    _lock(order.service_center_id)
    return CashEntry.objects.create(
        station_id=order.service_center_id,
        kind=K.SALE,
        method=tender.method,
        amount=amount,
        reference=tender.reference,
        order=order,
        created_by=_user(actor),
        note=note,
    )


def record_refund(*, refund, actor=None, **_signal) -> CashEntry:
    """A refund paid out of the drawer to the villager."""
    _lock(refund.order.service_center_id)
    return CashEntry.objects.create(
        station_id=refund.order.service_center_id,
        kind=K.REFUND,
        amount=-refund.amount,
        order_id=refund.order_id,
        refund=refund,
        created_by=_user(actor),
        note=(refund.reason or "")[:NOTE_LENGTH],
    )


def record_produce_payout(*, station, lot_number: str, amount: Decimal, actor=None, note: str = "") -> CashEntry:
    """A villager paid for their produce lot out of the drawer: one entry per lot (the database refuses a second)."""
    _lock(station.pk)
    return CashEntry.objects.create(
        station=station,
        kind=K.PRODUCE_PAYOUT,
        amount=-amount,
        reference=lot_number,
        created_by=_user(actor),
        note=(note or "")[:NOTE_LENGTH],
    )


# --- what the station holds --------------------------------------------------------------------------


def drawer(station) -> Decimal:
    """The cash the book says is in the station's drawer: the sum of its cash entries."""
    total = CashEntry.objects.filter(station=station, method=Method.CASH).aggregate(total=Sum("amount"))["total"]
    return money.to_fen(total or ZERO)


@dataclass(frozen=True)
class Balance:
    drawer: Decimal  # expected in the drawer
    in_transit: Decimal  # handed to the county, not confirmed yet
    shortfall: Decimal  # handed over but not received, on confirmed remittances (negative: more received)
    differences: Decimal = ZERO  # posted at closes: short < 0 < over

    @property
    def owed(self) -> Decimal:
        """What the station answers for to the county: its drawer, what the county has not confirmed or did not
        receive, and what went missing from the drawer (a shortage at a close does not end the station's
        responsibility; only a remittance the county confirms does)."""
        return self.drawer + self.in_transit + self.shortfall - self.differences


def balance(station) -> Balance:
    differences = CashEntry.objects.filter(station=station, kind=K.DIFFERENCE).aggregate(total=Sum("amount"))
    remittances = Remittance.objects.filter(station=station)
    waiting = remittances.filter(status=Remittance.Status.RECORDED).aggregate(total=Sum("amount"))["total"]
    confirmed = remittances.filter(status=Remittance.Status.CONFIRMED).aggregate(
        handed=Sum("amount"), received=Sum("received_amount")
    )
    shortfall = (confirmed["handed"] or ZERO) - (confirmed["received"] or ZERO)
    return Balance(
        drawer(station),
        money.to_fen(waiting or ZERO),
        money.to_fen(shortfall),
        money.to_fen(differences["total"] or ZERO),
    )


# --- the day's close ---------------------------------------------------------------------------------


def difference_note_above() -> Decimal:
    return Decimal(str(getattr(settings, "CASHBOOK_DIFFERENCE_NOTE_ABOVE", "10.00")))


def closable_days(station, *, today: date | None = None) -> list[date]:
    """The days the partner may close now: today, and the days of the last week not closed on which money moved
    (late).  Not "money moved that day or after": today's first sale would make every day of the week look open.
    Two queries, whatever the week held."""
    today = today or timezone.localdate()
    week = [today - timedelta(days=n) for n in range(0, 8)]
    closed = set(DayClose.objects.filter(station=station, day__in=week).values_list("day", flat=True))
    since = timezone.make_aware(datetime.combine(week[-1], time.min))
    moved = {
        moment.date()
        for moment in CashEntry.objects.filter(station=station, created_at__gte=since).datetimes(
            "created_at", "day", tzinfo=timezone.get_current_timezone()
        )
    }
    return [day for day in week if day not in closed and (day == today or day in moved)]


@dataclass(frozen=True)
class ClosePreview:
    day: date
    expected: Decimal
    counted: Decimal
    difference: Decimal  # counted - expected
    needs_note: bool
    late: bool


def _amount(value, *, name: str, signed: bool = False) -> Decimal:
    """``value`` in yuan to the fen; ``signed``: below zero too (the book's expected cash, after refunds)."""
    try:
        amount = money.to_fen(Decimal(str(value)))
    except (InvalidOperation, TypeError, ValueError):
        raise CashError(_("Enter %(name)s in yuan, such as 120.50.") % {"name": name}) from None
    if not amount.is_finite() or (amount < 0 and not signed) or abs(amount) >= Decimal("10000000000"):
        raise CashError(_("Enter %(name)s in yuan, such as 120.50.") % {"name": name})
    return amount


def preview_close(*, station, day: date, counted) -> ClosePreview:
    """What closing ``day`` with ``counted`` in the drawer would record, writing nothing."""
    counted = _amount(counted, name=_("the amount counted"))
    today = timezone.localdate()
    if day > today:
        raise CashError(_("A day is closed on the day or after it, not before."))
    expected = drawer(station)
    difference = counted - expected
    return ClosePreview(day, expected, counted, difference, abs(difference) > difference_note_above(), day < today)


def close_day(
    *,
    station,
    actor,
    day: date,
    counted,
    expected_shown=None,
    denominations: dict | None = None,
    note: str = "",
) -> DayClose:
    """The partner counted the drawer: the close, and the difference (short or over) as an entry.

    ``expected_shown`` is the balance the confirmation page showed: a sale or refund since then changes the
    expected cash, and the partner is asked to count again rather than post a difference that is not one.
    One close per station and day (a second is refused, also when two are sent at once).
    """
    note = (note or "").replace("\x00", "").strip()[:NOTE_LENGTH]
    with transaction.atomic():
        ServiceCenter.objects.select_for_update().get(pk=station.pk)  # one close (and one balance) at a time
        if DayClose.objects.filter(station=station, day=day).exists():
            raise CashError(_("%(day)s is closed already.") % {"day": day.isoformat()})
        preview = preview_close(station=station, day=day, counted=counted)
        if (
            expected_shown is not None
            and _amount(expected_shown, name=_("the expected cash"), signed=True) != preview.expected
        ):
            raise CashError(
                _("Money moved since the count began: %(expected)s is expected now. Count again and confirm.")
                % {"expected": money.yuan(preview.expected)}
            )
        if preview.needs_note and not note:
            raise CashError(
                _("The drawer is ¥%(difference)s off: say what happened in a note before closing.")
                % {"difference": abs(preview.difference)}
            )
        try:
            with transaction.atomic():
                close = DayClose.objects.create(
                    station=station,
                    day=day,
                    expected=preview.expected,
                    counted=preview.counted,
                    difference=preview.difference,
                    denominations=denominations or {},
                    note=note,
                    late=preview.late,
                    closed_by=actor,
                )
        except IntegrityError:
            raise CashError(_("%(day)s is closed already.") % {"day": day.isoformat()}) from None
        if preview.difference:
            CashEntry.objects.create(
                station=station,
                kind=K.DIFFERENCE,
                amount=preview.difference,
                close=close,
                created_by=_user(actor),
                note=note or _("close of %(day)s") % {"day": day.isoformat()},
            )
    return close


# --- remittances to the county, and the float ----------------------------------------------------


def record_remittance(
    *, station, actor, amount, slip_number: str, handed_to: str, run_code: str = "", note: str = ""
) -> Remittance:
    """The partner hands cash to the county: it leaves the drawer now, and the county confirms what it got."""
    amount = _amount(amount, name=_("the amount handed over"))
    slip_number = (slip_number or "").replace("\x00", "").strip()
    if amount <= 0:
        raise CashError(_("Enter the amount handed over, more than ¥0."))
    if not slip_number or len(slip_number) > 40:
        raise CashError(_("Enter the slip number (up to 40 characters) written on the receipt."))
    if handed_to not in Remittance.HandedTo.values:
        raise CashError(_("Say who took the cash: the driver of a run or the county office."))
    with transaction.atomic():
        ServiceCenter.objects.select_for_update().get(pk=station.pk)
        held = drawer(station)
        if amount > held:
            raise CashError(
                _("The drawer holds %(held)s by the book: %(amount)s cannot be handed over.")
                % {"held": money.yuan(held), "amount": money.yuan(amount)}
            )
        if Remittance.objects.filter(station=station, slip_number=slip_number).exists():
            raise CashError(_("Slip %(slip)s is recorded already.") % {"slip": slip_number})
        remittance = Remittance.objects.create(
            station=station,
            amount=amount,
            slip_number=slip_number,
            handed_to=handed_to,
            run_code=(run_code or "").strip()[:40],
            note=(note or "").strip()[:NOTE_LENGTH],
            recorded_by=actor,
        )
        CashEntry.objects.create(
            station=station,
            kind=K.REMITTANCE,
            amount=-amount,
            remittance=remittance,
            created_by=_user(actor),
            note=_("slip %(slip)s") % {"slip": slip_number},
        )
    return remittance


def confirm_remittance(*, remittance: Remittance, actor, received) -> Remittance:
    """The county says what it received of a remittance.  Once: the figure is never edited afterwards."""
    received = _amount(received, name=_("the amount received"))
    with transaction.atomic():
        changed = Remittance.objects.filter(pk=remittance.pk, status=Remittance.Status.RECORDED).update(
            status=Remittance.Status.CONFIRMED,
            received_amount=received,
            confirmed_by=actor,
            confirmed_at=timezone.now(),
        )
        if changed != 1:
            raise CashError(_("Slip %(slip)s was confirmed already.") % {"slip": remittance.slip_number})
    remittance.refresh_from_db()
    return remittance


def statements_to_keep(station) -> list:
    """Approved statements of a netting county's station, to keep out of the cash (none elsewhere)."""
    if not ServiceCenter.objects.filter(pk=station.pk, village__county__commission_netting=True).exists():
        return []
    return list(
        CommissionStatement.objects.filter(
            service_center=station, status=CommissionStatement.Status.APPROVED, total__gt=0
        ).order_by("month")
    )


def keep_commission(*, station, statement, actor, expected_total=None) -> CashEntry:
    """Commission netting: the partner keeps an approved statement out of the drawer; it is paid by that.

    The statement is marked paid (its payout entry in the commission ledger) and the cash book gets an entry
    of minus its total, in one transaction, for the amount the confirmation page showed.
    """
    with transaction.atomic():
        ServiceCenter.objects.select_for_update().get(pk=station.pk)
        if statement.service_center_id != station.pk or statement not in statements_to_keep(station):
            raise CashError(_("Only an approved statement of a county that nets commission can be kept."))
        held = drawer(station)
        if statement.total > held:
            raise CashError(
                _("The drawer holds %(held)s by the book: %(total)s cannot be kept out of it.")
                % {"held": money.yuan(held), "total": money.yuan(statement.total)}
            )
        try:
            statement = commissions.mark_paid(
                statement=statement, actor=actor, expected_total=expected_total, kept_from_cash=True
            )
        except commissions.CommissionError as exc:
            raise CashError(str(exc)) from None
        return CashEntry.objects.create(
            station=station,
            kind=K.COMMISSION,
            amount=-statement.total,
            statement=statement,
            created_by=_user(actor),
            note=_("commission %(month)s kept") % {"month": f"{statement.month:%Y-%m}"},
        )


def set_credit_limit(*, station, limit, actor=None) -> ServiceCenter:
    """The county sets what the station's unpaid pay-on-pickup orders may add up to."""
    limit = _amount(limit, name=_("the limit"))
    if limit > Decimal("1000000"):
        raise CashError(_("A pay-on-pickup limit is at most ¥1,000,000."))
    ServiceCenter.objects.filter(pk=station.pk).update(pay_on_pickup_limit=limit)
    station.refresh_from_db()
    return station


def give_float(*, station, actor, amount, note: str = "") -> CashEntry:
    """Change money the county gives the station (positive) or takes back (negative, at most the drawer)."""
    try:
        amount = money.to_fen(Decimal(str(amount)))
    except (InvalidOperation, TypeError, ValueError):
        raise CashError(_("Enter the float in yuan, such as 200.00 (negative: taken back).")) from None
    if not amount.is_finite() or amount == 0 or abs(amount) >= Decimal("1000000"):
        raise CashError(_("Enter the float in yuan, such as 200.00 (negative: taken back)."))
    with transaction.atomic():
        ServiceCenter.objects.select_for_update().get(pk=station.pk)
        if amount < 0 and -amount > drawer(station):
            raise CashError(_("The drawer does not hold ¥%(amount)s to take back.") % {"amount": -amount})
        return CashEntry.objects.create(
            station=station,
            kind=K.FLOAT,
            amount=amount,
            created_by=_user(actor),
            note=(note or "").strip()[:NOTE_LENGTH],
        )
