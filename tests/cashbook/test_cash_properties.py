"""The cash book adds up to the fen, whatever the station does: a property test on the real database.

Hypothesis draws a day of a station: sales of orders with random lines and quantities (cash exact, cash with
change, a partial cash payment that must be refused, or a mobile payment), paid orders cancelled and their
refunds paid out, floats given and taken back, remittances and closes.  A small model follows the money in
Python; after every step the book is checked against it and against its own entries.  Each example runs in a
savepoint rolled back at its end, so every one starts from the same station.
"""

import itertools
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cashbook import selectors, services
from cashbook.models import CashEntry, DayClose, Remittance
from orders import payments, returns
from orders import services as order_services
from orders.models import Order, Refund
from tests.factories import ProductFactory, StockFactory

K = CashEntry.Kind
S = Order.Status
ZERO = Decimal("0.00")
FEN = Decimal("0.01")
PRICES = (Decimal("168.00"), Decimal("45.50"), Decimal("0.35"), Decimal("9.99"))


def fen(n: int) -> Decimal:
    return (Decimal(n) * FEN).quantize(FEN)


SALE = st.tuples(
    st.just("sale"),
    st.dictionaries(st.integers(0, len(PRICES) - 1), st.integers(1, 30), min_size=1, max_size=len(PRICES)),
    st.sampled_from(["exact", "change", "change", "partial", "mobile"]),
    st.integers(1, 50_000),  # the change, or what a partial payment is short, in fen
)
REFUND = st.tuples(st.just("refund"), st.integers(0, 1_000))  # which of the paid orders still confirmed
FLOAT = st.tuples(st.just("float"), st.integers(-100_000, 100_000).filter(bool))  # fen; negative: taken back
REMIT = st.tuples(st.just("remit"), st.integers(-1_000, 100_000))  # fen, off the drawer (more: refused)
CLOSE = st.tuples(st.just("close"), st.integers(-5_000, 5_000))  # fen: the count off the book
# a sale first, so that the refunds, remittances and closes after it have money to move
STEPS = st.tuples(SALE, st.lists(st.one_of(SALE, SALE, REFUND, FLOAT, REMIT, CLOSE), min_size=1, max_size=11)).map(
    lambda first_and_rest: [first_and_rest[0], *first_and_rest[1]]
)


@dataclass
class Model:
    drawer: Decimal = ZERO
    in_transit: Decimal = ZERO
    paid: dict = field(default_factory=dict)  # order pk -> (its total, counted line by line here; the method)
    refunded: dict = field(default_factory=dict)  # order pk -> refund amount paid out
    closes: int = 0


@pytest.fixture
def shop(station_a, warehouse_a):
    products = [
        ProductFactory(sku=f"P-{i}", name=f"货品{i}", price=price, weight_kg=Decimal("1.000"))
        for i, price in enumerate(PRICES)
    ]
    for product in products:
        StockFactory(product=product, warehouse=warehouse_a, on_hand=1_000_000)
    return products


KEYS = itertools.count()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)
@given(steps=STEPS)
def test_any_day_of_a_station_adds_up_to_the_fen(db, shop, station_a, villager_a, staff_a, county_manager, steps):
    with transaction.atomic():
        model = Model()
        for step in steps:
            do(step, model, shop=shop, station=station_a, villager=villager_a, staff=staff_a, county=county_manager)
            check(model, station_a)
        transaction.set_rollback(True)


def do(step, model: Model, *, shop, station, villager, staff, county) -> None:
    kind, *args = step
    if kind == "sale":
        lines, how, off = args
        sell(model, shop, station, villager, staff, lines, how, fen(off))
    elif kind == "refund":
        (which,) = args
        open_orders = sorted(pk for pk in model.paid if pk not in model.refunded)
        if not open_orders:
            return
        order = Order.objects.get(pk=open_orders[which % len(open_orders)])
        order_services.cancel_order(order=order, actor=staff, reason="不要了")
        refund = returns.pay_refund(refund=order.refunds.get(), actor=staff)
        model.refunded[order.pk] = refund.amount
        model.drawer -= refund.amount  # paid out of the drawer in cash, however the order was paid
    elif kind == "float":
        amount = fen(args[0])
        if amount < 0 and -amount > model.drawer:
            with pytest.raises(services.CashError, match="does not hold"):
                services.give_float(station=station, actor=county, amount=amount)
            return
        services.give_float(station=station, actor=county, amount=amount, note="零钱")
        model.drawer += amount
    elif kind == "remit":
        amount = model.drawer - fen(args[0])
        if amount <= 0 or amount > model.drawer:
            with pytest.raises(services.CashError):
                remit(station, staff, amount)
            return
        remit(station, staff, amount)
        model.drawer -= amount
        model.in_transit += amount
    elif kind == "close":
        counted = max(ZERO, model.drawer + fen(args[0]))
        day = timezone.localdate() - timedelta(days=model.closes)  # one close a day: today, then days before
        close = services.close_day(
            station=station, actor=staff, day=day, counted=counted, expected_shown=model.drawer, note="清点"
        )
        assert (close.expected, close.counted, close.difference) == (model.drawer, counted, counted - model.drawer)
        entry = CashEntry.objects.filter(close=close).first()
        assert (entry.amount if entry else ZERO) == close.difference
        model.closes += 1
        model.drawer = counted


def sell(model: Model, shop, station, villager, staff, lines: dict, how: str, off: Decimal) -> None:
    order = order_services.place_order(
        station=station,
        villager=villager,
        placed_by=staff,
        lines=[order_services.LineRequest(shop[i].sku, quantity) for i, quantity in sorted(lines.items())],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key=f"prop-{next(KEYS)}",
        notify=False,
    ).order
    total = sum((PRICES[i] * quantity for i, quantity in lines.items()), ZERO)
    assert order.total == total
    tender = {
        "exact": payments.Tender(),
        "change": payments.Tender(received=total + off),
        "partial": payments.Tender(received=total - off),
        "mobile": payments.Tender(method=payments.Method.MOBILE, reference=f"42000{order.pk}"),
    }[how]
    if how == "partial":
        with pytest.raises(payments.PartialPayment):
            order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff, tender=tender)
        assert Order.objects.get(pk=order.pk).status == S.PLACED and not order.cash_entries.exists()
        return
    order = order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff, tender=tender)
    assert order.change_given == (off if how == "change" else ZERO)
    method = payments.Method.MOBILE if how == "mobile" else payments.Method.CASH
    model.paid[order.pk] = (total, method)
    if method == payments.Method.CASH:
        model.drawer += total


def remit(station, staff, amount: Decimal) -> Remittance:
    return services.record_remittance(
        station=station, actor=staff, amount=amount, slip_number=f"S-{next(KEYS)}", handed_to="county"
    )


def check(model: Model, station) -> None:
    cash = CashEntry.objects.filter(station=station, method=payments.Method.CASH)
    entries_sum = sum(cash.values_list("amount", flat=True), ZERO)  # in Python: SQLite sums decimals as floats
    assert services.drawer(station) == entries_sum == model.drawer
    balance = services.balance(station)
    assert (balance.drawer, balance.in_transit, balance.shortfall) == (model.drawer, model.in_transit, ZERO)
    (row,) = selectors.county_cash([station.village.county])  # the county's page says the same, to the fen
    assert (str(row.drawer), str(row.in_transit)) == (str(model.drawer), str(model.in_transit))
    # each paid order has exactly one sale, of its total (as the model priced it), by the method it was paid
    paid = Order.objects.filter(service_center=station, paid_at__isnull=False)
    assert set(paid.values_list("pk", flat=True)) == set(model.paid)
    sales = {}
    for order_id, amount, method in CashEntry.objects.filter(kind=K.SALE).values_list("order_id", "amount", "method"):
        assert order_id not in sales, f"order {order_id} has two sales"
        sales[order_id] = (amount, method)
    assert sales == model.paid
    # each refund entry is minus its refund, and never more than the order paid
    refunds = list(CashEntry.objects.filter(kind=K.REFUND).select_related("refund"))
    assert {e.order_id: -e.amount for e in refunds} == model.refunded
    for entry in refunds:
        assert entry.amount == -entry.refund.amount and entry.refund.order_id == entry.order_id
        assert 0 < entry.refund.amount <= sales[entry.order_id][0]
    assert not Refund.objects.filter(paid_at__isnull=False, cash_entry__isnull=True).exists()
    # a sale by mobile payment is a sale, never cash in the drawer
    assert not CashEntry.objects.filter(method=payments.Method.MOBILE).exclude(kind=K.SALE).exists()
    assert DayClose.objects.filter(station=station).count() == model.closes
