"""The way back: returns by line, goods refused or never collected, damaged goods, and the refunds they owe.

Goods that go back become a ``GoodsReturn`` waiting at the station; a run's
return leg picks it up (logistics.pickups) and the warehouse counts it in
(``receive_goods_back``).  Stock moves only then, when the goods physically
arrive: sellable units back on hand, damaged ones into quarantine.

Money moves when the villager gives the goods back: a return by line reverses
the commission of exactly those units (to the fen; the last units of a line
take what is left, so a line returned in parts reverses exactly its
commission) and owes the villager what they paid for them, paid out at the
counter (``pay_refund``).  An order refused or never collected earned no
commission; it is cancelled when the warehouse receives it, with a refund if
it was paid.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money

from . import payments, stock_moves
from .errors import InvalidTransition, OrderError
from .models import CommissionEntry, GoodsReturn, GoodsReturnLine, Order, OrderLine, Refund
from .policy import collection_policy
from .services import owe_refund, transition

S = Order.Status
G = GoodsReturn.Status
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class LineBack:
    """Units of one order line that come back, and why."""

    order_line_id: int
    quantity: int
    reason: str = GoodsReturnLine.Reason.NOT_WANTED


# --- the return window ----------------------------------------------------------------


def line_return_days(line: OrderLine) -> int:
    """Days after collection in which this line may come back: its category's window, else the default."""
    days = line.product.category.return_days
    return settings.ORDER_RETURN_WINDOW_DAYS if days is None else days


def return_deadline(order: Order):
    """The end of the longest window of the order's lines (None before collection)."""
    if order.collected_at is None:
        return None
    lines = order.lines.select_related("product__category")
    days = max((line_return_days(line) for line in lines), default=settings.ORDER_RETURN_WINDOW_DAYS)
    return order.collected_at + timedelta(days=days)


def _check_window(order: Order, line: OrderLine, now) -> None:
    days = line_return_days(line)
    if days == 0:
        raise OrderError(_("%(name)s cannot be returned once collected.") % {"name": line.product.name})
    deadline = order.collected_at + timedelta(days=days)
    if now > deadline:
        raise OrderError(
            _("The return window of %(days)s days for %(name)s ended on %(date)s.")
            % {"days": days, "name": line.product.name, "date": timezone.localtime(deadline).date().isoformat()}
        )


# --- returns by line ------------------------------------------------------------------


def returnable_lines(order: Order) -> list[OrderLine]:
    """The lines with units still to return, with their products (for the return form)."""
    return [
        line
        for line in order.lines.select_related("product__category").order_by("pk")
        if line.quantity > line.returned_quantity
    ]


@dataclass(frozen=True)
class LinePreview:
    """Units of one line a return would take back, and what they take back: commission and price."""

    line: OrderLine
    quantity: int
    reason: str
    commission_back: Decimal
    refund_back: Decimal

    @property
    def reason_label(self) -> str:
        return GoodsReturnLine.Reason(self.reason).label


@dataclass(frozen=True)
class ReturnPreview:
    """What a return by line does, worked out before it is done: the confirmation page shows these figures."""

    lines: tuple[LinePreview, ...]
    commission: Decimal  # taken back from the station's commission
    refund: Decimal  # owed to the villager (nothing for an order never paid)


def preview_return(*, order: Order, lines: list[LineBack], now=None) -> ReturnPreview:
    """What ``return_lines`` would do with ``lines`` now, writing nothing: the same checks, the same figures.

    ``return_lines`` works out its figures with the same function, on the rows it
    locks, so what the partner confirmed is what is recorded (unless another
    return of the order came in between: then the locked rows win).
    """
    wanted = _wanted(lines)
    if order.status != S.COLLECTED:
        raise InvalidTransition(order, S.RETURNED)
    by_id = {line.pk: line for line in order.lines.select_related("product__category")}
    return _priced(order, by_id, wanted, now or timezone.now())


def return_lines(*, order: Order, actor, lines: list[LineBack], note: str = "") -> GoodsReturn:
    """The villager brings some units back within the window: refund owed, commission of those units reversed.

    All lines back in full makes the order ``returned``.  The goods wait at the
    station for a truck; stock moves when the warehouse receives them.
    """
    note = (note or "").strip()
    wanted = _wanted(lines)
    now = timezone.now()
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        if order.status != S.COLLECTED:
            raise InvalidTransition(order, S.RETURNED)
        by_id = {
            line.pk: line for line in order.lines.select_related("product__category").select_for_update(of=("self",))
        }
        preview = _priced(order, by_id, wanted, now)
        goods = GoodsReturn.objects.create(
            order=order, kind=GoodsReturn.Kind.RETURN, reason=note[:500], created_by=actor
        )
        rows = []
        for back in preview.lines:
            rows.append(
                GoodsReturnLine(
                    goods_return=goods,
                    order_line=back.line,
                    quantity=back.quantity,
                    reason=back.reason,
                    commission_back=back.commission_back,
                    refund_back=back.refund_back,
                )
            )
            OrderLine.objects.filter(pk=back.line.pk).update(returned_quantity=F("returned_quantity") + back.quantity)
        GoodsReturnLine.objects.bulk_create(rows)
        _set_size(goods, [(back.line, back.quantity) for back in preview.lines])
        if preview.commission:
            _post_reversal(order=order, goods=goods, amount=preview.commission, actor=actor, note=note)
        if preview.refund:
            Refund.objects.create(order=order, goods_return=goods, amount=preview.refund, reason=note[:500])
        if not OrderLine.objects.filter(order=order, returned_quantity__lt=F("quantity")).exists():
            transition(order, to=S.RETURNED, actor=actor, note=note)
    return goods


def _wanted(lines: list[LineBack]) -> dict[int, LineBack]:
    """The lines asked for with a quantity, by order line; refuses a quantity or reason that is not one."""
    wanted = {}
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 0:
            raise OrderError(_("A quantity to return is a whole number."))
        if line.reason not in GoodsReturnLine.Reason.values:
            raise OrderError(_("Choose why the goods come back."))
        if line.quantity:
            wanted[line.order_line_id] = line
    if not wanted:
        raise OrderError(_("Choose at least one item to return."))
    return wanted


def _priced(order: Order, by_id: dict[int, OrderLine], wanted: dict[int, LineBack], now) -> ReturnPreview:
    """Check each wanted line (part of the order, in its window, units left) and price it: the one computation
    of a return's figures, for the preview and for the return itself."""
    if set(wanted) - set(by_id):
        raise OrderError(_("These items are not part of order %(number)s.") % {"number": order.number})
    back = []
    for pk, request in sorted(wanted.items()):
        line = by_id[pk]
        _check_window(order, line, now)
        left = line.quantity - line.returned_quantity
        if request.quantity > left:
            raise OrderError(
                _("Only %(left)s of %(name)s can still be returned.") % {"left": left, "name": line.product.name}
            )
        commission_back, refund_back = _share_of_line(line, request.quantity)
        back.append(LinePreview(line, request.quantity, request.reason, commission_back, refund_back))
    commission = sum((b.commission_back for b in back), ZERO)
    refund = sum((b.refund_back for b in back), ZERO)
    return ReturnPreview(lines=tuple(back), commission=commission, refund=refund if order.paid_at is not None else ZERO)


def _share_of_line(line: OrderLine, quantity: int) -> tuple[Decimal, Decimal]:
    """(commission, price) of ``quantity`` more units of ``line``; the last units take what earlier returns left."""
    if line.returned_quantity + quantity < line.quantity:
        return (
            money.share(line.commission_amount, quantity, line.quantity),
            money.share(line.line_total, quantity, line.quantity),
        )
    taken = GoodsReturnLine.objects.filter(order_line=line).aggregate(
        commission=Sum("commission_back"), price=Sum("refund_back")
    )
    # to_fen: SQLite sums decimals as floats (1.37 comes back as 1.37000000000000).
    return (
        money.to_fen(line.commission_amount - (taken["commission"] or ZERO)),
        money.to_fen(line.line_total - (taken["price"] or ZERO)),
    )


def _post_reversal(*, order: Order, goods: GoodsReturn, amount: Decimal, actor, note: str) -> None:
    # A void order (self-dealing confirmed) had all it earned clawed back: a return takes nothing more.
    if (
        order.commission_void
        or not CommissionEntry.objects.filter(order=order, kind=CommissionEntry.Kind.ACCRUAL).exists()
    ):
        return
    try:
        with transaction.atomic():
            CommissionEntry.objects.create(
                service_center_id=order.service_center_id,
                order=order,
                goods_return=goods,
                kind=CommissionEntry.Kind.REVERSAL,
                amount=-amount,
                created_by=actor,
                note=note[:500],
            )
    except IntegrityError:
        pass  # the same return posted twice: its reversal is there


def _set_size(goods: GoodsReturn, units: list[tuple[OrderLine, int]]) -> None:
    """Weight and volume of what comes back, for the truck's return leg."""
    weight = sum((line.product.weight_kg * qty for line, qty in units), Decimal("0"))
    volume = sum((line.product.volume_m3 * qty for line, qty in units), Decimal("0"))
    GoodsReturn.objects.filter(pk=goods.pk).update(weight_kg=weight, volume_m3=volume)
    goods.weight_kg, goods.volume_m3 = weight, volume


def return_order(*, order: Order, actor, reason: str) -> Order:
    """Take every line still held back within the return window (the whole order)."""
    if order.status != S.COLLECTED:
        raise InvalidTransition(order, S.RETURNED)
    if not (reason or "").strip():
        raise OrderError(_("Say why the goods are returned."))
    lines = [LineBack(line.pk, line.quantity - line.returned_quantity) for line in returnable_lines(order)]
    return_lines(order=order, actor=actor, lines=lines, note=reason)
    order.refresh_from_db()
    return order


# --- the whole order back: refused, not collected, damaged on the way ----------------------------


def send_back_after_days() -> int:
    """Days an order waits at the station for its villager before it may be sent back as not collected
    (the collection policy, edited in the admin)."""
    return collection_policy().send_back_after_days


def uncollected_send_back_from(arrived_at):
    """From when goods that arrived at the station at ``arrived_at`` may go back as not collected (None: never
    arrived)."""
    return arrived_at + timedelta(days=send_back_after_days()) if arrived_at else None


def uncollected_refusal(arrived_at, *, now=None) -> str | None:
    """Why goods that arrived at ``arrived_at`` may not go back as not collected yet; None once they may."""
    since = uncollected_send_back_from(arrived_at)
    if since is not None and (now or timezone.now()) >= since:
        return None
    days = send_back_after_days()
    if since is None:
        return _("Goods not collected can be sent back after %(days)s days at the station.") % {"days": days}
    return _("Goods not collected can be sent back from %(date)s (after %(days)s days at the station).") % {
        "date": timezone.localtime(since).strftime("%Y-%m-%d %H:%M"),
        "days": days,
    }


def send_back(*, order: Order, actor, kind: str, reason: str = "") -> GoodsReturn:
    """Goods at the station the villager refused or never collected go back: the order is ``going back``."""
    if kind not in (GoodsReturn.Kind.REFUSED, GoodsReturn.Kind.UNCOLLECTED):
        raise OrderError(_("Goods are sent back because they were refused or not collected."))
    if kind == GoodsReturn.Kind.UNCOLLECTED:
        arrived = (
            order.events.filter(to_status=S.AT_STATION)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        refusal = uncollected_refusal(arrived)
        if refusal:
            raise OrderError(refusal)
    with transaction.atomic():
        transition(order, to=S.GOING_BACK, actor=actor, note=reason or GoodsReturn.Kind(kind).label)
        return _whole_order_back(order, kind=kind, actor=actor, reason=reason)


def damaged_goods_back(*, order: Order, actor=None, note: str = "") -> GoodsReturn:
    """A damaged parcel's goods go back from the station to quarantine; the order itself waits for the county."""
    with transaction.atomic():
        existing = order.goods_returns.filter(kind=GoodsReturn.Kind.DAMAGED, status=G.WAITING).first()
        return existing or _whole_order_back(order, kind=GoodsReturn.Kind.DAMAGED, actor=actor, reason=note)


def found_goods_back(*, order: Order, actor=None, note: str = "") -> GoodsReturn:
    """A lost parcel turned up at the station after its order moved on: its units go back to the warehouse shelf.

    The order itself is not touched (it was shipped again, or cancelled and refunded).
    """
    with transaction.atomic():
        return _whole_order_back(order, kind=GoodsReturn.Kind.FOUND, actor=actor, reason=note)


def _whole_order_back(order: Order, *, kind: str, actor, reason: str) -> GoodsReturn:
    goods = GoodsReturn.objects.create(order=order, kind=kind, reason=(reason or "")[:500], created_by=actor)
    lines = list(order.lines.select_related("product"))
    GoodsReturnLine.objects.bulk_create(
        GoodsReturnLine(goods_return=goods, order_line=line, quantity=line.quantity) for line in lines
    )
    _set_size(goods, [(line, line.quantity) for line in lines])
    return goods


# --- on the truck, and at the warehouse -------------------------------------------------


def goods_picked_up(goods_ids: list[int]) -> int:
    """The driver took them (logistics.pickups): on their way back."""
    return GoodsReturn.objects.filter(pk__in=goods_ids, status=G.WAITING).update(status=G.ON_ITS_WAY, waiting_reason="")


def goods_left_behind(goods_ids: list[int], *, reason: str) -> int:
    """The truck left without them (no room, the run ended): waiting again for the next run."""
    return GoodsReturn.objects.filter(pk__in=goods_ids, status__in=[G.WAITING, G.ON_ITS_WAY]).update(
        status=G.WAITING, waiting_reason=reason[:200]
    )


def receive_goods_back(
    *, goods: GoodsReturn, actor, counts: dict[int, tuple[int, int]] | None = None, note: str = ""
) -> GoodsReturn:
    """The warehouse counts the goods in: per line (sellable, damaged); default all sellable (all damaged for a
    damaged parcel).  Stock moves now; an order going back is cancelled, refunded if it was paid.

    Receiving twice changes nothing.
    """
    with transaction.atomic():
        goods = GoodsReturn.objects.select_for_update().select_related("order").get(pk=goods.pk)
        if goods.status == G.RECEIVED:
            return goods
        lines = list(goods.lines.select_related("order_line"))
        counts = counts or {}
        counted = []
        for line in lines:
            default = (0, line.quantity) if goods.kind == GoodsReturn.Kind.DAMAGED else (line.quantity, 0)
            sellable, damaged = counts.get(line.pk, default)
            if min(sellable, damaged) < 0 or sellable + damaged > line.quantity:
                raise OrderError(
                    _("Count at most %(quantity)s units of this line, sellable and damaged together.")
                    % {"quantity": line.quantity}
                )
            line.sellable_quantity, line.damaged_quantity = sellable, damaged
            counted.append((goods.order_id, goods.order.warehouse_id, line.order_line.product_id, sellable, damaged))
        GoodsReturnLine.objects.bulk_update(lines, ["sellable_quantity", "damaged_quantity"])
        stock_moves.receive_goods_back(counted=counted, actor=actor, note=note or f"R{goods.pk}")
        goods.status, goods.received_at, goods.received_by = G.RECEIVED, timezone.now(), actor
        goods.save(update_fields=["status", "received_at", "received_by"])
        order = goods.order
        if order.status == S.GOING_BACK:
            transition(order, to=S.CANCELLED, actor=actor, note=_("received back at the warehouse"))
            owe_refund(order=order, reason=GoodsReturn.Kind(goods.kind).label)
    return goods


# --- refunds ------------------------------------------------------------------------------


def refunds_owed(*, station) -> list[Refund]:
    return list(
        Refund.objects.filter(order__service_center=station, paid_at__isnull=True)
        .select_related("order__villager")
        .order_by("created_at", "pk")
    )


def pay_refund(*, refund: Refund, actor, expected_amount: Decimal | None = None) -> Refund:
    """The partner pays the villager out of the drawer.  Paying twice changes nothing."""
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.paid_at is not None:
            return refund
        if expected_amount is not None and expected_amount != refund.amount:
            raise OrderError(_("The refund is ¥%(amount)s; check it and confirm again.") % {"amount": refund.amount})
        refund.paid_at, refund.paid_by = timezone.now(), actor
        refund.save(update_fields=["paid_at", "paid_by"])
        payments.refund_paid.send(sender=Refund, refund=refund, actor=actor)  # the cash book's refund entry
    return refund


def refunds_total(*, station) -> Decimal:
    owed = Refund.objects.filter(order__service_center=station, paid_at__isnull=True).aggregate(total=Sum("amount"))
    return owed["total"] or ZERO
