"""Paying a received lot: cash at the counter (a payout in the cash book) or to the villager's own account with the
transfer's reference (no cash entry: the drawer did not pay it), either way once, and the commission earned once."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation

from cashbook import services as cash
from cashbook.models import CashEntry
from orders.models import CommissionEntry
from produce import services
from produce.models import ProduceLot
from produce.services import ProduceError

S, V = ProduceLot.Status, ProduceLot.PaidVia


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def en_client(client_a):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client_a


def payouts():
    return CashEntry.objects.filter(kind=CashEntry.Kind.PRODUCE_PAYOUT)


def test_it_pays_cash_at_the_counter_from_the_drawer(received, staff_a, station_a):
    services.pay_lot(lot=received, actor=staff_a, expected_value="10.20", via=V.CASH)

    received.refresh_from_db()
    assert (received.status, received.paid_via, received.payment_reference) == (S.PAID, V.CASH, "")
    assert payouts().get().amount == Decimal("-10.20")
    assert cash.drawer(station_a) == Decimal("-10.20")


@pytest.fixture
def eggs_at_2_5(eggs):
    eggs.commission_rate = Decimal("2.50")
    eggs.save()
    return eggs


def test_it_pays_to_the_villagers_own_account_with_the_reference_and_no_cash_entry(
    eggs_at_2_5, received, staff_a, station_a
):
    services.pay_lot(
        lot=received, actor=staff_a, expected_value="10.20", via=V.ACCOUNT, reference=" 4200001234202612021234 "
    )

    received.refresh_from_db()
    assert received.status == S.PAID
    assert (received.paid_via, received.payment_reference) == (V.ACCOUNT, "4200001234202612021234")
    assert received.paid_by == staff_a and received.paid_at is not None
    assert not CashEntry.objects.exists()  # the drawer did not pay it
    assert cash.drawer(station_a) == Decimal("0.00")
    # the partner earns on it all the same
    assert CommissionEntry.objects.get(kind="produce", produce_lot=received.number).amount == Decimal("0.26")


@pytest.mark.parametrize("reference", ["", "   ", None, "\x00", "\t\n"])
def test_an_account_payment_needs_its_reference(received, staff_a, reference):
    with pytest.raises(ProduceError, match="Enter the transfer's reference"):
        services.pay_lot(lot=received, actor=staff_a, via=V.ACCOUNT, reference=reference)
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED


def test_a_reference_is_at_most_60_characters(received, staff_a):
    with pytest.raises(ProduceError, match="at most 60 characters"):
        services.pay_lot(lot=received, actor=staff_a, via=V.ACCOUNT, reference="9" * 61)
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED

    services.pay_lot(lot=received, actor=staff_a, via=V.ACCOUNT, reference="9" * 60)
    assert ProduceLot.objects.get(pk=received.pk).payment_reference == "9" * 60


def test_a_reference_with_a_nul_keeps_the_rest(received, staff_a):
    services.pay_lot(lot=received, actor=staff_a, via=V.ACCOUNT, reference="WX\x00-88")
    assert ProduceLot.objects.get(pk=received.pk).payment_reference == "WX-88"


@pytest.mark.parametrize("via", ["", "bank", "CASH", None])
def test_an_unknown_way_of_paying_is_refused(received, staff_a, via):
    with pytest.raises(ProduceError, match="Choose how the villager is paid"):
        services.pay_lot(lot=received, actor=staff_a, via=via)
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED


@pytest.mark.parametrize(("first", "second"), [(V.CASH, V.ACCOUNT), (V.ACCOUNT, V.CASH), (V.ACCOUNT, V.ACCOUNT)])
def test_a_lot_is_paid_once_whichever_way(received, staff_a, first, second):
    services.pay_lot(lot=received, actor=staff_a, via=first, reference="REF-1")

    with pytest.raises(ProduceError, match="is paid: only a lot received"):
        services.pay_lot(lot=received, actor=staff_a, via=second, reference="REF-2")

    received.refresh_from_db()
    assert received.paid_via == first
    assert payouts().count() == (1 if first == V.CASH else 0)
    assert CommissionEntry.objects.filter(kind="produce").count() <= 1


def test_the_database_refuses_a_paid_lot_without_its_way_or_reference(received):
    for fields in ({"paid_via": ""}, {"paid_via": V.ACCOUNT, "payment_reference": ""}, {"payment_reference": "X"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ProduceLot.objects.filter(pk=received.pk).update(status=S.PAID, paid_at=received.received_at, **fields)


# --- the lot's page ------------------------------------------------------------------------------------


def test_the_page_offers_both_ways_with_the_amount(en_client, received):
    page = en_client.get(f"/produce/{received.number}/").content.decode()
    assert page.count('name="value" value="10.20"') == 2
    assert 'name="via" value="cash"' in page and 'name="via" value="account"' in page
    assert "Pay ¥10.20" in page and "Record ¥10.20 paid to the account" in page
    assert 'name="reference" maxlength="60" required' in page


def test_the_page_pays_to_the_account_once(en_client, received):
    url = f"/produce/{received.number}/"
    data = {"step": "pay", "via": "account", "value": "10.20", "reference": "ABC-123"}

    paid = en_client.post(url, data)
    assert paid.status_code == 302
    page = en_client.get(url).content.decode()
    assert "ABC-123" in page and "to the villager&#x27;s own account" in page

    again = en_client.post(url, data)
    assert again.status_code == 409 and "is paid" in again.content.decode()
    assert not CashEntry.objects.exists()


def test_the_page_refuses_an_account_payment_without_a_reference_and_keeps_the_form_open(en_client, received):
    url = f"/produce/{received.number}/"
    answer = en_client.post(url, {"step": "pay", "via": "account", "value": "10.20", "reference": "  "})
    assert answer.status_code == 409
    page = answer.content.decode()
    assert "Enter the transfer&#x27;s reference" in page
    assert "<details open>" in page
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED


def test_the_page_refuses_an_amount_that_is_not_the_value(en_client, received):
    answer = en_client.post(
        f"/produce/{received.number}/", {"step": "pay", "via": "account", "value": "10.19", "reference": "R"}
    )
    assert answer.status_code == 409 and "value changed" in answer.content.decode()
    assert ProduceLot.objects.get(pk=received.pk).status == S.RECEIVED
