"""Placing an order for a villager: validate, price, write, reserve, in one transaction; safe to submit twice.

``services.place_order`` is the entry point callers use; this module is its
inside (the idempotency key, the order number, the conditional reservation).
"""

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog import money
from catalog import pricing as catalog_pricing
from catalog.models import Product, Stock, StockMovement
from partners.models import ServiceCenter, Villager

from . import pricing
from . import stock_moves as stock_ledger
from .errors import IdempotencyConflict, InsufficientStock, OrderError, PriceChanged, PricedLine, ShortLine
from .models import Order, OrderEvent, OrderLine
from .promise import promise_for
from .sms import ask_by_sms

S = Order.Status
K = StockMovement.Kind

MAX_QUANTITY = 999  # per line: more than a station ever orders for one household
MAX_LINES = 50
PICKUP_CODE_DIGITS = 6
CONSENT_CODE_DIGITS = 4  # the SMS code a villager reads out or sends back
SLIP_NUMBER_DIGITS = 6  # the signed slip's number (more digits: it is typed from paper, never guessed)
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read out over the phone
ORDER_NUMBER_LENGTH = 10  # random characters after the date
ORDER_NUMBER_ATTEMPTS = 5  # draws before a number collision is given up as a fault
# How far ahead of the server a device's clock may say an order was taken offline: a clock a few hours
# wrong is recorded as reported, one a day or more ahead is refused (a typo'd date, a clock set to next year).
TAKEN_AT_AHEAD = timedelta(days=1)


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


def _request_hash(*, villager_id: int, lines: list[LineRequest], delivery_method: str, payment_method: str, notes: str):
    body = {
        "villager": villager_id,
        "lines": sorted([line.sku, line.quantity] for line in lines),
        "delivery_method": delivery_method,
        "payment_method": payment_method,
        "notes": notes,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_taken_at(taken_at: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """When an order was taken offline, by the device's clock: recorded as reported (a clock hours wrong too),
    in UTC; refused when it has no time zone, or is more than ``TAKEN_AT_AHEAD`` ahead of the server."""
    if taken_at is None:
        return None
    if not isinstance(taken_at, datetime) or timezone.is_naive(taken_at):
        raise OrderError(_("Say when the order was taken with its time zone, such as 2026-05-01T09:30:00+08:00."))
    try:
        taken_at = taken_at.astimezone(UTC)
    except OverflowError:
        raise OrderError(_("The time the order was taken is out of range.")) from None
    if taken_at > (now or timezone.now()) + TAKEN_AT_AHEAD:
        raise OrderError(
            _(
                "The order cannot have been taken more than a day from now (%(taken_at)s): "
                "check the date and time of the device."
            )
            % {"taken_at": taken_at.isoformat()}
        )
    return taken_at


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
    expected_total: Decimal | None = None,
    taken_at: datetime | None = None,
) -> Placement:
    """Place an order for a villager: reserve stock, freeze prices and commission, issue a pickup code.

    Idempotent per station and key: the same key returns the first order; the
    same key with a different body raises IdempotencyConflict.  Not enough
    stock on any line refuses the whole order (InsufficientStock names the
    short lines).

    The offline counter's extras, neither of them part of the body the key stands for:
    ``expected_total`` is the total the partner showed the villager, and an order that
    costs anything else now is refused (PriceChanged, with today's prices; nothing placed),
    unless the key placed an order before (that order is returned); ``taken_at`` is when it
    was taken, by the device's clock, kept as ``taken_offline_at`` as reported.
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
    if delivery_method != Order.DeliveryMethod.STATION_PICKUP and not villager.address.strip():
        raise OrderError(
            _(
                "A home delivery needs the villager's address (the 组, a house number or a landmark): "
                "add it on their page, or choose pickup at the station."
            )
        )
    if (
        delivery_method == Order.DeliveryMethod.HOME_INSTALLATION
        and payment_method == Order.PaymentMethod.PAY_ON_PICKUP
    ):
        # The installer hands the goods over at the villager's home and takes no money there.
        raise OrderError(_("An order with home installation is paid at the station before it ships, not on pickup."))
    if not lines:
        raise OrderError(_("Add at least one product."))
    if len(lines) > MAX_LINES:
        raise OrderError(_("At most %(max)s products in one order.") % {"max": MAX_LINES})
    taken_at = check_taken_at(taken_at)
    if expected_total is not None:
        try:
            expected_total = money.to_fen(Decimal(str(expected_total)))
        except (InvalidOperation, TypeError, ValueError):
            raise OrderError(_("The expected total is an amount in yuan, such as 336.00.")) from None
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
                expected_total=expected_total,
                taken_at=taken_at,
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
    expected_total: Decimal | None = None,
    taken_at: datetime | None = None,
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
    order_total = sum((ol.line_total for ol in order_lines), Decimal("0.00"))
    if expected_total is not None and expected_total != order_total:
        # Before the transaction: nothing written, nothing reserved (place_order still returns the order
        # this key placed before, whatever it costs now).
        raise PriceChanged(
            expected_total=expected_total,
            total=order_total,
            lines=[PricedLine(ol.product.sku, ol.quantity, ol.unit_price, ol.line_total) for ol in order_lines],
        )
    # The villager's say: a code by SMS when their texts reach a phone, else the signed slip's number.
    via, digits = (
        (Order.ConsentVia.SMS, CONSENT_CODE_DIGITS)
        if villager.gets_sms
        else (Order.ConsentVia.SLIP, SLIP_NUMBER_DIGITS)
    )
    promised_on = promise_for(station, now)
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
            total=order_total,
            commission_total=sum((ol.commission_amount for ol in order_lines), Decimal("0.00")),
            item_count=sum(line.quantity for line in lines),
            weight_kg=sum((products[line.sku].weight_kg * line.quantity for line in lines), Decimal("0")),
            volume_m3=sum((products[line.sku].volume_m3 * line.quantity for line in lines), Decimal("0")),
            pickup_code=f"{secrets.randbelow(10**PICKUP_CODE_DIGITS):0{PICKUP_CODE_DIGITS}d}",
            idempotency_key=idempotency_key,
            request_hash=request_hash,
            notes=notes,
            consent_via=via,
            consent_code=f"{secrets.randbelow(10**digits):0{digits}d}",
            promised_on=promised_on,
            taken_offline_at=taken_at,
        )
        for ol in order_lines:
            ol.order = order
        OrderLine.objects.bulk_create(order_lines)
        OrderEvent.objects.create(order=order, from_status=S.DRAFT, to_status=S.PLACED, actor=placed_by)
        if notify and via == Order.ConsentVia.SMS:
            ask_by_sms([order])
        # Reserve last, so the stock rows stay locked only from here to the
        # commit: a conditional F() update per line, in primary-key order
        # (two orders for the same products queue instead of deadlocking).
        # The WHERE is the check: no read-modify-write, no overselling.
        quantity_of = {products[line.sku].pk: line.quantity for line in lines}
        for stock in sorted(stocks.values(), key=lambda st: st.pk):
            qty = quantity_of[stock.product_id]
            if not stock_ledger.reserve_free(stock_id=stock.pk, quantity=qty):
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
