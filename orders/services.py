"""Every write to orders: the status transitions of the life cycle, and placement's entry point.

Each entry point owns its transaction.  Status changes go through
``transition`` (a conditional UPDATE and its OrderEvent in one transaction);
stock moves with F() expressions on rows locked in primary-key order.
"""

import secrets
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money
from catalog.models import Stock, StockMovement
from partners.models import ServiceCenter
from ruralshop.lookups import in_ids  # and field__any_of (registered on import)

from . import commissions, consent, payments, selectors
from . import stock_moves as stock_ledger
from .errors import (
    CreditLimitReached,
    IdempotencyConflict,
    InsufficientStock,
    InvalidTransition,
    InvalidTransitionOf,
    OrderError,
    PaymentRequired,
    PriceChanged,
    PricedLine,
    ShortLine,
    WrongPickupCode,
)
from .models import Order, OrderEvent, Refund
from .placement import MAX_LINES, MAX_QUANTITY, LineRequest, Placement, new_order_number, place_order
from .sms import tell_villagers

# The orders app's entry points: the transitions here, placement and the refusals re-exported for callers.
__all__ = [
    "MAX_LINES",
    "MAX_QUANTITY",
    "TRANSITIONS",
    "IdempotencyConflict",
    "InsufficientStock",
    "InvalidTransition",
    "InvalidTransitionOf",
    "LineRequest",
    "OrderError",
    "PaymentRequired",
    "Placement",
    "PriceChanged",
    "PricedLine",
    "ShortLine",
    "WrongPickupCode",
    "new_order_number",
    "place_order",
]

S = Order.Status
K = StockMovement.Kind

# Sent inside ``transition_many``'s transaction, once per call: what an app above the orders keeps in step with
# an order's status listens here (installations: an order called off, going back or in exception gives its
# appointment up).  Receivers get ``order_ids``, ``from_status`` and ``to``.
status_changed = Signal()

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
    (S.EXCEPTION, S.AT_STATION),  # its missing parcel turned up at the station before the county decided
    (S.AT_STATION, S.COLLECTED),
    (S.AT_STATION, S.GOING_BACK),  # refused, or not collected in time: back on a run's return leg
    (S.AT_STATION, S.EXCEPTION),  # its installation failed and the installer asked the county to decide
    (S.GOING_BACK, S.CANCELLED),  # received back at the warehouse (refunded if paid)
    (S.COLLECTED, S.RETURNED),  # every line returned (returns by line: orders.returns)
}


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
        moved = Order.objects.filter(pk__any_of=order_ids, status=from_status).update(
            status=to, updated_at=now, **fields
        )
        if moved != len(order_ids):
            raise InvalidTransitionOf(from_status, to, stale=len(order_ids) - moved)
        _record_events(order_ids, from_status=from_status, to=to, actor=actor, note=note, at=now)
        status_changed.send(sender=Order, order_ids=order_ids, from_status=from_status, to=to)
    return moved


def _record_events(order_ids: list[int], *, from_status: str, to: str, actor, note: str, at) -> None:
    """One event per order, written by the database from the order rows (INSERT ... SELECT): the planner moves
    thousands of orders a day, and building an object per event cost more than the database spent writing it."""
    event, order = OrderEvent._meta.db_table, Order._meta.db_table
    ids, id_params = in_ids("id", order_ids, connection)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {event} (order_id, from_status, to_status, actor_id, note, created_at) "  # noqa: S608
            f"SELECT id, %s, %s, %s, %s, %s FROM {order} WHERE {ids} ORDER BY id",  # table names, no input
            [from_status, to, getattr(actor, "pk", None), note[:500], connection.ops.adapt_datetimefield_value(at)]
            + id_params,
        )


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
            tell_villagers(list(orders), template="order_arrived")
    return moved


def report_missing_or_damaged(order_ids: list[int], *, actor=None, note: str = "") -> int:
    """Parcels that did not reach the station whole: their orders wait for the county's decision (exception)."""
    try:
        return transition_many(order_ids, from_status=S.IN_TRANSIT, to=S.EXCEPTION, actor=actor, note=note)
    except InvalidTransition:
        raise OrderError(_("Only an order in transit can have a missing or damaged parcel.")) from None


def found_at_station(order_ids: list[int], *, actor=None, note: str = "") -> int:
    """A parcel marked missing turned up at the station while its order waited for the county: the order is at
    the station after all, and the villager is told (the units left the warehouse with that parcel)."""
    with transaction.atomic():
        try:
            moved = transition_many(order_ids, from_status=S.EXCEPTION, to=S.AT_STATION, actor=actor, note=note)
        except InvalidTransition:
            raise OrderError(_("Only an order waiting for the county's decision can be received as found.")) from None
        orders = Order.objects.filter(pk__in=order_ids).select_related("villager", "service_center")
        tell_villagers(list(orders), template="order_arrived")
    return moved


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
            if not stock_ledger.reserve_free(stock_id=row.pk, quantity=lines[row.product_id].quantity):
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
        # The villager is told the goods come later (a phone and consent needed, as for every text).
        tell_villagers(
            [Order.objects.select_related("villager", "service_center").get(pk=order.pk)],
            template="order_shipped_again",
        )
    return order


def cancel_exception(*, order: Order, actor, reason: str) -> Order:
    """The county resolves an exception by calling the order off (the goods are gone; nothing returns to stock)."""
    if order.status != S.EXCEPTION:
        raise InvalidTransition(order, S.CANCELLED)
    if not (reason or "").strip():
        raise OrderError(_("Say why the order is cancelled."))
    with transaction.atomic():
        transition(order, to=S.CANCELLED, actor=actor, note=reason)
        owe_refund(order=order, reason=reason)
    return order


def installation_failed(*, order: Order, actor, note: str) -> Order:
    """An installation failed at the villager's home and the installer asks the county to decide: the order is an
    exception (the county books it again, ships a new part, or calls it off).  The goods stay at the station."""
    if order.status != S.AT_STATION:
        raise InvalidTransition(order, S.EXCEPTION)
    return transition(order, to=S.EXCEPTION, actor=actor, note=note[:500])


def back_to_station(*, order: Order, actor, note: str = "") -> Order:
    """The county settles a failed installation's exception by booking it again: the goods never left the station,
    so the order is at the station once more and the station books a new appointment (no SMS: nothing arrived)."""
    if order.status != S.EXCEPTION:
        raise InvalidTransition(order, S.AT_STATION)
    if not selectors.is_failed_installation(order):
        raise OrderError(
            _("Only a failed installation is booked again: this order's parcel never reached the station.")
        )
    return transition(order, to=S.AT_STATION, actor=actor, note=note[:500] or _("to be installed again"))


# --- the other transitions -----------------------------------------------------


def confirm_payment(*, order: Order, actor, tender: payments.Tender | None = None, consent_code=None) -> Order:
    """Confirm an order for dispatch: its payment taken at the station, or pay on pickup agreed (nothing taken).

    Only with the villager's say (``consent``): ``consent_code`` is the code from their SMS or the number of
    the slip they signed, unless they agreed already by replying; a wrong or missing one refuses the whole step.

    Cash at the station: ``tender`` says how the villager paid (default: cash, exactly the total); a partial
    payment is refused, the change is ``order.change_given``, and the cash book records the sale.  Pay on
    pickup: allowed while the station's pay-on-pickup orders not yet paid stay within its limit; the order is
    paid at hand-over, in the same step (``hand_over``).  Only a placed order: the life cycle's other ways
    into ``confirmed`` (a run called off, the county shipping an exception again) are their services' to take.
    """
    if order.status != S.PLACED:
        raise InvalidTransition(order, S.CONFIRMED)
    agreed = consent.consent_fields(order, consent_code)
    now = timezone.now()
    with transaction.atomic():
        if order.payment_method == Order.PaymentMethod.PAY_ON_PICKUP:
            _check_credit(order)
            order = transition(order, to=S.CONFIRMED, actor=actor, confirmed_at=now, **agreed)
            order.change_given = Decimal("0.00")
        else:
            tender, change = payments.change_for(tender, order.total)
            order = transition(order, to=S.CONFIRMED, actor=actor, confirmed_at=now, paid_at=now, **agreed)
            _paid(order, tender=tender, change=change, actor=actor)
        if agreed:
            consent.announce(order)
    return order


def _paid(order: Order, *, tender: payments.Tender, change: Decimal, actor) -> None:
    order.change_given = change
    payments.payment_taken.send(
        sender=Order, order=order, amount=order.total, tender=tender, change=change, actor=actor
    )


OPEN_ON_CREDIT = (S.CONFIRMED, S.BATCHED, S.IN_TRANSIT, S.EXCEPTION, S.AT_STATION)


def open_on_credit(station) -> Decimal:
    """What the station's pay-on-pickup orders confirmed and not yet paid add up to (the villagers' credit)."""
    total = (
        Order.objects.filter(
            service_center=station,
            payment_method=Order.PaymentMethod.PAY_ON_PICKUP,
            paid_at__isnull=True,
            status__in=OPEN_ON_CREDIT,
        )
        .aggregate(total=Sum("total"))
        .get("total")
    )
    return money.to_fen(total or Decimal("0.00"))


def _check_credit(order: Order) -> None:
    """Refuse a pay-on-pickup order that would take the station past its limit, saying how much is open.

    The station's row is locked, so two confirmations at once cannot both slip under the limit.
    """
    station = ServiceCenter.objects.select_for_update().get(pk=order.service_center_id)
    open_now = open_on_credit(station)
    if open_now + order.total > station.pay_on_pickup_limit:
        raise CreditLimitReached(
            _(
                "Pay on pickup would go past the station's limit of ¥%(limit)s: ¥%(open)s is open already "
                "and this order is ¥%(total)s. Take the payment now, or wait until villagers collect and pay."
            )
            % {"limit": station.pay_on_pickup_limit, "open": open_now, "total": order.total}
        )


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
        owe_refund(order=order, reason=reason or _("cancelled"))
    return order


@dataclass(frozen=True)
class WithoutCode:
    """A hand-over without the pickup code (the villager lost it): why, and how their identity was checked."""

    reason: str
    id_check: str


def hand_over(
    *,
    order: Order,
    actor,
    pickup_code: str = "",
    payment_taken: bool = False,
    tender: payments.Tender | None = None,
    without_code: WithoutCode | None = None,
    by_installer: bool = False,
) -> Order:
    """The villager collects the goods against the pickup code they hold (their SMS, or their slip).

    An order with home installation is handed over at the villager's home, by the installer, once it is
    installed (``installations.services.installed``, with ``by_installer``): never across the counter.

    Without the code (``without_code``) only with a reason and a note of the ID check, and counted for the
    county.  A pay-on-pickup order is paid in the same step: ``tender`` (or ``payment_taken``: cash, exactly
    what is due) says the staff took the amount due, and without it the hand-over is refused; a partial
    payment is refused too.  The cash book records the sale.
    """
    if order.status != S.AT_STATION:
        raise InvalidTransition(order, S.COLLECTED)
    if order.delivery_method == Order.DeliveryMethod.HOME_INSTALLATION and not by_installer:
        raise OrderError(_("The installer hands these goods over at the villager's home, once they are installed."))
    codeless = {}
    if without_code is not None:
        reason, id_check = (without_code.reason or "").strip(), (without_code.id_check or "").strip()
        if not reason or not id_check:
            raise OrderError(
                _("Without the pickup code, say why and note how the villager's identity was checked (their ID card).")
            )
        codeless = {"collected_without_code": True, "handover_note": f"{reason} · {id_check}"[:300]}
    else:
        # A Chinese input method types full-width digits (１２３), which the form's \d accepts:
        # NFKC folds them to ASCII, and comparing bytes cannot raise on other scripts.
        given = unicodedata.normalize("NFKC", str(pickup_code)).strip()
        if not secrets.compare_digest(given.encode(), order.pickup_code.encode()):
            raise WrongPickupCode(_("The pickup code does not match this order."))
    due = amount_due_at_pickup(order)
    if due and not (payment_taken or tender is not None):
        raise PaymentRequired(
            _("Take ¥%(amount)s from the villager (pay on pickup) before handing the goods over.") % {"amount": due}
        )
    if due:
        tender, change = payments.change_for(tender, due)  # before anything moves: a partial payment is refused
    now = timezone.now()
    paid = {"paid_at": now} if due else {}
    with transaction.atomic():
        transition(
            order,
            to=S.COLLECTED,
            actor=actor,
            collected_at=now,
            note=codeless.get("handover_note", ""),
            **paid,
            **codeless,
        )
        if due:
            _paid(order, tender=tender, change=change, actor=actor)
        # Commission is earned now, when the villager has the goods, not at placement.
        commissions.post_accrual(order=order, actor=actor)
    return order


def owe_refund(*, order: Order, reason: str) -> Refund | None:
    """A paid order called off as a whole owes the villager what they paid, at the counter (once)."""
    if order.paid_at is None or order.total <= 0:
        return None
    refund, _created = Refund.objects.get_or_create(
        order=order, goods_return=None, defaults={"amount": order.total, "reason": reason[:500]}
    )
    return refund
