"""Every change of warehouse stock outside an order, and the record behind each change.

A Stock row changes only here or in orders (its placement in orders.services,
and orders.stock_moves), and each change writes a StockMovement in the same transaction, so ``on_hand`` and ``reserved`` can be
re-derived from the movements (``stock_from_movements``; ``stock_mismatches``
lists the rows that disagree).

Goods in, stock-takes and write-offs are the services below: each owns its
transaction, locks the Stock row (``select_for_update``, rows in primary-key
order when there are several) and moves it with F() expressions, never by
writing a number read earlier, so a placement reserving the same row at the
same moment is never overwritten.  ``reserved`` belongs to the orders: only
``shift_stock`` moves it, for orders.stock_moves (which reads the order lines,
since the catalog sits below orders and never imports them).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from partners.models import Warehouse

from .models import Product, Stock, StockMovement

Kind = StockMovement.Kind

MAX_QUANTITY = 1_000_000  # per movement: more than any county warehouse holds of one product
NOTE_LENGTH = 500


class StockError(Exception):
    """A stock rule refused the change; ``str(exc)`` is a message for the person who asked."""


@dataclass(frozen=True)
class StockLevel:
    on_hand: int
    reserved: int
    quarantined: int = 0


@dataclass(frozen=True)
class StockChange:
    stock: Stock  # the row as it stands after the change (read under its lock)
    movement: StockMovement  # the record of the change


# --- checking ------------------------------------------------------------------------


def _whole(value, *, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= MAX_QUANTITY:
        raise StockError(
            _("The %(name)s must be a whole number from %(min)s to %(max)s.")
            % {"name": name, "min": minimum, "max": MAX_QUANTITY}
        )
    return value


def _note(note: str, *, required: bool = False) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_LENGTH:
        raise StockError(_("The note may be at most %(max)s characters.") % {"max": NOTE_LENGTH})
    if required and not note:
        raise StockError(_("Say why the units are written off."))
    return note


def _label(product: Product, warehouse: Warehouse) -> str:
    return f"{product.sku} @ {warehouse.code}"


def _count_refusal(stock: Stock, counted: int) -> str:
    return _(
        "%(row)s: a count of %(counted)s is below the %(reserved)s units reserved for placed orders. "
        "Count again, or cancel orders first."
    ) % {"row": _label(stock.product, stock.warehouse), "counted": counted, "reserved": stock.reserved}


def _write_off_refusal(stock: Stock, quantity: int) -> str:
    return _(
        "%(row)s: only %(free)s units are free (%(reserved)s of %(on_hand)s are reserved for orders), "
        "so %(quantity)s cannot be written off."
    ) % {
        "row": _label(stock.product, stock.warehouse),
        "free": stock.available,
        "reserved": stock.reserved,
        "on_hand": stock.on_hand,
        "quantity": quantity,
    }


def check_count(*, stock: Stock, counted: int) -> None:
    """Raise StockError if a count may not be recorded against ``stock`` as it was read (for a form's errors).

    Only a hint: the service decides under the row lock, where the numbers may have moved.
    """
    if counted < stock.reserved:
        raise StockError(_count_refusal(stock, counted))


def check_write_off(*, stock: Stock, quantity: int) -> None:
    """Raise StockError if ``quantity`` may not be written off ``stock`` as it was read (a hint, like check_count)."""
    if stock.on_hand - quantity < stock.reserved:
        raise StockError(_write_off_refusal(stock, quantity))


# --- locking ---------------------------------------------------------------------------


def lock_stock(*, pairs: Iterable[tuple[int, int]]) -> dict[tuple[int, int], Stock]:
    """Lock the existing Stock rows of ``(product_id, warehouse_id)`` pairs in primary-key order.

    Inside the caller's transaction.  Primary-key order is the order placement
    locks in, so an import touching many rows and an order touching a few
    queue behind each other instead of deadlocking.
    """
    pairs = set(pairs)
    if not pairs:
        return {}
    rows = (
        Stock.objects.select_for_update(of=("self",))
        .select_related("product", "warehouse")
        .filter(product_id__in={p for p, _ in pairs}, warehouse_id__in={w for _, w in pairs})
        .order_by("pk")
    )
    return {(s.product_id, s.warehouse_id): s for s in rows if (s.product_id, s.warehouse_id) in pairs}


def _locked_row(product: Product, warehouse: Warehouse, *, create: bool) -> Stock | None:
    if create:
        # A concurrent first receipt of the same pair: get_or_create retries the read after the unique constraint.
        Stock.objects.get_or_create(product=product, warehouse=warehouse)
    return lock_stock(pairs=[(product.pk, warehouse.pk)]).get((product.pk, warehouse.pk))


def _move(stock: Stock, *, kind: str, on_hand_delta: int, actor, note: str, refusal=None) -> StockChange:
    """Move on hand by ``on_hand_delta`` unless that leaves fewer than are reserved (then StockError(refusal())).

    The WHERE is the rule (reserved units stay on hand); the lock only makes the delta of a count exact.
    """
    moved = Stock.objects.filter(pk=stock.pk, on_hand__gte=F("reserved") - on_hand_delta).update(
        on_hand=F("on_hand") + on_hand_delta
    )
    if moved != 1:
        raise StockError(refusal() if refusal else _("%(row)s changed meanwhile; try again.") % {"row": stock})
    stock.on_hand += on_hand_delta
    movement = StockMovement.objects.create(
        product_id=stock.product_id,
        warehouse_id=stock.warehouse_id,
        kind=kind,
        on_hand_delta=on_hand_delta,
        reserved_delta=0,
        actor=actor,
        note=note,
    )
    return StockChange(stock=stock, movement=movement)


# --- the services ----------------------------------------------------------------------


def receive_stock(*, product: Product, warehouse: Warehouse, quantity: int, actor, note: str = "") -> StockChange:
    """Goods in at ``warehouse``: ``quantity`` (> 0) more on hand; the Stock row is created if there is none."""
    quantity = _whole(quantity, name=_("quantity received"), minimum=1)
    note = _note(note)
    with transaction.atomic():
        stock = _locked_row(product, warehouse, create=True)
        return _move(stock, kind=Kind.RECEIVED, on_hand_delta=quantity, actor=actor, note=note)


def count_stock(*, product: Product, warehouse: Warehouse, counted: int, actor, note: str = "") -> StockChange:
    """A stock-take: ``counted`` units are on the shelf, so on hand moves by counted − on hand.

    The difference is taken under the row lock, so units reserved or shipped a
    moment before are not lost.  Refused when fewer are counted than orders
    hold reserved.  A count that matches is recorded too (with a zero change).
    """
    counted = _whole(counted, name=_("count"), minimum=0)
    note = _note(note)
    with transaction.atomic():
        stock = _locked_row(product, warehouse, create=True)
        return _move(
            stock,
            kind=Kind.COUNTED,
            on_hand_delta=counted - stock.on_hand,
            actor=actor,
            note=note,
            refusal=lambda: _count_refusal(stock, counted),
        )


def write_off_stock(*, product: Product, warehouse: Warehouse, quantity: int, actor, note: str) -> StockChange:
    """Damaged, lost or expired: ``quantity`` fewer on hand, never below what orders hold reserved; a note is required."""
    quantity = _whole(quantity, name=_("quantity written off"), minimum=1)
    note = _note(note, required=True)
    with transaction.atomic():
        stock = _locked_row(product, warehouse, create=False)
        if stock is None:
            raise StockError(_("%(row)s holds no stock to write off.") % {"row": _label(product, warehouse)})
        return _move(
            stock,
            kind=Kind.WRITTEN_OFF,
            on_hand_delta=-quantity,
            actor=actor,
            note=note,
            refusal=lambda: _write_off_refusal(stock, quantity),
        )


def _move_quarantine(stock: Stock, *, kind: str, quantity: int, to_shelf: bool, actor, note: str) -> StockChange:
    moved = Stock.objects.filter(pk=stock.pk, quarantined__gte=quantity).update(
        quarantined=F("quarantined") - quantity, on_hand=F("on_hand") + (quantity if to_shelf else 0)
    )
    if not moved:
        raise StockError(
            _("%(label)s has %(count)s units in quarantine.")
            % {"label": _label(stock.product, stock.warehouse), "count": stock.quarantined}
        )
    stock.refresh_from_db(fields=["on_hand", "reserved", "quarantined"])
    movement = StockMovement.objects.create(
        product_id=stock.product_id,
        warehouse_id=stock.warehouse_id,
        kind=kind,
        on_hand_delta=quantity if to_shelf else 0,
        quarantined_delta=-quantity,
        actor=actor,
        note=note,
    )
    return StockChange(stock=stock, movement=movement)


def release_from_quarantine(*, product: Product, warehouse: Warehouse, quantity: int, actor, note: str) -> StockChange:
    """Damaged goods inspected and found sellable: from quarantine back on the shelf (on hand)."""
    return _out_of_quarantine(product, warehouse, quantity, actor=actor, note=note, to_shelf=True)


def write_off_from_quarantine(
    *, product: Product, warehouse: Warehouse, quantity: int, actor, note: str
) -> StockChange:
    """Damaged goods that cannot be sold: out of quarantine for good."""
    return _out_of_quarantine(product, warehouse, quantity, actor=actor, note=note, to_shelf=False)


def _out_of_quarantine(product, warehouse, quantity, *, actor, note: str, to_shelf: bool) -> StockChange:
    quantity = _whole(quantity, name=_("quantity"), minimum=1)
    note = _note(note, required=True)
    kind = Kind.RELEASED_FROM_QUARANTINE if to_shelf else Kind.WRITTEN_OFF_FROM_QUARANTINE
    with transaction.atomic():
        stock = _locked_row(product, warehouse, create=False)
        if stock is None:
            raise StockError(_("%(label)s has no stock row.") % {"label": _label(product, warehouse)})
        return _move_quarantine(stock, kind=kind, quantity=quantity, to_shelf=to_shelf, actor=actor, note=note)


# --- orders: what orders.stock_moves moves ---------------------------------------------


def shift_stock(*, quantities: dict[tuple[int, int], int], on_hand: int, reserved: int, quarantined: int = 0) -> None:
    """Move each (product_id, warehouse_id) row of ``quantities`` by quantity × (on_hand, reserved) per unit.

    For the orders (placing, cancelling, shipping, returning): inside the
    caller's transaction, which records the movements.  One UPDATE per row,
    rows locked in primary-key order; the CHECK constraint (reserved <= on_hand,
    neither negative) refuses anything impossible.
    """
    for pair, stock in lock_stock(pairs=quantities).items():  # locked in primary-key order
        qty = quantities[pair]
        Stock.objects.filter(pk=stock.pk).update(
            on_hand=F("on_hand") + on_hand * qty,
            reserved=F("reserved") + reserved * qty,
            quarantined=F("quarantined") + quarantined * qty,
        )


# --- reading the record -------------------------------------------------------------------


def stock_from_movements(
    *, product_ids: Iterable[int] | None = None, warehouse_ids: Iterable[int] | None = None
) -> dict[tuple[int, int], StockLevel]:
    """On hand and reserved of each (product_id, warehouse_id), re-derived from the movements alone."""
    movements = StockMovement.objects.all()
    if product_ids is not None:
        movements = movements.filter(product_id__in=list(product_ids))
    if warehouse_ids is not None:
        movements = movements.filter(warehouse_id__in=list(warehouse_ids))
    sums = (
        movements.values("product_id", "warehouse_id")
        .annotate(on_hand=Sum("on_hand_delta"), reserved=Sum("reserved_delta"), quarantined=Sum("quarantined_delta"))
        .order_by()
    )
    return {
        (s["product_id"], s["warehouse_id"]): StockLevel(s["on_hand"], s["reserved"], s["quarantined"]) for s in sums
    }


def stock_mismatches(*, warehouse_ids: Iterable[int] | None = None) -> list[tuple[Stock, StockLevel]]:
    """The Stock rows that differ from the sum of their movements, with what the movements say (empty: all agree)."""
    rows = Stock.objects.select_related("product", "warehouse").order_by("pk")
    if warehouse_ids is not None:
        warehouse_ids = list(warehouse_ids)
        rows = rows.filter(warehouse_id__in=warehouse_ids)
    derived = stock_from_movements(warehouse_ids=warehouse_ids)
    mismatches = []
    for stock in rows:
        level = derived.get((stock.product_id, stock.warehouse_id), StockLevel(0, 0))
        if (stock.on_hand, stock.reserved, stock.quarantined) != (level.on_hand, level.reserved, level.quarantined):
            mismatches.append((stock, level))
    return mismatches
