"""Produce under real concurrency: threads, each with its own PostgreSQL connection, released together.

Two clerks paying one received lot to the villager's account, a cash payout racing an account payout of the same
lot (both at once, and one arriving while the other's transaction is open), and two runs of the daily overdue
check at once (beat twice, a retry).  SQLite serialises every write transaction, so races there prove nothing;
these run on PostgreSQL only.
"""

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from cashbook import services as cash
from cashbook.models import CashEntry
from notifications.models import Notification
from orders.models import CommissionEntry
from produce import services
from produce.models import ProduceLot
from tests.conftest import requires_postgres
from tests.factories import StationStaffFactory, UserFactory, VillagerFactory
from tests.logistics.conftest import local
from tests.orders import test_concurrency

pytestmark = [requires_postgres, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

S, V = ProduceLot.Status, ProduceLot.PaidVia
PAUSE = 1.0  # seconds the first party holds its transaction open while the other tries to get in


def at_once(work, n: int) -> list:
    """``work(i)`` in ``n`` threads released together, each with its own connection, in English (a thread does not
    inherit the test's language, and the refusals are matched on their English text)."""

    def in_english(i: int):
        with translation.override("en"):
            return work(i)

    return test_concurrency.at_once(in_english, n=n)


def refusals(outcomes) -> list:
    return [o for o in outcomes if isinstance(o, Exception)]


def payouts():
    return CashEntry.objects.filter(kind=CashEntry.Kind.PRODUCE_PAYOUT)


@pytest.fixture
def clerks(staff_a, station_a):
    """Two partners of station A, each at a counter."""
    return staff_a, StationStaffFactory(user=UserFactory(username="dan"), service_center=station_a).user


@pytest.fixture
def earning(eggs):
    """Eggs earn the partner 2.5%: ¥0.26 on the ¥10.20 lot."""
    eggs.commission_rate = Decimal("2.50")
    eggs.save()
    return eggs


def pay(received, actor, via: str, reference: str = "") -> ProduceLot:
    # each counter loaded the lot's page itself
    return services.pay_lot(
        lot=ProduceLot.objects.get(pk=received.pk), actor=actor, expected_value="10.20", via=via, reference=reference
    )


def assert_paid_once(received, outcomes, station) -> ProduceLot:
    """One payment won, every other was refused as paid already; one way, one commission, the drawer to match."""
    refused = refusals(outcomes)
    assert len(refused) == len(outcomes) - 1, outcomes
    assert all(isinstance(r, services.ProduceError) and "is paid" in str(r) for r in refused), refused
    (winner,) = [o for o in outcomes if isinstance(o, ProduceLot)]
    lot = ProduceLot.objects.get(pk=received.pk)
    assert lot.status == S.PAID
    assert (lot.paid_via, lot.payment_reference, lot.paid_by_id) == (
        winner.paid_via,
        winner.payment_reference,
        winner.paid_by_id,
    )
    commission = CommissionEntry.objects.get(kind="produce", produce_lot=lot.number)
    assert commission.amount == Decimal("0.26")
    if lot.paid_via == V.CASH:
        assert payouts().get().amount == Decimal("-10.20")
        assert cash.drawer(station) == Decimal("-10.20")
    else:
        assert not CashEntry.objects.exists()  # the drawer did not pay it
        assert cash.drawer(station) == Decimal("0.00")
    return lot


# --- one lot, paid by several at once ---------------------------------------------------------------------


@pytest.mark.parametrize("taps", [2, 6], ids=["two-clerks", "six-taps"])
def test_account_payouts_of_one_lot_at_once_pay_it_once(earning, received, clerks, station_a, taps):
    def work(i: int) -> ProduceLot:
        return pay(received, clerks[i % 2], V.ACCOUNT, reference=f"4200000000{i:04d}")

    outcomes = at_once(work, n=taps)

    lot = assert_paid_once(received, outcomes, station_a)
    assert lot.paid_via == V.ACCOUNT and lot.payment_reference.startswith("4200000000")


def test_a_cash_payout_racing_an_account_payout_of_one_lot_pays_it_once(earning, received, clerks, station_a):
    def work(i: int) -> ProduceLot:
        return pay(received, clerks[i], (V.CASH, V.ACCOUNT)[i], reference="WX-2026-0001")

    outcomes = at_once(work, n=2)

    assert_paid_once(received, outcomes, station_a)


@pytest.mark.parametrize("first", [V.CASH, V.ACCOUNT])
def test_a_payout_arriving_while_the_other_ones_transaction_is_open_is_refused(
    earning, received, clerks, station_a, monkeypatch, first
):
    """The first payout has moved the lot and written its money, not committed yet; the second, the other way,
    comes in then: it waits for the first, finds the lot paid, and writes nothing."""
    second = V.ACCOUNT if first == V.CASH else V.CASH
    written, second_done = threading.Event(), threading.Event()
    seen = {}
    earn = services._earn

    def hold(lot, *, actor):  # inside pay_lot's transaction: the lot paid, its payout and commission written
        earn(lot, actor=actor)
        if actor == clerks[0]:
            written.set()
            seen["second done while the first was open"] = second_done.wait(PAUSE)

    monkeypatch.setattr(services, "_earn", hold)

    def work(i: int) -> ProduceLot:
        if i == 0:
            return pay(received, clerks[0], first, reference="WX-FIRST")
        assert written.wait(10)
        try:
            return pay(received, clerks[1], second, reference="WX-SECOND")
        finally:
            second_done.set()

    outcomes = at_once(work, n=2)

    assert seen == {"second done while the first was open": False}  # the second waited for the first
    assert isinstance(outcomes[0], ProduceLot) and isinstance(outcomes[1], services.ProduceError), outcomes
    lot = assert_paid_once(received, outcomes, station_a)
    assert lot.paid_via == first and lot.paid_by_id == clerks[0].pk


# --- the daily overdue check, run twice at once -------------------------------------------------------------


@pytest.fixture
def overdue_lots(station_a, station_a2, villager_a, eggs, staff_a, county_manager, tomorrow):
    """Three lots at station A and two at A2 (each station with a phone), accepted and never received."""
    station_a.phone, station_a2.phone = "+8613800000001", "+8613800000002"
    station_a.save()
    station_a2.save()
    villager_a2 = VillagerFactory(service_center=station_a2, name="陈明", phone="+8613800000099")
    lots = []
    for station, villager, n in ((station_a, villager_a, 3), (station_a2, villager_a2, 2)):
        for _ in range(n):
            lot = services.list_lot(
                station=station,
                villager=villager,
                kind=eggs,
                quantity="120",
                grade="一级",
                price_asked="0.90",
                ready_on=tomorrow,
                actor=staff_a,
            )
            lots.append(services.accept_lot(lot=lot, price="0.85", actor=county_manager))
    return lots


def overdue_texts():
    return Notification.objects.filter(template="produce_overdue_station")


def assert_flagged_and_texted_once(overdue_lots, outcomes) -> None:
    assert refusals(outcomes) == [], outcomes
    assert sum(outcomes) == len(overdue_lots)  # each lot counted by the one run that flagged it
    lots = ProduceLot.objects.filter(pk__in=[lot.pk for lot in overdue_lots])
    assert not lots.filter(flagged_overdue_at__isnull=True).exists()
    texts = list(overdue_texts())
    assert Counter(t.recipient for t in texts) == {"+8613800000001": 1, "+8613800000002": 1}, texts
    by_phone = {t.recipient: t.payload for t in texts}
    assert by_phone["+8613800000001"]["count"] == 3 and by_phone["+8613800000002"]["count"] == 2
    for lot in overdue_lots:
        assert lot.number in by_phone[str(lot.station.phone)]["lots"]


@pytest.mark.parametrize("runs", [2, 4], ids=["beat-twice", "four-at-once"])
def test_overdue_checks_at_once_flag_each_lot_once_and_text_each_station_once(overdue_lots, tomorrow, runs):
    late = tomorrow + timedelta(days=8)  # eggs keep 7 days

    outcomes = at_once(lambda i: services.flag_overdue(today=late), n=runs)

    assert_flagged_and_texted_once(overdue_lots, outcomes)
    assert services.flag_overdue(today=late + timedelta(days=1)) == 0  # and never again
    assert overdue_texts().count() == 2


def test_the_overdue_task_run_twice_at_once_flags_and_texts_once(overdue_lots, tomorrow):
    from produce.tasks import flag_overdue_lots

    with time_machine.travel(local(tomorrow + timedelta(days=9), 6), tick=False):
        outcomes = at_once(lambda i: flag_overdue_lots(), n=2)

    assert_flagged_and_texted_once(overdue_lots, outcomes)


def test_an_overdue_check_starting_while_another_ones_transaction_is_open_flags_nothing(
    overdue_lots, tomorrow, monkeypatch
):
    """The first run has claimed every lot and queued its texts, not committed yet; the second reads the lots as
    still unflagged, waits on its claims, and then finds them flagged: it flags and texts nothing."""
    late = tomorrow + timedelta(days=8)
    claimed, second_done = threading.Event(), threading.Event()
    seen = {}
    tell = services._tell_stations_overdue
    first = threading.local()

    def hold(by_station):
        tell(by_station)
        if getattr(first, "is_it", False):
            claimed.set()
            seen["second done while the first was open"] = second_done.wait(PAUSE)

    monkeypatch.setattr(services, "_tell_stations_overdue", hold)

    def work(i: int) -> int:
        if i == 0:
            first.is_it = True
            return services.flag_overdue(today=late)
        assert claimed.wait(10)
        try:
            return services.flag_overdue(today=late)
        finally:
            second_done.set()

    outcomes = at_once(work, n=2)

    assert seen == {"second done while the first was open": False}  # the second waited on the first's claims
    assert outcomes == [len(overdue_lots), 0]
    assert_flagged_and_texted_once(overdue_lots, outcomes)
