"""The life of a produce lot: listed at the station, bought (or declined) by the county, received and graded at
the warehouse, paid to the villager at the counter.  Every step is a conditional change of the lot's status (two
clerks at once: one wins), and money moves only through the cash book, once per lot; the partner's commission
(the kind's rate, frozen when the county buys) is a produce entry of the commission ledger when the lot is paid.

    listed ──accept──> accepted ──receive──> received ──pay──> paid (cash at the counter, or to the villager's account)
      │  └──decline──> declined
      └──withdraw──> withdrawn

An accepted lot ready by a run's day rides that run's return leg (``produce.return_leg``); a lot declined
is taken off a run not gone yet; receiving it receives its pickup.

A lot accepted but not received within its kind's keeping days is *overdue*: the county's page and the
station's list say so (``overdue``); the county receives what arrives, or declines it.  A daily task flags each
overdue lot once (``flag_overdue``) and texts the station's partner.
"""

import secrets
import unicodedata
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cashbook import services as cash
from catalog import money
from logistics import pickups
from logistics.photos import ProcessedPhoto
from notifications import services as notifications
from orders import commissions

from .models import ProduceKind, ProduceLot

S = ProduceLot.Status
MAX_QUANTITY = Decimal("100000")
MAX_VALUE = Decimal("10") ** (ProduceLot._meta.get_field("value").max_digits - 2)  # what the column holds
LOT_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

SMS_TEMPLATES = {
    "produce_accepted": "【村淘】县里收购您的{kind}（批次{lot}），{price}元/{unit}，按收到的数量和等级结算，"
    "到货称重后在服务站付款。",
    "produce_declined": "【村淘】很抱歉，县里这次不收购您的{kind}（批次{lot}）：{reason}",
    "produce_overdue_station": "【村淘】{count}批已收购的农产品过了保鲜天数仍未送到县仓：{lots}。请与县里联系。",
}


class ProduceError(Exception):
    """A refused step; ``str(exc)`` is shown to the user."""


def _amount(value, *, what: str, allow_zero: bool = False) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ProduceError(_("%(what)s must be a number, such as 12.50.") % {"what": what}) from None
    if not number.is_finite() or number < 0 or (number == 0 and not allow_zero) or number > MAX_QUANTITY:
        raise ProduceError(_("%(what)s must be more than 0 and at most 100000.") % {"what": what})
    if number != number.quantize(Decimal("0.01")):
        raise ProduceError(_("%(what)s has at most two decimals.") % {"what": what})
    return number


def _grade_labels(kind: ProduceKind) -> str:
    """The kind's grades as the partner sees them (in the active language), for a message."""
    return ", ".join(label for _grade, label in kind.grade_choices())


def new_lot_number() -> str:
    return "P" + timezone.localdate().strftime("%y%m%d") + "-" + "".join(secrets.choice(LOT_ALPHABET) for _ in range(6))


def list_lot(
    *,
    station,
    villager,
    kind: ProduceKind,
    quantity,
    grade: str,
    price_asked,
    ready_on: date,
    certificate_no: str = "",
    photo: ProcessedPhoto | None = None,
    actor,
) -> ProduceLot:
    """A villager's lot, listed by the station for the county to buy; with ``photo`` (as ``logistics.photos``
    re-encoded an upload), stored with the lot."""
    if villager.service_center_id != station.pk:
        raise ProduceError(_("This villager is not registered at your station."))
    if kind.county_id != station.village.county_id or not kind.is_active:
        raise ProduceError(_("Your county does not buy this kind of produce now."))
    if kind.restricted and not kind.allowed:
        raise ProduceError(_("Your county has not allowed this kind (live animals and meat need its permission)."))
    certificate_no = (certificate_no or "").replace("\x00", "").strip()[:40]
    if kind.needs_certificate and not certificate_no:
        raise ProduceError(_("This kind needs the number of its quarantine certificate."))
    if grade not in kind.grade_list():
        raise ProduceError(_("Choose one of the kind's grades: %(grades)s.") % {"grades": _grade_labels(kind)})
    quantity = _amount(quantity, what=_("The quantity"))
    price_asked = _amount(price_asked, what=_("The price asked"))
    today = timezone.localdate()
    if not today <= ready_on <= today + timedelta(days=60):
        raise ProduceError(_("The day it is ready is from today to 60 days ahead."))
    lot = ProduceLot(
        station=station,
        villager=villager,
        kind=kind,
        quantity=quantity,
        grade_claimed=grade,
        price_asked=price_asked,
        ready_on=ready_on,
        certificate_no=certificate_no,
        listed_by=actor,
    )
    written = _write_photo(lot, photo) if photo is not None else []
    try:
        for _attempt in range(3):
            lot.number = new_lot_number()
            try:
                with transaction.atomic():
                    lot.save(force_insert=True)
                return lot
            except IntegrityError:  # the rare lot number drawn twice: draw again
                continue
        raise ProduceError(_("Could not number the lot; try again."))
    except BaseException:
        _delete_files(written)  # no lot: its photo's files go too
        raise


def _write_photo(lot: ProduceLot, photo: ProcessedPhoto) -> list[str]:
    """The re-encoded photo and its thumbnail written under fresh random names; the names, to delete on failure."""
    written: list[str] = []
    try:
        lot.photo.save("photo.jpg", ContentFile(photo.image), save=False)
        written.append(lot.photo.name)
        lot.photo_thumbnail.save("thumb.jpg", ContentFile(photo.thumbnail), save=False)
        written.append(lot.photo_thumbnail.name)
    except BaseException:
        _delete_files(written)
        raise
    return written


def _delete_files(names: list[str]) -> None:
    storage = ProduceLot._meta.get_field("photo").storage
    for name in names:
        storage.delete(name)


def _move(lot: ProduceLot, *, from_status: str | tuple[str, ...], to: str, **fields) -> ProduceLot:
    """The conditional step: only from ``from_status`` (a second click, or another clerk, finds it moved)."""
    allowed = (from_status,) if isinstance(from_status, str) else from_status
    moved = ProduceLot.objects.filter(pk=lot.pk, status__in=allowed).update(status=to, **fields)
    if not moved:
        lot.refresh_from_db(fields=["status"])
        raise ProduceError(
            _("Lot %(number)s is %(status)s already.") % {"number": lot.number, "status": S(lot.status).label}
        )
    lot.refresh_from_db()
    return lot


def _tell(lot: ProduceLot, template: str, **payload) -> None:
    notifications.queue_sms(
        [
            notifications.to_villager(
                lot.villager,
                template=template,
                payload={"kind": lot.kind.name, "lot": lot.number, **payload},
                reference=lot.number,
            )
        ]
    )


def accept_lot(*, lot: ProduceLot, price, actor) -> ProduceLot:
    """The county buys the lot at ``price`` per unit; the villager is told by SMS (with their consent)."""
    price = _amount(price, what=_("The price"))
    if lot.status == S.LISTED and past_keeping(lot):
        # Bought now it could not reach the warehouse within the days it keeps: it would be overdue at once.
        raise ProduceError(
            _("Lot %(number)s was ready on %(day)s and keeps %(days)s days: it is past them, decline it.")
            % {"number": lot.number, "day": f"{lot.ready_on:%Y-%m-%d}", "days": lot.kind.keeps_days}
        )
    with transaction.atomic():
        # The kind's commission rate is frozen now: what the partner earns is what held when the county bought it.
        rate = ProduceKind.objects.filter(pk=lot.kind_id).values_list("commission_rate", flat=True).get()
        lot = _move(
            lot,
            from_status=S.LISTED,
            to=S.ACCEPTED,
            price=price,
            commission_rate=rate,
            decided_by=actor,
            decided_at=timezone.now(),
        )
        _tell(lot, "produce_accepted", price=f"{price}", unit=lot.kind.get_unit_display())
    return lot


def decline_lot(*, lot: ProduceLot, reason: str, actor) -> ProduceLot:
    """The county does not buy the lot (listed, or accepted and never arrived in time), with the reason."""
    reason = (reason or "").replace("\x00", "").strip()[:300]
    if not reason:
        raise ProduceError(_("Say why the lot is declined: the villager is told."))
    with transaction.atomic():
        lot = _move(
            lot,
            from_status=(S.LISTED, S.ACCEPTED),
            to=S.DECLINED,
            decline_reason=reason,
            decided_by=actor,
            decided_at=timezone.now(),
        )
        try:
            pickups.lot_dropped(lot.number)  # off the run it was planned on; refused if on the truck already
        except pickups.PickupError as exc:
            raise ProduceError(str(exc)) from None
        _tell(lot, "produce_declined", reason=reason)
    return lot


def withdraw_lot(*, lot: ProduceLot, actor) -> ProduceLot:
    """The villager takes the lot back before the county decided."""
    return _move(lot, from_status=S.LISTED, to=S.WITHDRAWN, decided_by=actor, decided_at=timezone.now())


def receive_lot(*, lot: ProduceLot, quantity, grade: str, actor, price=None) -> ProduceLot:
    """Weighed or counted and graded at the warehouse: the price (the accepted one, or ``price`` for the grade
    received) applied to what was received, to the fen, is the value owed to the villager."""
    quantity = _amount(quantity, what=_("The quantity received"))
    if grade not in lot.kind.grade_list():
        raise ProduceError(_("Choose one of the kind's grades: %(grades)s.") % {"grades": _grade_labels(lot.kind)})
    given_price = None if price in (None, "") else _amount(price, what=_("The price"))
    with transaction.atomic():
        # Read the lot as it is now: a lot not bought (or a stale page's) has no price to apply.
        current = ProduceLot.objects.select_for_update().get(pk=lot.pk)
        if current.status != S.ACCEPTED:
            raise ProduceError(
                _("Lot %(number)s is %(status)s already.")
                % {"number": current.number, "status": S(current.status).label}
            )
        unit_price = current.price if given_price is None else given_price
        value = money.to_fen(quantity * unit_price)
        if not 0 < value < MAX_VALUE:  # a payout of ¥0.00 or beyond the column: the database would refuse it
            raise ProduceError(
                _("The value of the lot, ¥%(value)s, is not one the station can pay: check the quantity and the price.")
                % {"value": value}
            )
        lot = _move(
            lot,
            from_status=S.ACCEPTED,
            to=S.RECEIVED,
            received_quantity=quantity,
            received_grade=grade,
            price=unit_price,
            value=value,
            received_by=actor,
            received_at=timezone.now(),
        )
        pickups.lot_arrived(lot.number)  # the run's pickup of it is received (or left off a run not gone yet)
    return lot


def _shown(value) -> Decimal | None:
    """The amount a page showed, to the fen; None for junk (a tampered form), which matches no value."""
    try:
        return money.to_fen(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        return None


REFERENCE_LENGTH = ProduceLot._meta.get_field("payment_reference").max_length
V = ProduceLot.PaidVia


def _reference(text) -> str:
    """A transfer's reference as typed (control characters dropped, spaces trimmed): required, at most 60."""
    reference = "".join(c for c in str(text or "") if not unicodedata.category(c).startswith("C")).strip()
    if not reference:
        raise ProduceError(_("Enter the transfer's reference (from the bank or the payment app)."))
    if len(reference) > REFERENCE_LENGTH:
        raise ProduceError(
            _("The transfer's reference has at most %(length)s characters.") % {"length": REFERENCE_LENGTH}
        )
    return reference


def pay_lot(*, lot: ProduceLot, actor, expected_value=None, via: str = V.CASH, reference: str = "") -> ProduceLot:
    """The villager is paid the lot's value, once: in cash out of the station's drawer (a payout in its cash book),
    or to the villager's own account (``via=account``, with the transfer's ``reference``: no cash entry, the drawer
    did not pay it).  The lot's conditional step refuses a second payment either way, and the cash book's unique
    payout per lot a second cash one.  ``expected_value``: the amount the confirmation page showed, which must
    still be the value."""
    if via not in V.values:
        raise ProduceError(_("Choose how the villager is paid."))
    reference = _reference(reference) if via == V.ACCOUNT else ""
    with transaction.atomic():
        current = ProduceLot.objects.select_for_update().get(pk=lot.pk)
        if current.status != S.RECEIVED:
            raise ProduceError(
                _("Lot %(number)s is %(status)s: only a lot received at the warehouse is paid.")
                % {"number": current.number, "status": S(current.status).label}
            )
        if expected_value is not None and _shown(expected_value) != current.value:
            raise ProduceError(_("The value changed since the page was shown: check it again."))
        lot = _move(
            current,
            from_status=S.RECEIVED,
            to=S.PAID,
            paid_by=actor,
            paid_at=timezone.now(),
            paid_via=via,
            payment_reference=reference,
        )
        if via == V.CASH:
            cash.record_produce_payout(
                station=lot.station,
                lot_number=lot.number,
                amount=lot.value,
                actor=actor,
                note=f"{lot.kind.name} {lot.number}",
            )
        _earn(lot, actor=actor)
    return lot


def _earn(lot: ProduceLot, *, actor) -> None:
    """The partner's commission on the paid lot, in the payment's transaction: once per lot (the ledger's
    unique constraint), none when it comes to less than a fen."""
    commissions.post_produce_commission(
        station_id=lot.station_id,
        lot_number=lot.number,
        amount=lot.commission or Decimal("0"),
        actor=actor,
        note=f"{lot.kind.name} {lot.number}: {lot.commission_rate}% × ¥{lot.value}",
    )


def past_keeping(lot: ProduceLot, *, today: date | None = None) -> bool:
    """Past its kind's keeping days from the day it was ready: too late to buy, overdue if bought."""
    today = today or timezone.localdate()
    return today > lot.ready_on + timedelta(days=lot.kind.keeps_days)


def overdue(lot: ProduceLot, *, today: date | None = None) -> bool:
    """Accepted but not received within its kind's keeping days from the day it was ready."""
    return lot.status == S.ACCEPTED and past_keeping(lot, today=today)


OVERDUE_BATCH = 500  # lots claimed per transaction: a county's backlog is flagged without one long lock


def overdue_lots(*, today: date | None = None):
    """Accepted lots past their kind's keeping days and not flagged yet, oldest first (one query).

    The keeping days are the kind's: one condition per distinct number of days (a county has few), so the
    database does the date arithmetic on SQLite and PostgreSQL alike.
    """
    today = today or timezone.localdate()
    accepted = ProduceLot.objects.filter(status=S.ACCEPTED, flagged_overdue_at__isnull=True)
    days = accepted.values_list("kind__keeps_days", flat=True).distinct()
    past = Q(pk__in=[])
    for keeps in days:
        past |= Q(kind__keeps_days=keeps, ready_on__lt=today - timedelta(days=keeps))
    return accepted.filter(past).select_related("station", "kind").order_by("pk")


def flag_overdue(*, today: date | None = None) -> int:
    """Flag each lot that became overdue, once, and text each station with a phone the numbers of its lots.

    Each lot is claimed by a conditional UPDATE (accepted, not flagged yet): two runs at once (beat twice, a retry)
    flag it once and text once, and a lot received or declined meanwhile is not flagged.  The texts are queued in
    the claim's transaction: sent after commit, never for a claim that rolled back.
    """
    today = today or timezone.localdate()
    flagged = 0
    while True:
        candidates = list(overdue_lots(today=today)[:OVERDUE_BATCH])
        if not candidates:
            return flagged
        by_station: dict = {}
        with transaction.atomic():
            now = timezone.now()
            for lot in candidates:
                claimed = ProduceLot.objects.filter(
                    pk=lot.pk, status=S.ACCEPTED, flagged_overdue_at__isnull=True
                ).update(flagged_overdue_at=now)
                if claimed:
                    by_station.setdefault(lot.station, []).append(lot.number)
            _tell_stations_overdue(by_station)
        flagged += sum(len(numbers) for numbers in by_station.values())
        if len(candidates) < OVERDUE_BATCH:
            return flagged


def _tell_stations_overdue(by_station: dict) -> None:
    """One text per station with a phone; the station's produce list and lot page say it as well."""
    notifications.queue_sms(
        notifications.Sms(
            str(station.phone),
            "produce_overdue_station",
            {"count": len(numbers), "lots": "、".join(numbers[:5]) + ("等" if len(numbers) > 5 else "")},
            reference=numbers[0],
        )
        for station, numbers in by_station.items()
        if station.phone
    )
