"""The cash book under real concurrency: threads, each with its own PostgreSQL connection, released together.

Two staff taking the same payment, two closes of one day, two county confirmations of one slip, and payments
taken while a close is being made.  SQLite serialises every write transaction, so races there prove nothing;
these run on PostgreSQL only.
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone, translation

from cashbook import services
from cashbook.models import CashEntry, DayClose, Remittance
from catalog.models import Stock
from orders import payments, returns
from orders import services as order_services
from orders.models import Order, OrderEvent
from partners.models import ServiceCenter
from tests.conftest import requires_postgres
from tests.factories import CountyManagerFactory, StationStaffFactory, UserFactory
from tests.order_steps import arrive, depart
from tests.orders import test_concurrency

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

K = CashEntry.Kind
S = Order.Status
PAUSE = 1.0  # seconds a transaction is held open while the other party tries to get in


@pytest.fixture
def staff_a2(station_a):
    """A second partner of station A: two people at one counter."""
    return StationStaffFactory(user=UserFactory(username="dan"), service_center=station_a).user


@pytest.fixture
def place(place_at_a, fertilizer_stock):
    """Place an order of ``quantity`` bags (168.00 each) at station A, no SMS."""
    keys = iter(range(10_000))

    def place(quantity: int = 2, **kwargs) -> Order:
        return place_at_a((fertilizer_stock.product, quantity), key=f"c-{next(keys)}", notify=False, **kwargs).order

    return place


def fresh_station(station) -> ServiceCenter:
    return ServiceCenter.objects.get(pk=station.pk)


def today():
    return timezone.localdate()


def at_once(work, n: int) -> list:
    """``work(i)`` in ``n`` threads released together, each with its own connection, in English: a thread does not
    inherit the language the test activated, and the refusals are matched on their English text."""

    def in_english(i: int):
        with translation.override("en"):
            return work(i)

    return test_concurrency.at_once(in_english, n=n)


def refusals(outcomes) -> list:
    return [o for o in outcomes if isinstance(o, Exception)]


def assert_each_close_is_a_point_of_the_ledger(station) -> None:
    """Every close's expected cash is the sum of the cash entries before it in the ledger (created_at, pk), and
    its expected, plus the entries from its difference on, is the drawer re-derived from all the entries."""
    entries = list(CashEntry.objects.filter(station=station, method="cash").order_by("created_at", "pk"))
    drawer = services.drawer(station)
    assert drawer == sum((e.amount for e in entries), Decimal("0.00"))
    for close in DayClose.objects.filter(station=station):
        assert close.expected + close.difference == close.counted
        at = next(i for i, e in enumerate(entries) if e.close_id == close.pk)  # each close here has a difference
        before = sum((e.amount for e in entries[:at]), Decimal("0.00"))
        later = sum((e.amount for e in entries[at:]), Decimal("0.00"))
        assert before == close.expected, (
            f"close of {close.day}: expected {close.expected}, the entries before it {before}"
        )
        assert close.expected + later == drawer


# --- (a) one payment, taken by two staff at once ------------------------------------------------------------


def test_two_staff_taking_one_payment_at_once_take_it_once(place, station_a, staff_a, staff_a2):
    order = place()  # 336.00, cash at the station

    def take(i: int) -> Order:
        mine = Order.objects.get(pk=order.pk)  # each counter loaded the order page itself
        tender = payments.Tender(received=Decimal("400") if i == 0 else None)
        return order_services.confirm_payment(
            order=mine, consent_code=mine.consent_code, actor=(staff_a, staff_a2)[i], tender=tender
        )

    outcomes = at_once(take, n=2)

    refused = refusals(outcomes)
    assert len(refused) == 1 and isinstance(refused[0], order_services.InvalidTransition), outcomes
    sale = CashEntry.objects.get()
    assert (sale.kind, sale.amount, sale.order_id) == (K.SALE, Decimal("336.00"), order.pk)
    winner = next(o for o in outcomes if isinstance(o, Order))
    assert sale.created_by_id == OrderEvent.objects.get(order=order, to_status=S.CONFIRMED).actor_id
    assert (winner.change_given, sale.note) in ((Decimal("64.00"), "change ¥64.00"), (Decimal("0.00"), ""))
    order.refresh_from_db()
    assert order.status == S.CONFIRMED and order.paid_at is not None
    assert services.drawer(station_a) == Decimal("336.00")


def test_two_staff_handing_over_a_pay_on_pickup_order_at_once_take_its_payment_once(
    place, station_a, staff_a, staff_a2
):
    ServiceCenter.objects.filter(pk=station_a.pk).update(pay_on_pickup_limit=Decimal("1000.00"))
    order = place(payment_method="pay_on_pickup")
    order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)  # agreed, nothing taken
    order_services.transition(order, to=S.BATCHED, actor=staff_a)
    depart(order=order, actor=staff_a)
    arrive(order=order, actor=staff_a, notify=False)

    def hand_over(i: int) -> Order:
        mine = Order.objects.get(pk=order.pk)
        tender = payments.Tender(method="mobile", reference="4200009999") if i else payments.Tender(received="340")
        return order_services.hand_over(
            order=mine, actor=(staff_a, staff_a2)[i], pickup_code=mine.pickup_code, tender=tender
        )

    outcomes = at_once(hand_over, n=2)

    refused = refusals(outcomes)
    assert len(refused) == 1 and isinstance(refused[0], order_services.InvalidTransition), outcomes
    sale = CashEntry.objects.get()
    assert (sale.kind, sale.amount) == (K.SALE, Decimal("336.00"))
    order.refresh_from_db()
    assert order.status == S.COLLECTED and order.paid_at is not None
    assert order_services.open_on_credit(station_a) == Decimal("0.00")
    assert services.drawer(station_a) == (Decimal("336.00") if sale.method == "cash" else Decimal("0.00"))


# --- (b) one day, closed twice at once ----------------------------------------------------------------------


@pytest.fixture
def sold(place, staff_a) -> Order:
    """336.00 taken in cash at station A."""
    return order_services.confirm_payment(order=(placed := place()), consent_code=placed.consent_code, actor=staff_a)


@pytest.mark.parametrize("taps", [2, 8], ids=["two-staff", "eight-taps"])
def test_a_day_closed_by_several_at_once_is_closed_once(sold, station_a, staff_a, staff_a2, taps):
    counts = ["330.00", "336.00"]  # alice is ¥6 short, dan counts it right

    def close(i: int) -> DayClose:
        return services.close_day(
            station=fresh_station(station_a),
            actor=(staff_a, staff_a2)[i % 2],
            day=today(),
            counted=counts[i % 2],
            expected_shown="336.00",
        )

    outcomes = at_once(close, n=taps)

    refused = refusals(outcomes)
    assert len(refused) == taps - 1, outcomes
    assert all(isinstance(r, services.CashError) and "closed already" in str(r) for r in refused)
    close = DayClose.objects.get()
    assert close.expected == Decimal("336.00")
    differences = CashEntry.objects.filter(kind=K.DIFFERENCE)
    assert differences.count() == (1 if close.counted == Decimal("330.00") else 0)
    assert services.drawer(station_a) == close.counted  # the book says what the winner counted


# --- (c) one remittance, confirmed twice at once --------------------------------------------------------------


def test_two_county_confirmations_of_one_slip_at_once_confirm_it_once(sold, station_a, staff_a, county_manager):
    remittance = services.record_remittance(
        station=station_a, actor=staff_a, amount="300", slip_number="S-001", handed_to="driver", run_code="JD-R1"
    )
    deputy = CountyManagerFactory(user=UserFactory(username="erin"), county=station_a.village.county).user
    received = ["300.00", "290.00"]

    def confirm(i: int) -> Remittance:
        return services.confirm_remittance(
            remittance=Remittance.objects.get(pk=remittance.pk),
            actor=(county_manager, deputy)[i],
            received=received[i],
        )

    outcomes = at_once(confirm, n=2)

    refused = refusals(outcomes)
    assert len(refused) == 1 and isinstance(refused[0], services.CashError), outcomes
    assert "confirmed already" in str(refused[0])
    winner = next(o for o in outcomes if isinstance(o, Remittance))
    remittance.refresh_from_db()
    assert remittance.status == Remittance.Status.CONFIRMED
    assert (remittance.received_amount, remittance.confirmed_by_id) == (winner.received_amount, winner.confirmed_by_id)
    balance = services.balance(station_a)
    assert (balance.drawer, balance.in_transit) == (Decimal("36.00"), Decimal("0.00"))
    assert balance.shortfall == Decimal("300.00") - remittance.received_amount
    assert CashEntry.objects.filter(kind=K.REMITTANCE).count() == 1  # confirming writes no cash entry


# --- (d) payments taken while a close is being made ---------------------------------------------------------


@pytest.fixture
def float_given(station_a, county_manager):
    """¥100 of change money in the drawer, so the ledger has an entry before everything else."""
    return services.give_float(station=station_a, actor=county_manager, amount="100")


def test_a_sale_whose_transaction_is_open_holds_the_close_back(place, float_given, station_a, staff_a, staff_a2):
    order = place()
    sale_written, close_done = threading.Event(), threading.Event()
    seen = {}

    def hold(**kwargs):  # after the cash book's receiver: the sale entry is written, not committed yet
        sale_written.set()
        seen["close done while the sale was open"] = close_done.wait(PAUSE)

    payments.payment_taken.connect(hold, sender=Order, dispatch_uid="test-hold-sale", weak=False)
    try:

        def work(i: int):
            if i == 0:
                return order_services.confirm_payment(
                    order=Order.objects.get(pk=order.pk), consent_code=order.consent_code, actor=staff_a
                )
            assert sale_written.wait(10)
            try:
                return services.close_day(
                    station=fresh_station(station_a), actor=staff_a2, day=today(), counted="1.23", note="数错了"
                )
            finally:
                close_done.set()

        outcomes = at_once(work, n=2)
    finally:
        payments.payment_taken.disconnect(sender=Order, dispatch_uid="test-hold-sale")

    assert refusals(outcomes) == []
    assert seen == {"close done while the sale was open": False}  # the close waited for the sale
    assert DayClose.objects.get().expected == Decimal("436.00")  # the float and the sale
    assert_each_close_is_a_point_of_the_ledger(station_a)


def test_a_close_whose_transaction_is_open_holds_the_sale_back(
    place, float_given, station_a, staff_a, staff_a2, monkeypatch
):
    order = place()
    close_read, sale_done = threading.Event(), threading.Event()
    seen = {}
    preview_close = services.preview_close

    def hold(**kwargs):  # inside close_day's transaction: the station locked, the drawer read
        preview = preview_close(**kwargs)
        close_read.set()
        seen["sale done while the close was open"] = sale_done.wait(PAUSE)
        return preview

    monkeypatch.setattr(services, "preview_close", hold)

    def work(i: int):
        if i == 1:
            return services.close_day(
                station=fresh_station(station_a), actor=staff_a2, day=today(), counted="1.23", note="数错了"
            )
        assert close_read.wait(10)
        try:
            return order_services.confirm_payment(
                order=Order.objects.get(pk=order.pk), consent_code=order.consent_code, actor=staff_a
            )
        finally:
            sale_done.set()

    outcomes = at_once(work, n=2)

    assert refusals(outcomes) == []
    assert seen == {"sale done while the close was open": False}  # the sale waited for the close
    close = DayClose.objects.get()
    assert close.expected == Decimal("100.00")  # the float only: the sale came after the close
    assert_each_close_is_a_point_of_the_ledger(station_a)
    assert services.drawer(station_a) == Decimal("1.23") + Decimal("336.00")


ROUNDS = 3
PAYERS = 5


def test_payments_refunds_and_a_close_released_together_leave_each_close_a_point_of_the_ledger(
    place, float_given, station_a, staff_a, staff_a2, fertilizer_stock
):
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=1000)
    # each round closes an earlier day (a late close), so the rounds do not refuse one another
    for n in range(ROUNDS):
        orders = [place(quantity=1 + i % 3) for i in range(PAYERS)]
        paid_before = place()
        order_services.confirm_payment(order=paid_before, consent_code=paid_before.consent_code, actor=staff_a)
        order_services.cancel_order(order=paid_before, actor=staff_a, reason="不要了")
        refund = paid_before.refunds.get()
        day = today() - timedelta(days=ROUNDS - n)

        def work(i: int, orders=orders, refund=refund, day=day):
            if i < PAYERS:
                mine = Order.objects.get(pk=orders[i].pk)
                tender = payments.Tender(received=mine.total + i) if i % 2 else payments.Tender()
                return order_services.confirm_payment(
                    order=mine, consent_code=mine.consent_code, actor=(staff_a, staff_a2)[i % 2], tender=tender
                )
            if i == PAYERS:
                return returns.pay_refund(refund=refund, actor=staff_a2)
            return services.close_day(
                station=fresh_station(station_a), actor=staff_a, day=day, counted="0.01", note="round"
            )

        outcomes = at_once(work, n=PAYERS + 2)

        assert refusals(outcomes) == [], outcomes
    assert DayClose.objects.count() == ROUNDS
    sales = CashEntry.objects.filter(kind=K.SALE)
    assert sales.count() == ROUNDS * (PAYERS + 1)
    paid = Order.objects.filter(paid_at__isnull=False).aggregate(total=Sum("total"))["total"]
    assert sales.aggregate(total=Sum("amount"))["total"] == paid
    assert_each_close_is_a_point_of_the_ledger(station_a)
