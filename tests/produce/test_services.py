"""The produce lot's steps: listed, accepted or declined, withdrawn, received and valued to the fen, paid once out
of the station's drawer (including two clerks paying the same lot at once on PostgreSQL), overdue."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.utils import timezone, translation

from cashbook import services as cash
from cashbook.models import CashEntry
from notifications.models import Notification
from orders.payments import Method
from produce import services
from produce.models import ProduceKind, ProduceLot
from produce.services import ProduceError
from tests.conftest import requires_postgres
from tests.factories import CountyFactory, VillagerFactory
from tests.orders.test_concurrency import at_once

S = ProduceLot.Status


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def payouts(**filters):
    return CashEntry.objects.filter(kind=CashEntry.Kind.PRODUCE_PAYOUT, **filters)


# --- list_lot ------------------------------------------------------------------------------------------


def test_a_good_lot_is_listed_with_a_unique_number(list_eggs, staff_a, villager_a, eggs, tomorrow):
    first, second = list_eggs(), list_eggs(quantity="30.5", grade="二级", price_asked="1")

    assert first.status == second.status == S.LISTED
    assert first.number != second.number
    assert first.number.startswith("P" + timezone.localdate().strftime("%y%m%d") + "-")
    assert ProduceLot.objects.filter(number=first.number).count() == 1
    assert (first.villager, first.kind, first.listed_by, first.ready_on) == (villager_a, eggs, staff_a, tomorrow)
    assert (first.quantity, first.grade_claimed, first.price_asked) == (Decimal("120"), "一级", Decimal("0.90"))
    assert first.price is None and first.value is None


def test_a_villager_of_another_station_is_refused(list_eggs, villager_b):
    with pytest.raises(ProduceError, match="not registered at your station"):
        list_eggs(villager=villager_b)
    assert not ProduceLot.objects.exists()


def test_a_kind_of_another_county_is_refused(list_eggs):
    elsewhere = ProduceKind.objects.create(county=CountyFactory(), name="土豆")
    with pytest.raises(ProduceError, match="does not buy this kind"):
        list_eggs(kind=elsewhere)


def test_a_kind_not_bought_now_is_refused(list_eggs, eggs):
    eggs.is_active = False
    eggs.save()
    with pytest.raises(ProduceError, match="does not buy this kind"):
        list_eggs(kind=eggs)


def test_a_restricted_kind_needs_the_county_allowing_it_and_its_certificate(list_eggs, black_chicken):
    with pytest.raises(ProduceError, match="has not allowed this kind"):
        list_eggs(kind=black_chicken, quantity="2", certificate_no="QC-2026-001")

    black_chicken.allowed = True
    black_chicken.save()
    for missing in ("", "   ", "\x00"):
        with pytest.raises(ProduceError, match="quarantine certificate"):
            list_eggs(kind=black_chicken, quantity="2", certificate_no=missing)
    assert not ProduceLot.objects.exists()

    lot = list_eggs(kind=black_chicken, quantity="2", certificate_no=" QC-2026-001 ")
    assert lot.status == S.LISTED
    assert lot.certificate_no == "QC-2026-001"


@pytest.mark.parametrize("grade", ["特级", "", " 一级", "一级,二级", None])
def test_a_grade_not_of_the_kind_is_refused(list_eggs, grade):
    with pytest.raises(ProduceError, match="Choose one of the kind's grades: 一级, 二级"):
        list_eggs(grade=grade)


BAD_AMOUNTS = [
    "0",
    "0.00",
    0,
    "-1",
    "-0.01",
    Decimal("-5"),
    "1.005",
    "0.001",
    "100000.01",
    "1e9",
    "9" * 40,
    "abc",
    "",
    "  ",
    "NaN",
    "-NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    "1,5",
    "1e-999999",
    None,
    "\x00",
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
@pytest.mark.parametrize("field", ["quantity", "price_asked"])
def test_a_bad_quantity_or_price_is_refused_as_a_produce_error(list_eggs, field, amount):
    with pytest.raises(ProduceError):  # never InvalidOperation, ValueError or a database error
        list_eggs(**{field: amount})
    assert not ProduceLot.objects.exists()


def test_the_refusals_of_an_amount_say_why(list_eggs):
    with pytest.raises(ProduceError, match="The quantity must be a number"):
        list_eggs(quantity="abc")
    with pytest.raises(ProduceError, match="The quantity must be more than 0 and at most 100000"):
        list_eggs(quantity="0")
    with pytest.raises(ProduceError, match="The price asked must be more than 0 and at most 100000"):
        list_eggs(price_asked="Infinity")
    with pytest.raises(ProduceError, match="The price asked has at most two decimals"):
        list_eggs(price_asked="0.855")


def test_the_largest_amounts_are_listed(list_eggs):
    lot = list_eggs(quantity="100000", price_asked="100000.00")
    assert lot.quantity == lot.price_asked == Decimal("100000")


def test_ready_on_is_from_today_to_60_days_ahead(list_eggs):
    today = timezone.localdate()
    for refused in (today - timedelta(days=1), today + timedelta(days=61), today - timedelta(days=365)):
        with pytest.raises(ProduceError, match="from today to 60 days ahead"):
            list_eggs(ready_on=refused)
    assert list_eggs(ready_on=today).status == S.LISTED
    assert list_eggs(ready_on=today + timedelta(days=60)).status == S.LISTED


# --- accept, decline, withdraw ------------------------------------------------------------------------


def test_accepting_sets_the_price_and_who_decided_and_texts_the_villager(lot, county_manager):
    accepted = services.accept_lot(lot=lot, price="0.85", actor=county_manager)

    lot.refresh_from_db()
    assert lot.status == S.ACCEPTED
    assert lot.price == Decimal("0.85")
    assert lot.decided_by == county_manager and lot.decided_at is not None
    assert accepted.price == Decimal("0.85")
    sms = Notification.objects.get(template="produce_accepted")
    assert sms.reference == lot.number
    assert sms.villager_id == lot.villager_id
    assert sms.payload["lot"] == lot.number and sms.payload["price"] == "0.85"


def test_a_villager_without_sms_consent_gets_no_text(list_eggs, station_a, county_manager):
    quiet = VillagerFactory(service_center=station_a, name="赵六", phone="+8613700000000", sms_consent=False)
    lot = list_eggs(villager=quiet)

    services.accept_lot(lot=lot, price="0.85", actor=county_manager)

    assert ProduceLot.objects.get(pk=lot.pk).status == S.ACCEPTED
    assert not Notification.objects.filter(reference=lot.number).exists()


def test_accepting_twice_is_refused(accepted, county_manager):
    with pytest.raises(ProduceError, match="already"):
        services.accept_lot(lot=accepted, price="0.99", actor=county_manager)
    accepted.refresh_from_db()
    assert accepted.price == Decimal("0.85")
    assert Notification.objects.filter(template="produce_accepted").count() == 1


def test_a_lot_listed_longer_ago_than_it_keeps_is_not_bought(lot, county_manager, time_machine):
    time_machine.move_to(lot.ready_on + timedelta(days=8))  # eggs keep 7 days: bought now it would be overdue
    with pytest.raises(ProduceError, match="past them"):
        services.accept_lot(lot=lot, price="0.85", actor=county_manager)
    lot.refresh_from_db()
    assert lot.status == S.LISTED and lot.price is None
    services.decline_lot(lot=lot, reason="放太久了", actor=county_manager)  # what the county page offers instead
    assert ProduceLot.objects.get(pk=lot.pk).status == S.DECLINED


def test_on_its_last_keeping_day_a_lot_is_still_bought(lot, county_manager, time_machine):
    time_machine.move_to(lot.ready_on + timedelta(days=7))
    assert services.accept_lot(lot=lot, price="0.85", actor=county_manager).status == S.ACCEPTED


@pytest.mark.parametrize("price", ["0", "-1", "abc", "NaN", "0.855", "1e9"])
def test_accepting_at_a_bad_price_is_refused(lot, county_manager, price):
    with pytest.raises(ProduceError):
        services.accept_lot(lot=lot, price=price, actor=county_manager)
    lot.refresh_from_db()
    assert lot.status == S.LISTED and lot.price is None
    assert not Notification.objects.exists()


@pytest.mark.parametrize("reason", ["", "   ", None, "\x00"])
def test_declining_needs_a_reason(lot, county_manager, reason):
    with pytest.raises(ProduceError, match="Say why"):
        services.decline_lot(lot=lot, reason=reason, actor=county_manager)
    lot.refresh_from_db()
    assert lot.status == S.LISTED


def test_a_listed_lot_is_declined_with_the_reason_and_the_villager_is_told(lot, county_manager):
    services.decline_lot(lot=lot, reason=" 本周不收鸡蛋 ", actor=county_manager)

    lot.refresh_from_db()
    assert lot.status == S.DECLINED
    assert lot.decline_reason == "本周不收鸡蛋"
    assert lot.decided_by == county_manager
    sms = Notification.objects.get(template="produce_declined")
    assert sms.reference == lot.number and sms.payload["reason"] == "本周不收鸡蛋"


def test_an_accepted_lot_that_never_arrived_is_declined(accepted, county_manager):
    services.decline_lot(lot=accepted, reason="过期未到货", actor=county_manager)
    accepted.refresh_from_db()
    assert accepted.status == S.DECLINED


@pytest.mark.parametrize("step", ["received", "declined", "withdrawn"])
def test_declining_a_received_or_closed_lot_is_refused(lot, county_manager, staff_a, step):
    if step == "received":
        services.accept_lot(lot=lot, price="0.85", actor=county_manager)
        services.receive_lot(lot=lot, quantity="12", grade="一级", actor=county_manager)
    elif step == "declined":
        services.decline_lot(lot=lot, reason="不收", actor=county_manager)
    else:
        services.withdraw_lot(lot=lot, actor=staff_a)

    with pytest.raises(ProduceError, match=f"is {step} already"):
        services.decline_lot(lot=lot, reason="再次", actor=county_manager)
    assert ProduceLot.objects.get(pk=lot.pk).status == step


def test_a_listed_lot_is_withdrawn(lot, staff_a):
    services.withdraw_lot(lot=lot, actor=staff_a)
    lot.refresh_from_db()
    assert lot.status == S.WITHDRAWN


def test_only_a_listed_lot_is_withdrawn(accepted, staff_a):
    with pytest.raises(ProduceError, match="is accepted already"):
        services.withdraw_lot(lot=accepted, actor=staff_a)
    assert ProduceLot.objects.get(pk=accepted.pk).status == S.ACCEPTED

    services.decline_lot(lot=accepted, reason="不收", actor=staff_a)
    with pytest.raises(ProduceError, match="is declined already"):
        services.withdraw_lot(lot=accepted, actor=staff_a)


def test_a_stale_page_withdrawing_a_lot_accepted_meanwhile_is_refused(lot, county_manager, staff_a):
    stale = ProduceLot.objects.get(pk=lot.pk)
    services.accept_lot(lot=lot, price="0.85", actor=county_manager)
    with pytest.raises(ProduceError, match="is accepted already"):
        services.withdraw_lot(lot=stale, actor=staff_a)


# --- receive_lot ---------------------------------------------------------------------------------------


def test_receiving_values_the_quantity_at_the_price_to_the_fen(received, county_manager):
    received.refresh_from_db()
    assert received.status == S.RECEIVED
    assert received.received_quantity == Decimal("12")
    assert received.received_grade == "一级"
    assert received.value == Decimal("10.20")  # 12 pieces × 0.85
    assert received.received_by == county_manager and received.received_at is not None


def test_the_value_is_rounded_half_up_to_the_fen(list_eggs, county_manager, county_a):
    potatoes = ProduceKind.objects.create(county=county_a, name="土豆", unit=ProduceKind.Unit.KG, grades="大,中,小")
    lot = list_eggs(kind=potatoes, grade="大", quantity="3", price_asked="3.50")
    services.accept_lot(lot=lot, price="3.33", actor=county_manager)

    services.receive_lot(lot=lot, quantity="2.35", grade="中", actor=county_manager)

    lot.refresh_from_db()
    assert lot.value == Decimal("7.83")  # 2.35 kg × 3.33 = 7.8255
    assert lot.received_grade == "中"


def test_a_price_given_at_receipt_overrides_the_accepted_one(accepted, county_manager):
    services.receive_lot(lot=accepted, quantity="100", grade="二级", price="0.70", actor=county_manager)
    accepted.refresh_from_db()
    assert accepted.price == Decimal("0.70")
    assert accepted.value == Decimal("70.00")


def test_an_empty_price_at_receipt_keeps_the_accepted_one(accepted, county_manager):
    services.receive_lot(lot=accepted, quantity="10", grade="一级", price="", actor=county_manager)
    accepted.refresh_from_db()
    assert accepted.price == Decimal("0.85") and accepted.value == Decimal("8.50")


@pytest.mark.parametrize("grade", ["特级", "", None])
def test_receiving_in_a_grade_not_of_the_kind_is_refused(accepted, county_manager, grade):
    with pytest.raises(ProduceError, match="Choose one of the kind's grades"):
        services.receive_lot(lot=accepted, quantity="12", grade=grade, actor=county_manager)
    assert ProduceLot.objects.get(pk=accepted.pk).status == S.ACCEPTED


RECEIPT_AMOUNTS = ["0", "-3", "abc", "NaN", "Infinity", "1.234", "100000.01"]


@pytest.mark.parametrize(
    "arguments",
    [{"quantity": a} for a in [*RECEIPT_AMOUNTS, None, ""]] + [{"quantity": "12", "price": a} for a in RECEIPT_AMOUNTS],
)
def test_receiving_a_bad_quantity_or_price_is_refused(accepted, county_manager, arguments):
    with pytest.raises(ProduceError):
        services.receive_lot(lot=accepted, grade="一级", actor=county_manager, **arguments)
    assert ProduceLot.objects.get(pk=accepted.pk).status == S.ACCEPTED


def test_only_an_accepted_lot_is_received(lot, county_manager):
    with pytest.raises(ProduceError, match="listed"):  # not bought: it has no price yet
        services.receive_lot(lot=lot, quantity="12", grade="一级", actor=county_manager)
    assert ProduceLot.objects.get(pk=lot.pk).status == S.LISTED


def test_receiving_twice_is_refused(received, county_manager):
    with pytest.raises(ProduceError, match="is received already"):
        services.receive_lot(lot=received, quantity="99", grade="二级", actor=county_manager)
    received.refresh_from_db()
    assert received.value == Decimal("10.20") and received.received_quantity == Decimal("12")


def test_a_stale_page_receiving_a_lot_declined_meanwhile_is_refused(accepted, county_manager):
    stale = ProduceLot.objects.get(pk=accepted.pk)
    services.decline_lot(lot=accepted, reason="过期未到货", actor=county_manager)
    with pytest.raises(ProduceError, match="is declined already"):
        services.receive_lot(lot=stale, quantity="12", grade="一级", actor=county_manager)


def test_the_largest_lot_at_the_largest_price_is_refused_not_a_database_error(list_eggs, county_manager):
    lot = list_eggs(quantity="100000", price_asked="100000")
    services.accept_lot(lot=lot, price="100000", actor=county_manager)
    with pytest.raises(ProduceError, match="is not one the station can pay"):
        services.receive_lot(lot=lot, quantity="100000", grade="一级", actor=county_manager)
    assert ProduceLot.objects.get(pk=lot.pk).status == S.ACCEPTED


def test_a_value_rounding_to_nothing_is_refused_not_a_payout_of_zero(list_eggs, county_manager):
    lot = list_eggs(quantity="1", price_asked="0.01")
    services.accept_lot(lot=lot, price="0.01", actor=county_manager)
    with pytest.raises(ProduceError, match="¥0.00, is not one the station can pay"):
        services.receive_lot(lot=lot, quantity="0.1", grade="一级", actor=county_manager)  # ¥0.001
    assert ProduceLot.objects.get(pk=lot.pk).status == S.ACCEPTED


# --- pay_lot -------------------------------------------------------------------------------------------


def test_paying_writes_one_payout_out_of_the_drawer(received, staff_a, station_a):
    cash.give_float(station=station_a, actor=staff_a, amount="200.00")
    before = cash.drawer(station_a)

    services.pay_lot(lot=received, actor=staff_a, expected_value="10.20")

    received.refresh_from_db()
    assert received.status == S.PAID
    assert received.paid_by == staff_a and received.paid_at is not None
    entry = payouts().get()
    assert entry.amount == Decimal("-10.20")
    assert entry.reference == received.number
    assert entry.station == station_a
    assert entry.method == Method.CASH
    assert cash.drawer(station_a) == before - Decimal("10.20")


def test_paying_twice_is_refused_and_writes_no_second_entry(received, staff_a, station_a):
    services.pay_lot(lot=received, actor=staff_a)
    with pytest.raises(ProduceError, match="is paid: only a lot received at the warehouse is paid"):
        services.pay_lot(lot=received, actor=staff_a)
    assert payouts().count() == 1
    assert cash.drawer(station_a) == Decimal("-10.20")


@pytest.mark.parametrize("step", ["listed", "accepted", "declined", "withdrawn"])
def test_only_a_received_lot_is_paid(lot, county_manager, staff_a, step):
    if step == "accepted":
        services.accept_lot(lot=lot, price="0.85", actor=county_manager)
    elif step == "declined":
        services.decline_lot(lot=lot, reason="不收", actor=county_manager)
    elif step == "withdrawn":
        services.withdraw_lot(lot=lot, actor=staff_a)

    with pytest.raises(ProduceError, match=f"is {step}: only a lot received"):
        services.pay_lot(lot=lot, actor=staff_a)
    assert not payouts().exists()


@pytest.mark.parametrize("shown", ["10.19", "10.21", "0", "NaN"])
def test_a_stale_expected_value_is_refused_and_nothing_is_written(received, staff_a, shown):
    with pytest.raises(ProduceError, match="value changed"):
        services.pay_lot(lot=received, actor=staff_a, expected_value=shown)
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED
    assert not payouts().exists()


@pytest.mark.parametrize("shown", ["abc", "", "Infinity", "1e999999"])
def test_a_junk_expected_value_is_refused_as_a_produce_error(received, staff_a, shown):
    with pytest.raises(ProduceError):
        services.pay_lot(lot=received, actor=staff_a, expected_value=shown)
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED
    assert not payouts().exists()


def test_the_expected_value_shown_to_the_fen_is_accepted(received, staff_a):
    services.pay_lot(lot=received, actor=staff_a, expected_value=Decimal("10.2"))
    assert payouts().get().amount == Decimal("-10.20")


def test_the_payout_is_at_the_lots_station(station_b, staff_b, villager_b, county_manager, tomorrow):
    county_b = station_b.village.county
    honey = ProduceKind.objects.create(county=county_b, name="蜂蜜", grades="一级")
    lot = services.list_lot(
        station=station_b,
        villager=villager_b,
        kind=honey,
        quantity="5",
        grade="一级",
        price_asked="60",
        ready_on=tomorrow,
        actor=staff_b,
    )
    services.accept_lot(lot=lot, price="58.00", actor=county_manager)
    services.receive_lot(lot=lot, quantity="4.5", grade="一级", actor=county_manager)

    services.pay_lot(lot=lot, actor=staff_b)

    assert payouts().get().station == station_b
    assert cash.drawer(station_b) == Decimal("-261.00")


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_clerks_paying_the_same_lot_at_once_one_pays_the_other_is_refused(received, staff_a, station_a):
    assert connection.vendor == "postgresql"

    outcomes = at_once(
        lambda i: services.pay_lot(lot=ProduceLot.objects.get(pk=received.pk), actor=staff_a, expected_value="10.20"),
        n=2,
    )

    paid = [o for o in outcomes if isinstance(o, ProduceLot)]
    refused = [o for o in outcomes if isinstance(o, ProduceError)]
    assert len(paid) == 1 and len(refused) == 1, outcomes
    assert isinstance(refused[0], services.ProduceError)  # (in the racing thread's language: no override there)
    assert payouts(reference=received.number).count() == 1
    assert cash.drawer(station_a) == Decimal("-10.20")
    assert ProduceLot.objects.get(pk=received.pk).status == S.PAID


# --- overdue -------------------------------------------------------------------------------------------


def test_an_accepted_lot_is_overdue_after_its_keeping_days(accepted):
    last_day = accepted.ready_on + timedelta(days=7)
    assert not services.overdue(accepted, today=accepted.ready_on)
    assert not services.overdue(accepted, today=last_day)
    assert services.overdue(accepted, today=last_day + timedelta(days=1))


def test_overdue_follows_the_kinds_keeping_days(accepted, eggs):
    eggs.keeps_days = 2
    eggs.save()
    accepted.refresh_from_db()
    assert services.overdue(accepted, today=accepted.ready_on + timedelta(days=3))
    assert not services.overdue(accepted, today=accepted.ready_on + timedelta(days=2))


def test_a_received_or_paid_lot_is_never_overdue(received, staff_a):
    long_after = received.ready_on + timedelta(days=365)
    assert not services.overdue(received, today=long_after)
    services.pay_lot(lot=received, actor=staff_a)
    assert not services.overdue(received, today=long_after)


def test_a_listed_lot_is_never_overdue(list_eggs):
    lot = list_eggs()
    assert not services.overdue(lot, today=lot.ready_on + timedelta(days=365))


# --- the money -----------------------------------------------------------------------------------------


def test_the_payouts_are_the_values_of_the_paid_lots(list_eggs, county_manager, staff_a, station_a):
    cases = [("12", "0.85"), ("7", "0.33"), ("100", "1.05"), ("3", "0.99"), ("50", "0.77")]
    lots = []
    for quantity, price in cases:
        lot = list_eggs(quantity=quantity)
        services.accept_lot(lot=lot, price=price, actor=county_manager)
        services.receive_lot(lot=lot, quantity=quantity, grade="一级", actor=county_manager)
        lots.append(lot)
    for lot in lots[:4]:  # the last one received, not paid yet
        services.pay_lot(lot=lot, actor=staff_a)

    paid = ProduceLot.objects.filter(status=S.PAID).aggregate(total=Sum("value"))["total"]
    paid_out = payouts().aggregate(total=Sum("amount"))["total"]
    assert paid == Decimal("10.20") + Decimal("2.31") + Decimal("105.00") + Decimal("2.97")
    assert paid_out == -paid
    assert cash.drawer(station_a) == -paid
    assert set(payouts().values_list("reference", flat=True)) == {lot.number for lot in lots[:4]}
