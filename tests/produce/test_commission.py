"""The partner's commission on produce: the kind's rate, frozen when the county buys the lot, earned to the fen in
orders' commission ledger when the villager is paid, once per lot, and counted in the month's statement."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from orders import commissions
from orders.models import CommissionEntry, CommissionStatement
from produce import services
from produce.models import ProduceLot
from produce.services import ProduceError

E = CommissionEntry.Kind


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def eggs_at_2_5(eggs):
    eggs.commission_rate = Decimal("2.50")
    eggs.save()
    return eggs


def produce_entries(**filters):
    return CommissionEntry.objects.filter(kind=E.PRODUCE, **filters)


def test_it_freezes_the_kinds_rate_when_the_county_buys_the_lot(eggs_at_2_5, lot, county_manager):
    # given a lot of eggs, the kind at 2.5%
    assert lot.commission_rate is None  # listed: nothing agreed yet

    # when the county buys it, then the kind changes its rate
    services.accept_lot(lot=lot, price="0.85", actor=county_manager)
    eggs_at_2_5.commission_rate = Decimal("5.00")
    eggs_at_2_5.save()

    # then the lot keeps the rate it was bought at
    lot.refresh_from_db()
    assert lot.commission_rate == Decimal("2.50")


def test_it_earns_the_kinds_rate_of_the_value_to_the_fen_when_the_villager_is_paid(
    eggs_at_2_5, lot, county_manager, staff_a, station_a
):
    services.accept_lot(lot=lot, price="0.85", actor=county_manager)
    services.receive_lot(lot=lot, quantity="12", grade="一级", actor=county_manager)  # ¥10.20
    assert not produce_entries().exists()  # received is not paid: nothing earned yet

    services.pay_lot(lot=lot, actor=staff_a, expected_value="10.20")

    entry = produce_entries().get()
    assert entry.amount == Decimal("0.26")  # 10.20 × 2.5% = 0.255, half up
    assert (entry.produce_lot, entry.service_center, entry.order, entry.created_by) == (
        lot.number,
        station_a,
        None,
        staff_a,
    )
    assert entry.statement is None


@pytest.mark.parametrize(
    ("rate", "quantity", "price", "earned"),
    [
        ("3.00", "2.35", "3.33", "0.23"),  # 7.83 × 3% = 0.2349
        ("1.25", "100", "1.05", "1.31"),  # 105.00 × 1.25% = 1.3125
        ("10.00", "4.5", "58.00", "26.10"),  # 261.00 × 10%
        ("0.05", "10", "1.00", "0.01"),  # 10.00 × 0.05% = 0.005: half up to a fen
    ],
)
def test_the_commission_is_per_kind_to_the_fen(list_eggs, eggs, county_manager, staff_a, rate, quantity, price, earned):
    eggs.commission_rate = Decimal(rate)
    eggs.save()
    lot = list_eggs(quantity=quantity)
    services.accept_lot(lot=lot, price=price, actor=county_manager)
    services.receive_lot(lot=lot, quantity=quantity, grade="一级", actor=county_manager)

    services.pay_lot(lot=lot, actor=staff_a)

    assert produce_entries(produce_lot=lot.number).get().amount == Decimal(earned)


def test_a_kind_at_no_commission_or_a_commission_below_a_fen_earns_no_entry(list_eggs, eggs, county_manager, staff_a):
    for rate in ("0.00", "0.04"):  # 10.00 × 0.04% = 0.004: nothing
        eggs.commission_rate = Decimal(rate)
        eggs.save()
        lot = list_eggs(quantity="10")
        services.accept_lot(lot=lot, price="1.00", actor=county_manager)
        services.receive_lot(lot=lot, quantity="10", grade="一级", actor=county_manager)
        services.pay_lot(lot=lot, actor=staff_a)
        assert ProduceLot.objects.get(pk=lot.pk).status == ProduceLot.Status.PAID
    assert not produce_entries().exists()


def test_it_is_earned_once_per_lot(eggs_at_2_5, received, staff_a):
    services.pay_lot(lot=received, actor=staff_a)
    with pytest.raises(ProduceError, match="is paid"):
        services.pay_lot(lot=received, actor=staff_a)
    # the ledger's own function, called again, finds the entry there
    again = commissions.post_produce_commission(
        station_id=received.station_id, lot_number=received.number, amount=Decimal("9.99")
    )
    assert produce_entries().count() == 1
    assert again.amount == Decimal("0.26")  # 12 × 0.85 = 10.20 at 2.5%

    # and the database refuses a second entry of the lot, whatever writes it
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionEntry.objects.create(
            service_center_id=received.station_id, kind=E.PRODUCE, produce_lot=received.number, amount=Decimal("1")
        )


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": E.PRODUCE, "produce_lot": "", "amount": Decimal("1")},  # a produce entry names its lot
        {"kind": E.PRODUCE, "produce_lot": "P1", "amount": Decimal("-1")},  # and is earned, not taken back
        {"kind": E.ADJUSTMENT, "produce_lot": "P1", "amount": Decimal("1")},  # no other kind names a lot
    ],
)
def test_the_ledger_refuses_a_produce_entry_out_of_shape(station_a, fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionEntry.objects.create(service_center=station_a, **fields)


def test_it_counts_in_the_months_statement_and_summary_with_the_orders(eggs_at_2_5, received, staff_a, station_a):
    commissions.post_adjustment(station=station_a, amount=Decimal("5.00"), actor=staff_a, note="补贴")
    services.pay_lot(lot=received, actor=staff_a)
    month = commissions.month_start(timezone.localdate())

    summary = commissions.month_summary(station_a, month=month)
    assert summary["produce"] == Decimal("0.26")
    assert summary["net"] == Decimal("5.26")

    report = commissions.build_statements(month=month)

    statement = CommissionStatement.objects.get(service_center=station_a, month=month)
    assert report.entries == 2
    assert statement.total == Decimal("5.26")
    assert produce_entries().get().statement == statement
    assert statement.total == sum(e.amount for e in statement.entries.all())


def test_the_station_sees_it_on_its_commission_page_and_statement(eggs_at_2_5, received, staff_a, client_a):
    services.pay_lot(lot=received, actor=staff_a)

    page = client_a.get("/commissions/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "¥0.26" in page and received.number in page  # earned this month, not yet in a statement

    commissions.build_statements(month=commissions.month_start(timezone.localdate()))
    statement = CommissionStatement.objects.get()
    detail = client_a.get(f"/commissions/{statement.pk}/").content.decode()
    assert received.number in detail and "¥0.26" in detail
    csv = client_a.get(f"/commissions/{statement.pk}/csv/").content.decode("utf-8-sig")
    assert f"produce,{received.number},0.26" in csv
