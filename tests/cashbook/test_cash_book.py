"""The cash book: every yuan a station takes or pays out is an entry, and the drawer is their sum."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from cashbook import selectors, services
from cashbook.models import CashEntry, DayClose, Remittance
from orders import payments, returns
from orders import services as order_services
from orders.models import Order
from ruralshop.ledgers import LedgerIsAppendOnly

K = CashEntry.Kind
S = Order.Status


def drawer_of(station) -> Decimal:
    return services.drawer(station)


def test_taking_payment_records_one_sale_and_the_change(client_a, order_placed, station_a):
    response = client_a.post(
        f"/orders/{order_placed.number}/confirm/",
        {"consent_code": order_placed.consent_code, "method": "cash", "received": "400"},
        follow=True,
    )

    sale = CashEntry.objects.get()
    assert (sale.kind, sale.amount, sale.method, sale.order_id) == (K.SALE, Decimal("336.00"), "cash", order_placed.pk)
    assert "Give the villager ¥64.00 change." in response.content.decode()
    assert drawer_of(station_a) == Decimal("336.00")
    # a second tap cannot take the money twice
    client_a.post(
        f"/orders/{order_placed.number}/confirm/",
        {"consent_code": order_placed.consent_code, "method": "cash", "received": "336"},
    )
    assert CashEntry.objects.count() == 1


def test_a_partial_payment_is_refused_and_nothing_is_recorded(client_a, order_placed):
    response = client_a.post(
        f"/orders/{order_placed.number}/confirm/",
        {"consent_code": order_placed.consent_code, "method": "cash", "received": "300"},
    )

    assert response.status_code == 409
    assert "a partial payment cannot be taken" in response.content.decode()
    assert Order.objects.get(pk=order_placed.pk).status == S.PLACED
    assert not CashEntry.objects.exists()


def test_a_mobile_payment_needs_its_number_and_is_not_in_the_drawer(client_a, order_placed, station_a):
    refused = client_a.post(
        f"/orders/{order_placed.number}/confirm/", {"consent_code": order_placed.consent_code, "method": "mobile"}
    )
    client_a.post(
        f"/orders/{order_placed.number}/confirm/",
        {"consent_code": order_placed.consent_code, "method": "mobile", "reference": "4200001234"},
    )

    assert refused.status_code == 409 and "transaction number" in refused.content.decode()
    sale = CashEntry.objects.get()
    assert (sale.method, sale.reference, sale.amount) == ("mobile", "4200001234", Decimal("336.00"))
    assert drawer_of(station_a) == Decimal("0.00")


def test_pay_on_pickup_is_paid_at_hand_over_within_the_credit_limit(
    client_a, place_at_a, fertilizer_stock, station_a, staff_a, deliver
):
    station_a.pay_on_pickup_limit = Decimal("500.00")
    station_a.save()
    first = place_at_a((fertilizer_stock.product, 2), key="p1", payment_method="pay_on_pickup").order  # 336
    second = place_at_a((fertilizer_stock.product, 1), key="p2", payment_method="pay_on_pickup").order  # 168
    order_services.confirm_payment(order=first, consent_code=first.consent_code, actor=staff_a)

    response = client_a.post(f"/orders/{second.number}/confirm/", {"consent_code": second.consent_code})

    assert "¥336.00 is open already" in response.content.decode() and "¥500.00" in response.content.decode()
    assert Order.objects.get(pk=second.pk).status == S.PLACED
    assert not CashEntry.objects.exists()  # agreeing to pay on pickup takes no money
    # the first order arrives and the villager pays when collecting it: the sale is recorded then
    first = Order.objects.get(pk=first.pk)
    order_services.transition(first, to=S.BATCHED, actor=staff_a)
    from tests.order_steps import arrive, depart

    depart(order=first, actor=staff_a)
    arrive(order=first, actor=staff_a, notify=False)
    client_a.post(
        f"/orders/{first.number}/hand-over/",
        {"pickup_code": first.pickup_code, "payment_taken": "on", "method": "cash", "received": "340"},
    )
    sale = CashEntry.objects.get()
    assert (sale.kind, sale.amount, sale.order_id) == (K.SALE, Decimal("336.00"), first.pk)
    assert order_services.open_on_credit(station_a) == Decimal("0.00")
    client_a.post(
        f"/orders/{second.number}/confirm/", {"consent_code": second.consent_code}
    )  # room again under the limit
    assert Order.objects.get(pk=second.pk).status == S.CONFIRMED


def test_a_refund_paid_out_is_a_refund_entry(client_a, order_placed, staff_a, station_a):
    order_services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    order_services.cancel_order(order=order_placed, actor=staff_a, reason="不要了")
    refund = order_placed.refunds.get()

    client_a.post(f"/refunds/{refund.pk}/pay/", {"amount": "336.00"})
    client_a.post(f"/refunds/{refund.pk}/pay/", {"amount": "336.00"})  # twice: no second entry

    entries = list(CashEntry.objects.order_by("pk").values_list("kind", "amount", "refund_id"))
    assert entries == [(K.SALE, Decimal("336.00"), None), (K.REFUND, Decimal("-336.00"), refund.pk)]
    assert drawer_of(station_a) == Decimal("0.00")


@pytest.fixture
def sold(order_placed, staff_a):
    """336.00 taken in cash at station A."""
    return order_services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)


def test_closing_the_day_shows_the_difference_then_posts_it(client_a, sold, station_a):
    preview = client_a.post("/cash/close/", {"day": _today(), "counted": "330", "step": "preview"})
    page = preview.content.decode()

    assert "336.00" in page and "330.00" in page and "-¥6.00" in page
    assert not DayClose.objects.exists()  # nothing recorded before the confirmation
    response = client_a.post(
        "/cash/close/", {"day": _today(), "counted": "330", "expected": "336.00", "step": "confirm"}
    )

    close = DayClose.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/cash/closes/{close.pk}/"
    assert (close.expected, close.counted, close.difference, close.late) == (
        Decimal("336.00"),
        Decimal("330.00"),
        Decimal("-6.00"),
        False,
    )
    assert CashEntry.objects.get(kind=K.DIFFERENCE).amount == Decimal("-6.00")
    assert drawer_of(station_a) == Decimal("330.00")  # the book now says what the drawer holds
    assert services.balance(station_a).owed == Decimal("336.00")  # the ¥6 short is still owed to the county
    slip = client_a.get(f"/cash/closes/{close.pk}/").content.decode()
    assert "330.00" in slip and "-¥6.00" in slip


def test_only_today_and_past_days_with_money_movements_are_closable(order_placed, station_a, staff_a):
    today = timezone.localdate()
    assert services.closable_days(station_a) == [today]
    with time_machine.travel(timezone.now() - timedelta(days=2)):
        order_services.confirm_payment(
            order=order_placed, consent_code=order_placed.consent_code, actor=staff_a
        )  # a sale two days ago, never closed
    assert services.closable_days(station_a) == [today, today - timedelta(days=2)]  # not yesterday: nothing moved
    services.close_day(station=station_a, actor=staff_a, day=today, counted="336")
    assert services.closable_days(station_a) == [today - timedelta(days=2)]


def test_a_difference_above_the_threshold_needs_a_note_and_a_day_closes_once(client_a, sold, station_a, staff_a):
    data = {"day": _today(), "counted": "300", "expected": "336.00", "step": "confirm"}
    refused = client_a.post("/cash/close/", data)

    assert refused.status_code == 400 and "say what happened" in refused.content.decode()
    client_a.post("/cash/close/", data | {"note": "找错钱"})
    assert DayClose.objects.get().note == "找错钱"
    with pytest.raises(services.CashError, match="closed already"):
        services.close_day(station=station_a, actor=staff_a, day=DayClose.objects.get().day, counted="300")


def test_a_count_against_a_stale_balance_is_refused(client_a, sold, station_a, staff_a):
    response = client_a.post(
        "/cash/close/", {"day": _today(), "counted": "336", "expected": "300.00", "step": "confirm"}
    )

    assert response.status_code == 400 and "Count again" in response.content.decode()
    assert not DayClose.objects.exists()


def test_count_by_notes_makes_the_total(client_a, sold):
    response = client_a.post(
        "/cash/close/",
        {"day": _today(), "n_100": "3", "n_20": "1", "n_10": "1", "n_5": "1", "n_1": "1", "step": "preview"},
    )

    assert response.status_code == 200
    assert response.context["preview"].counted == Decimal("336.00")


def test_a_remittance_leaves_the_drawer_and_the_county_confirms_what_it_got(
    client_a, client, sold, station_a, county_manager
):
    client_a.post(
        "/cash/remittances/new/", {"amount": "300", "slip_number": "S-001", "handed_to": "driver", "step": "preview"}
    )
    assert not Remittance.objects.exists()  # the confirmation step first
    client_a.post(
        "/cash/remittances/new/",
        {"amount": "300", "slip_number": "S-001", "handed_to": "driver", "run_code": "JD-R1", "step": "confirm"},
    )

    remittance = Remittance.objects.get()
    balance = services.balance(station_a)
    assert (balance.drawer, balance.in_transit, balance.owed) == (
        Decimal("36.00"),
        Decimal("300.00"),
        Decimal("336.00"),
    )
    client.force_login(county_manager)
    listing = client.get("/county/cash/").content.decode()
    assert "S-001" in listing
    client.post(f"/county/remittances/{remittance.pk}/confirm/", {"received": "290"})
    remittance.refresh_from_db()
    assert (remittance.status, remittance.received_amount, remittance.shortfall) == (
        "confirmed",
        Decimal("290.00"),
        Decimal("10.00"),
    )
    balance = services.balance(station_a)
    assert (balance.drawer, balance.in_transit, balance.owed) == (Decimal("36.00"), Decimal("0.00"), Decimal("46.00"))
    with pytest.raises(services.CashError, match="confirmed already"):
        services.confirm_remittance(remittance=remittance, actor=county_manager, received="300")


def test_more_than_the_drawer_cannot_be_handed_over(client_a, sold):
    response = client_a.post(
        "/cash/remittances/new/", {"amount": "400", "slip_number": "S-9", "handed_to": "county", "step": "confirm"}
    )

    assert response.status_code == 400 and "cannot be handed over" in response.content.decode()
    assert not Remittance.objects.exists()


def test_the_county_page_lists_every_station_worst_first_and_exports_csv(
    client, sold, station_a, station_b, county_manager
):
    client.force_login(county_manager)
    rows = selectors.county_cash(client.get("/county/cash/").wsgi_request.counties)

    assert [r.station for r in rows] == [station_a]  # county B's station is not county A's
    assert rows[0].drawer == Decimal("336.00") and "not_closed" in rows[0].alerts
    csv = client.get("/county/cash.csv").content.decode("utf-8-sig")
    assert station_a.code in csv and "336.00" in csv and station_b.code not in csv


@pytest.mark.parametrize(
    ("language", "first", "last"), [("en", "Station code", "Alerts"), ("zh-hans", "站点编码", "预警")]
)
def test_the_county_cash_csv_has_its_header_in_the_managers_language(
    client, sold, county_manager, settings, language, first, last
):
    client.force_login(county_manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    header, row = client.get("/county/cash.csv").content.decode("utf-8-sig").splitlines()[:2]

    assert (header.split(",")[0], header.split(",")[-1]) == (first, last)
    assert ",336.00," in row and "not_closed" in row  # the figures and the alerts' codes, in any language


def test_the_county_gives_a_float(client, station_a, county_manager):
    client.force_login(county_manager)
    client.post("/county/cash/float/", {"station": station_a.code, "amount": "200", "note": "零钱"})

    assert CashEntry.objects.get().kind == K.FLOAT
    assert drawer_of(station_a) == Decimal("200.00")
    client.post("/county/cash/float/", {"station": station_a.code, "amount": "-300"})  # more than the drawer
    assert CashEntry.objects.count() == 1


def test_a_float_taken_back_says_so_with_the_sign_before_the_currency(client, station_a, county_manager, settings):
    client.force_login(county_manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.post("/county/cash/float/", {"station": station_a.code, "amount": "200"})

    response = client.post("/county/cash/float/", {"station": station_a.code, "amount": "-50.5"}, follow=True)

    assert f"Float of -¥50.50 recorded for {station_a.name}." in response.content.decode()
    assert drawer_of(station_a) == Decimal("149.50")


def test_an_assistant_takes_payments_but_does_not_close_or_hand_cash_over(client, order_placed, station_a):
    from tests.factories import StationStaffFactory, UserFactory

    assistant = UserFactory(username="ann")
    StationStaffFactory(user=assistant, service_center=station_a, role="assistant")
    client.force_login(assistant)

    client.post(f"/orders/{order_placed.number}/confirm/", {"consent_code": order_placed.consent_code})

    assert CashEntry.objects.get().created_by == assistant
    assert client.get("/cash/").status_code == 200
    assert client.get("/cash/close/").status_code == 403
    assert (
        client.post(
            "/cash/remittances/new/", {"amount": "1", "slip_number": "x", "handed_to": "county", "step": "confirm"}
        ).status_code
        == 403
    )


def test_entries_are_append_only(sold):
    entry = CashEntry.objects.get()
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        CashEntry.objects.update(note="x")
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
def test_postgresql_refuses_an_update_written_around_the_model(sold):
    from django.db import DatabaseError

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE cashbook_cashentry SET amount = 1")


def test_the_database_refuses_a_second_sale_for_an_order(sold, station_a):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError), transaction.atomic():
        services.record_sale(order=sold, amount=Decimal("1.00"), tender=payments.Tender(), change=Decimal("0"))


def test_the_drawer_is_re_derived_from_the_entries(client_a, sold, station_a, staff_a):
    order_services.cancel_order(order=sold, actor=staff_a, reason="x")
    returns.pay_refund(refund=sold.refunds.get(), actor=staff_a)
    services.give_float(station=station_a, actor=None, amount="50")

    total = sum(CashEntry.objects.filter(station=station_a, method="cash").values_list("amount", flat=True))
    assert drawer_of(station_a) == total == Decimal("50.00")


def _today() -> str:
    from django.utils import timezone

    return timezone.localdate().isoformat()


@pytest.fixture
def approved(station_a, sold, staff_a):
    """An approved statement of ¥50.00 at station A (a county that nets commission), 336.00 in the drawer."""
    from orders.models import CommissionStatement

    county = station_a.village.county
    county.commission_netting = True
    county.save()
    return CommissionStatement.objects.create(
        service_center=station_a, month=date(2026, 10, 1), status="approved", total=Decimal("50.00")
    )


def test_a_netting_station_keeps_its_commission_out_of_the_drawer(
    client_a, approved, station_a, client, county_manager
):
    page = client_a.get("/cash/").content.decode()
    confirm = client_a.get(f"/cash/commission/{approved.pk}/keep/")

    assert f"/cash/commission/{approved.pk}/keep/" in page
    assert confirm.status_code == 200 and "50.00" in confirm.content.decode()
    client_a.post(f"/cash/commission/{approved.pk}/keep/", {"total": "50.00"})

    approved.refresh_from_db()
    assert approved.status == "paid"
    entry = CashEntry.objects.get(kind=K.COMMISSION)
    assert (entry.amount, entry.statement_id) == (Decimal("-50.00"), approved.pk)
    assert drawer_of(station_a) == Decimal("286.00")
    # the county cannot pay it a second time
    from orders import commissions

    with pytest.raises(commissions.CommissionError):
        commissions.mark_paid(statement=approved, actor=county_manager)


def test_a_netting_county_does_not_pay_a_statement_separately(approved, county_manager):
    from orders import commissions

    with pytest.raises(commissions.CommissionError, match="nets commission"):
        commissions.mark_paid(statement=approved, actor=county_manager)
    approved.refresh_from_db()
    assert approved.status == "approved" and not CashEntry.objects.filter(kind=K.COMMISSION).exists()


def test_a_stale_amount_keeps_nothing(client_a, approved):
    client_a.post(f"/cash/commission/{approved.pk}/keep/", {"total": "49.00"})
    client_a.post(f"/cash/commission/{approved.pk}/keep/", {"total": "not money"})

    approved.refresh_from_db()
    assert approved.status == "approved" and not CashEntry.objects.filter(kind=K.COMMISSION).exists()


def test_the_county_sets_a_stations_credit_limit(client, station_a, station_b, county_manager):
    client.force_login(county_manager)
    client.post("/county/cash/limit/", {"limit-station": station_a.code, "limit-limit": "3500"})
    client.post("/county/cash/limit/", {"limit-station": station_b.code, "limit-limit": "9"})  # not its county

    station_a.refresh_from_db()
    station_b.refresh_from_db()
    assert (station_a.pay_on_pickup_limit, station_b.pay_on_pickup_limit) == (Decimal("3500.00"), Decimal("2000.00"))


def paid_by_mobile_refunded_in_cash(order, staff) -> None:
    """Paid by mobile, cancelled, and its refund paid out of the drawer in cash: the book goes below zero."""
    order_services.confirm_payment(
        order=order,
        actor=staff,
        tender=payments.Tender(method="mobile", reference="4200001234"),
        consent_code=order.consent_code,
    )
    order_services.cancel_order(order=order, actor=staff, reason="不要了")
    returns.pay_refund(refund=order.refunds.get(), actor=staff)


def test_a_day_closes_when_the_book_is_below_zero(client_a, order_placed, staff_a, station_a):
    # paid by mobile, cancelled, and its refund paid out of the drawer in cash: the book is ¥336 below zero
    paid_by_mobile_refunded_in_cash(order_placed, staff_a)
    assert drawer_of(station_a) == Decimal("-336.00")

    preview = client_a.post("/cash/close/", {"day": _today(), "counted": "0", "step": "preview"})
    assert preview.context["preview"].expected == Decimal("-336.00")
    response = client_a.post(
        "/cash/close/",
        {"day": _today(), "counted": "0", "expected": "-336.00", "note": "退款垫付", "step": "confirm"},
    )

    assert response.status_code == 302, response.content.decode()
    close = DayClose.objects.get()
    assert (close.expected, close.difference) == (Decimal("-336.00"), Decimal("336.00"))
    assert drawer_of(station_a) == Decimal("0.00")


def test_the_county_page_shows_the_money_to_the_fen(client, station_a, county_manager):
    for amount in ("0.10", "0.20", "336.00"):  # SQLite sums these as floats: 336.300000000000
        services.give_float(station=station_a, actor=county_manager, amount=amount)
    client.force_login(county_manager)

    page = client.get("/county/cash/").content.decode()
    csv = client.get("/county/cash.csv").content.decode("utf-8-sig")

    assert "¥336.30<" in page and "336.3000" not in page
    assert ",336.30," in csv and "336.3000" not in csv


def test_a_book_below_zero_shows_the_sign_before_the_currency(client_a, order_placed, staff_a, station_a):
    # given a mobile payment refunded in cash: the drawer is ¥336 below zero by the book
    paid_by_mobile_refunded_in_cash(order_placed, staff_a)

    # when the partner looks at the book, the dashboard's tile, the remittance form and a count of ¥0
    pages = [
        client_a.get("/cash/").content.decode(),
        client_a.get("/cash/tile/").content.decode(),
        client_a.get("/cash/remittances/new/").content.decode(),
        client_a.post("/cash/close/", {"day": _today(), "counted": "0", "step": "preview"}).content.decode(),
    ]

    # then every one shows -¥336.00, and none ¥-336.00
    for page in pages:
        assert "-¥336.00" in page and "¥-" not in page
    assert "+¥336.00" in pages[3]  # the difference, a change: with its plus
