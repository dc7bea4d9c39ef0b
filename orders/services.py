"""Every write to orders: placement, the status transitions, stock movements and the SMS outbox.

Each entry point owns its transaction.  Status changes go through
``transition`` (a conditional UPDATE and its OrderEvent in one transaction);
stock moves with F() expressions on rows locked in primary-key order.
"""

import hashlib
import json
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money
from catalog import pricing as catalog_pricing
from catalog.models import Product, Stock, StockMovement
from notifications import services as notifications
from partners.models import ServiceCenter, Villager

from . import commissions, pricing
from . import stock_moves as stock_ledger
from .models import Order, OrderEvent, OrderLine

S = Order.Status
K = StockMovement.Kind

# (from, to): the order life cycle of the design, and nothing else.  An order is created placed
# (``place_order``): its first event reads draft -> placed, and no order is ever in draft.
TRANSITIONS = {
    (S.PLACED, S.CONFIRMED),
    (S.PLACED, S.CANCELLED),
    (S.CONFIRMED, S.CANCELLED),
    (S.CONFIRMED, S.BATCHED),
    (S.BATCHED, S.CONFIRMED),  # its planned batch was cancelled: back in the queue
    (S.BATCHED, S.IN_TRANSIT),
    (S.IN_TRANSIT, S.AT_STATION),
    (S.IN_TRANSIT, S.EXCEPTION),  # its parcel was missing or damaged at the station
    (S.EXCEPTION, S.CONFIRMED),  # the county ships it again (stock reserved anew)
    (S.EXCEPTION, S.CANCELLED),  # the county calls it off
    (S.AT_STATION, S.COLLECTED),
    (S.COLLECTED, S.RETURNED),
}

MAX_QUANTITY = 999  # per line: more than a station ever orders for one household
MAX_LINES = 50
PICKUP_CODE_DIGITS = 6
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
ORDER_NUMBER_LENGTH = 10  # random characters after the date
ORDER_NUMBER_ATTEMPTS = 5  # draws before a number collision is given up as a fault


class OrderError(Exception):
    """A domain rule refused the request; ``str(exc)`` is a message for the partner."""


class InvalidTransition(OrderError):
    def __init__(self, order: Order, to: str):
        self.order, self.to = order, to
        super().__init__(
            _("Order %(number)s is %(current)s and cannot become %(target)s.")
            % {"number": order.number, "current": S(order.status).label, "target": S(to).label}
        )


class InvalidTransitionOf(InvalidTransition):
    """The set-based refusal: some of the orders are no longer ``from_status`` (or the step does not exist)."""

    def __init__(self, from_status: str, to: str, *, stale: int = 0):
        self.from_status, self.to, self.stale = from_status, to, stale
        if stale:
            message = _("%(count)s of these orders are no longer %(current)s and cannot become %(target)s.") % {
                "count": stale,
                "current": S(from_status).label,
                "target": S(to).label,
            }
        else:
            message = _("An order that is %(current)s cannot become %(target)s.") % {
                "current": S(from_status).label,
                "target": S(to).label,
            }
        OrderError.__init__(self, message)


@dataclass(frozen=True)
class ShortLine:
    sku: str
    name: str
    requested: int
    available: int


class InsufficientStock(OrderError):
    def __init__(self, short: list[ShortLine]):
        self.short = short
        names = "; ".join(
            _("%(name)s: %(requested)s wanted, %(available)s available")
            % {"name": s.name, "requested": s.requested, "available": s.available}
            for s in short
        )
        super().__init__(_("Not enough stock at the county warehouse: %(lines)s.") % {"lines": names})


class IdempotencyConflict(OrderError):
    def __init__(self, order: Order):
        self.order = order
        super().__init__(
            _("This submission key was already used for order %(number)s with different contents.")
            % {"number": order.number}
        )


class WrongPickupCode(OrderError):
    pass


class PaymentRequired(OrderError):
    """A pay-on-pickup order is handed over only with its payment."""


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


@dataclass(frozen=True)
class Placement:
    order: Order
    created: bool  # False when the key was seen before and the first order is returned
    # The lines just written, with their products: what the caller needs to answer
    # without reading the order back.  Empty for a replay.
    lines: tuple[OrderLine, ...] = ()


# --- transitions -------------------------------------------------------------


def transition(order: Order, *, to: str, actor=None, note: str = "", **fields) -> Order:
    """Move one order to ``to`` if the life cycle allows it from its current status (``transition_many`` of one)."""
    current = order.status
    try:
        transition_many([order.pk], from_status=current, to=to, actor=actor, note=note, **fields)
    except InvalidTransition:
        order.refresh_from_db(fields=["status"])
        raise InvalidTransition(order, to) from None
    order.status = to
    for name, value in fields.items():
        setattr(order, name, value)
    return order


def transition_many(
    order_ids: list[int], *, from_status: str, to: str, actor=None, note: str = "", savepoint: bool = True, **fields
) -> int:
    """Move every order of ``order_ids`` from ``from_status`` to ``to``, or none of them.

    The one transition function, for one order and for many: a conditional
    UPDATE (``WHERE status = from_status``), so two clerks clicking at once
    cannot both succeed, and the events of the rows that moved, in one
    transaction of its own (a savepoint inside the caller's).  When not every
    row could move, nothing moves and InvalidTransition is raised: an event is
    never written for an order that did not change.  ``savepoint=False`` for
    a caller whose own transaction is rolled back whole on a refusal (the
    planner's batch): two statements fewer per batch.
    """
    if (from_status, to) not in TRANSITIONS:
        raise InvalidTransitionOf(from_status, to)
    order_ids = list(dict.fromkeys(order_ids))
    if not order_ids:
        return 0
    now = timezone.now()
    with transaction.atomic(savepoint=savepoint):
        moved = Order.objects.filter(pk__in=order_ids, status=from_status).update(status=to, updated_at=now, **fields)
        if moved != len(order_ids):
            raise InvalidTransitionOf(from_status, to, stale=len(order_ids) - moved)
        OrderEvent.objects.bulk_create(
            OrderEvent(order_id=pk, from_status=from_status, to_status=to, actor=actor, note=note[:500])
            for pk in order_ids
        )
    return moved


def depart_orders(order_ids: list[int], *, actor=None) -> int:
    """A batch left the warehouse: its orders go in transit and their units leave the stock."""
    with transaction.atomic():
        try:
            moved = transition_many(order_ids, from_status=S.BATCHED, to=S.IN_TRANSIT, actor=actor)
        except InvalidTransition:
            raise OrderError(_("Some orders of this batch are no longer waiting for departure.")) from None
        stock_ledger.move_stock_for_orders(order_ids=order_ids, kind=K.SHIPPED, actor=actor)
    return moved


def arrive_orders(order_ids: list[int], *, actor=None, notify: bool = True) -> int:
    """Parcels checked in at the station: the orders wait for pickup and the villagers get an SMS."""
    with transaction.atomic():
        try:
            moved = transition_many(order_ids, from_status=S.IN_TRANSIT, to=S.AT_STATION, actor=actor)
        except InvalidTransition:
            raise OrderError(_("Some of these orders are not in transit.")) from None
        if notify:
            orders = Order.objects.filter(pk__in=order_ids).select_related("villager", "service_center")
            _tell_villagers(list(orders), template="order_arrived")
    return moved


def report_missing_or_damaged(order_ids: list[int], *, actor=None, note: str = "") -> int:
    """Parcels that did not reach the station whole: their orders wait for the county's decision (exception)."""
    try:
        return transition_many(order_ids, from_status=S.IN_TRANSIT, to=S.EXCEPTION, actor=actor, note=note)
    except InvalidTransition:
        raise OrderError(_("Only an order in transit can have a missing or damaged parcel.")) from None


def ship_again(*, order: Order, actor, note: str = "") -> Order:
    """The county resolves an exception by sending the goods again: stock reserved anew, the order back in the queue.

    The first units left the warehouse with the lost (or broken) parcel, so a
    second set is reserved now, with the same conditional update as placement:
    when the warehouse no longer holds them the county is told and may cancel instead.
    """
    if order.status != S.EXCEPTION:
        raise InvalidTransition(order, S.CONFIRMED)
    with transaction.atomic():
        transition(order, to=S.CONFIRMED, actor=actor, note=note or _("shipped again"))
        lines = {line.product_id: line for line in order.lines.select_related("product")}
        short = []
        # In primary-key order of the stock rows, as placement reserves: no deadlock between the two.
        stocks = Stock.objects.filter(warehouse_id=order.warehouse_id, product_id__in=lines).order_by("pk")
        for row in stocks:
            if not _reserve(stock_id=row.pk, quantity=lines[row.product_id].quantity):
                short.append(row.product_id)
        unstocked = set(lines) - {row.product_id for row in stocks}
        if short or unstocked:
            fresh = {st.product_id: st.available for st in Stock.objects.filter(warehouse_id=order.warehouse_id)}
            raise InsufficientStock(
                [
                    ShortLine(line.product.sku, line.product.name, line.quantity, fresh.get(pid, 0))
                    for pid, line in lines.items()
                    if pid in short or pid in unstocked
                ]
            )
        stock_ledger.record_order_movements(order_ids=[order.pk], kind=K.RESERVED, actor=actor, note=note)
    return order


def cancel_exception(*, order: Order, actor, reason: str) -> Order:
    """The county resolves an exception by calling the order off (the goods are gone; nothing returns to stock)."""
    if order.status != S.EXCEPTION:
        raise InvalidTransition(order, S.CANCELLED)
    if not (reason or "").strip():
        raise OrderError(_("Say why the order is cancelled."))
    return transition(order, to=S.CANCELLED, actor=actor, note=reason)


# --- placement -----------------------------------------------------------------


def _request_hash(*, villager_id: int, lines: list[LineRequest], delivery_method: str, payment_method: str, notes: str):
    body = {
        "villager": villager_id,
        "lines": sorted([line.sku, line.quantity] for line in lines),
        "delivery_method": delivery_method,
        "payment_method": payment_method,
        "notes": notes,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _replay(*, station: ServiceCenter, key: str, request_hash: str) -> Placement | None:
    first = Order.objects.filter(service_center=station, idempotency_key=key).first()
    if first is None:
        return None
    if first.request_hash != request_hash:
        raise IdempotencyConflict(first)
    return Placement(order=first, created=False)


def _merge_lines(lines: list[LineRequest]) -> list[LineRequest]:
    merged: dict[str, int] = {}
    for line in lines:
        sku = line.sku.strip()
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool) or line.quantity < 1:
            raise OrderError(_("The quantity of %(sku)s must be a whole number of at least 1.") % {"sku": sku})
        merged[sku] = merged.get(sku, 0) + line.quantity
    for sku, qty in merged.items():
        if qty > MAX_QUANTITY:
            raise OrderError(_("At most %(max)s of %(sku)s in one order.") % {"max": MAX_QUANTITY, "sku": sku})
    return [LineRequest(sku, qty) for sku, qty in merged.items()]


def _short_lines(lines: list[LineRequest], products: dict, stocks: dict) -> list[ShortLine]:
    short = []
    for line in lines:
        product = products[line.sku]
        stock = stocks.get(product.pk)
        available = stock.available if stock else 0
        if available < line.quantity:
            short.append(ShortLine(line.sku, product.name, line.quantity, available))
    return short


def _reserve(*, stock_id: int, quantity: int) -> bool:
    """Reserve ``quantity`` units if that many are free; False (nothing changed) otherwise.

    Plain SQL because it runs for every line of every order: the ORM spends
    more CPU building this UPDATE than the database spends running it.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Stock._meta.db_table} SET reserved = reserved + %s "  # noqa: S608 - a table name, no input
            "WHERE id = %s AND on_hand >= reserved + %s",
            [quantity, stock_id, quantity],
        )
        return cursor.rowcount == 1


def new_order_number() -> str:
    """``YYMMDD-XXXXX-XXXXX``: the day, then 10 characters of a 32-letter alphabet (50 random bits).

    At 1.5 million orders a day the chance that a day sees any collision is
    about 1 in 1,000 (n²/2N with N = 32¹⁰); the one that happens is caught by the unique
    constraint and placement draws again.  Read out over the phone in two groups of five.
    """
    day = timezone.localdate().strftime("%y%m%d")
    letters = "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(ORDER_NUMBER_LENGTH))
    return f"{day}-{letters[:5]}-{letters[5:]}"


def place_order(
    *,
    station: ServiceCenter,
    villager: Villager,
    placed_by,
    lines: list[LineRequest],
    delivery_method: str,
    payment_method: str,
    idempotency_key: str,
    notes: str = "",
    notify: bool = True,
) -> Placement:
    """Place an order for a villager: reserve stock, freeze prices and commission, issue a pickup code.

    Idempotent per station and key: the same key returns the first order; the
    same key with a different body raises IdempotencyConflict.  Not enough
    stock on any line refuses the whole order (InsufficientStock names the
    short lines).
    """
    if villager.service_center_id != station.pk:
        raise OrderError(_("This villager is not registered at your station."))
    if station.status != ServiceCenter.Status.ACTIVE:
        raise OrderError(_("Your station is not active and cannot place orders."))
    if not idempotency_key or len(idempotency_key) > 64:
        raise OrderError(_("A submission key of 1 to 64 characters is required."))
    if delivery_method not in Order.DeliveryMethod.values:
        raise OrderError(_("Choose a delivery method."))
    if payment_method not in Order.PaymentMethod.values:
        raise OrderError(_("Choose a payment method."))
    if not lines:
        raise OrderError(_("Add at least one product."))
    if len(lines) > MAX_LINES:
        raise OrderError(_("At most %(max)s products in one order.") % {"max": MAX_LINES})
    lines = _merge_lines(lines)
    notes = (notes or "").strip()
    request_hash = _request_hash(
        villager_id=villager.pk,
        lines=lines,
        delivery_method=delivery_method,
        payment_method=payment_method,
        notes=notes,
    )
    # A key seen before is looked up only when placing fails: the unique
    # constraint on (station, key) is the check, which saves a query on every
    # new order.  Whatever refused this request (the constraint, stock the first
    # submission reserved, a product withdrawn since), a replay of the first
    # order wins, or a different body under the same key is refused.
    for attempt in range(ORDER_NUMBER_ATTEMPTS):
        number = new_order_number()
        try:
            return _place_new(
                station=station,
                villager=villager,
                placed_by=placed_by,
                lines=lines,
                delivery_method=delivery_method,
                payment_method=payment_method,
                idempotency_key=idempotency_key,
                request_hash=request_hash,
                notes=notes,
                notify=notify,
                number=number,
            )
        except (IntegrityError, OrderError) as exc:
            replay = _replay(station=station, key=idempotency_key, request_hash=request_hash)
            if replay:
                return replay
            # Not a replay: the other unique value of an order is its number.  Another order
            # drew it (rare, see new_order_number): draw again, in a new transaction.
            if isinstance(exc, IntegrityError) and attempt + 1 < ORDER_NUMBER_ATTEMPTS:
                if Order.objects.filter(number=number).exists():
                    continue
            raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


def _place_new(
    *,
    station: ServiceCenter,
    villager: Villager,
    placed_by,
    lines: list[LineRequest],
    delivery_method: str,
    payment_method: str,
    idempotency_key: str,
    request_hash: str,
    notes: str,
    notify: bool,
    number: str,
) -> Placement:
    warehouse = station.warehouse
    if warehouse is None:
        raise OrderError(_("Your county has no warehouse yet, so orders cannot be placed."))
    skus = [line.sku for line in lines]
    # The products and what the county warehouse holds of them, in one query;
    # a product never stocked there (rare) is looked up on its own.  Unlocked:
    # an obviously short order is refused here without opening a transaction.
    products: dict[str, Product] = {}
    stocks: dict[int, Stock] = {}
    for stock in Stock.objects.select_related("product__seller").filter(warehouse=warehouse, product__sku__in=skus):
        products[stock.product.sku] = stock.product
        stocks[stock.product_id] = stock
    if len(products) < len(skus):
        missing = [sku for sku in skus if sku not in products]
        products.update({p.sku: p for p in Product.objects.select_related("seller").filter(sku__in=missing)})
    unknown = [sku for sku in skus if sku not in products or not products[sku].is_active]
    if unknown:
        raise OrderError(_("Not for sale: %(skus)s.") % {"skus": ", ".join(unknown)})
    if delivery_method == Order.DeliveryMethod.HOME_INSTALLATION and not any(
        p.needs_installation for p in products.values()
    ):
        raise OrderError(_("Home installation is only for products that need installing."))

    short = _short_lines(lines, products, stocks)
    if short:
        raise InsufficientStock(short)

    now = timezone.now()
    product_list = list(products.values())
    prices = catalog_pricing.unit_prices(product_list, at=now)
    rates = pricing.commission_rates(product_list, at=now)

    order_lines = []
    for line in lines:
        product = products[line.sku]
        total = money.line_total(prices[product.pk], line.quantity)
        order_lines.append(
            OrderLine(
                product=product,
                quantity=line.quantity,
                unit_price=prices[product.pk],
                line_total=total,
                commission_rate=rates[product.pk],
                commission_amount=money.percent_of(total, rates[product.pk]),
            )
        )
    with transaction.atomic():
        order = Order.objects.create(
            number=number,
            service_center=station,
            villager=villager,
            placed_by=placed_by,
            warehouse=warehouse,
            status=S.PLACED,
            delivery_method=delivery_method,
            payment_method=payment_method,
            total=sum((ol.line_total for ol in order_lines), Decimal("0.00")),
            commission_total=sum((ol.commission_amount for ol in order_lines), Decimal("0.00")),
            item_count=sum(line.quantity for line in lines),
            weight_kg=sum((products[line.sku].weight_kg * line.quantity for line in lines), Decimal("0")),
            volume_m3=sum((products[line.sku].volume_m3 * line.quantity for line in lines), Decimal("0")),
            pickup_code=f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}",
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            notes=notes,
        )
        for ol in order_lines:
            ol.order = order
        OrderLine.objects.bulk_create(order_lines)
        OrderEvent.objects.create(order=order, from_status=S.DRAFT, to_status=S.PLACED, actor=placed_by)
        if notify:
            _tell_villagers([order], template="order_placed")
        # Reserve last, so the stock rows stay locked only from here to the
        # commit: a conditional F() update per line, in primary-key order
        # (two orders for the same products queue instead of deadlocking).
        # The WHERE is the check: no read-modify-write, no overselling.
        quantity_of = {products[line.sku].pk: line.quantity for line in lines}
        for stock in sorted(stocks.values(), key=lambda st: st.pk):
            qty = quantity_of[stock.product_id]
            if not _reserve(stock_id=stock.pk, quantity=qty):
                fresh = {st.product_id: st for st in Stock.objects.filter(pk__in=[x.pk for x in stocks.values()])}
                product = next(p for p in products.values() if p.pk == stock.product_id)
                # Another order took the units a moment ago; name at least this line.
                raise InsufficientStock(
                    _short_lines(lines, products, fresh)
                    or [ShortLine(product.sku, product.name, qty, fresh[stock.product_id].available)]
                )
        # The record of the reservation, from the lines in hand: one INSERT.
        StockMovement.objects.bulk_create(
            StockMovement(
                product_id=ol.product.pk,
                warehouse_id=warehouse.pk,
                order_id=order.pk,
                kind=K.RESERVED,
                reserved_delta=ol.quantity,
                actor=placed_by,
            )
            for ol in order_lines
        )
    return Placement(order=order, created=True, lines=tuple(order_lines))


# --- the other transitions -----------------------------------------------------


def confirm_payment(*, order: Order, actor) -> Order:
    """Confirm an order for dispatch: cash taken at the station, or pay on pickup agreed (nothing taken now).

    A pay-on-pickup order is paid at hand-over, in the same step (``hand_over``).
    Only a placed order: the life cycle's other ways into ``confirmed`` (a run
    called off, the county shipping an exception again) are their services' to take.
    """
    if order.status != S.PLACED:
        raise InvalidTransition(order, S.CONFIRMED)
    now = timezone.now()
    paid = {"paid_at": now} if order.payment_method == Order.PaymentMethod.CASH_AT_STATION else {}
    return transition(order, to=S.CONFIRMED, actor=actor, confirmed_at=now, **paid)


def amount_due_at_pickup(order: Order) -> Decimal:
    """What the villager pays when collecting: the total of a pay-on-pickup order not paid yet, else nothing."""
    if order.payment_method == Order.PaymentMethod.PAY_ON_PICKUP and order.paid_at is None:
        return order.total
    return Decimal("0.00")


def cancel_order(*, order: Order, actor, reason: str = "") -> Order:
    """Call an order off before it is batched; its reserved stock is released."""
    if order.status not in (S.PLACED, S.CONFIRMED):
        raise InvalidTransition(order, S.CANCELLED)
    with transaction.atomic():
        transition(order, to=S.CANCELLED, actor=actor, note=reason)
        stock_ledger.move_stock_for_orders(order_ids=[order.pk], kind=K.RELEASED, actor=actor, note=reason)
    return order


def hand_over(*, order: Order, actor, pickup_code: str, payment_taken: bool = False) -> Order:
    """The villager collects the goods against the pickup code printed on the receipt.

    A pay-on-pickup order is paid in the same step: ``payment_taken`` says the
    staff took the amount due, and without it the hand-over is refused.
    """
    if order.status != S.AT_STATION:
        raise InvalidTransition(order, S.COLLECTED)
    # A Chinese input method types full-width digits (１２３), which the form's \d accepts:
    # NFKC folds them to ASCII, and comparing bytes cannot raise on other scripts.
    given = unicodedata.normalize("NFKC", str(pickup_code)).strip()
    if not secrets.compare_digest(given.encode(), order.pickup_code.encode()):
        raise WrongPickupCode(_("The pickup code does not match this order."))
    due = amount_due_at_pickup(order)
    if due and not payment_taken:
        raise PaymentRequired(
            _("Take ¥%(amount)s from the villager (pay on pickup) before handing the goods over.") % {"amount": due}
        )
    now = timezone.now()
    paid = {"paid_at": now} if due else {}
    with transaction.atomic():
        transition(order, to=S.COLLECTED, actor=actor, collected_at=now, **paid)
        # Commission is earned now, when the villager has the goods, not at placement.
        commissions.post_accrual(order=order, actor=actor)
    return order


def return_deadline(order: Order):
    if order.collected_at is None:
        return None
    return order.collected_at + timedelta(days=settings.ORDER_RETURN_WINDOW_DAYS)


def return_order(*, order: Order, actor, reason: str) -> Order:
    """Take goods back within the return window; they go back into the warehouse stock."""
    if order.status != S.COLLECTED:
        raise InvalidTransition(order, S.RETURNED)
    if not reason.strip():
        raise OrderError(_("Say why the goods are returned."))
    deadline = return_deadline(order)
    if deadline and timezone.now() > deadline:
        raise OrderError(
            _("The return window of %(days)s days ended on %(date)s.")
            % {"days": settings.ORDER_RETURN_WINDOW_DAYS, "date": timezone.localtime(deadline).date().isoformat()}
        )
    with transaction.atomic():
        transition(order, to=S.RETURNED, actor=actor, note=reason)
        stock_ledger.move_stock_for_orders(order_ids=[order.pk], kind=K.RETURNED, actor=actor, note=reason)
        commissions.post_reversal(order=order, actor=actor, note=reason)
    return order


# --- notifications ---------------------------------------------------------------


def _tell_villagers(orders: list[Order], *, template: str) -> None:
    """Queue an SMS to each order's villager who has a phone and agreed to SMS (one INSERT, sent after commit)."""
    notifications.queue_sms(
        notifications.to_villager(
            order.villager,
            template=template,
            payload={"order": order.number, "pickup_code": order.pickup_code, "station": order.service_center.name},
            reference=order.number,
        )
        for order in orders
    )
