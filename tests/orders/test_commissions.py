"""The commission ledger: exact to the fen, append-only, filed once into monthly statements."""

from datetime import date, datetime
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import translation

from catalog.models import Stock
from catalog.money import percent_of
from orders import commissions, returns, services
from orders.models import CommissionEntry, CommissionStatement, Order
from ruralshop.ledgers import LedgerIsAppendOnly
from tests.conftest import requires_postgres
from tests.factories import CountyManagerFactory, UserFactory
from tests.order_steps import arrive, depart

E = CommissionEntry.Kind
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def english():
    # The refusals are matched on their English text; the default language is Chinese.
    with translation.override("en"):
        yield


def at(year, month, day, hour=12):
    return datetime(year, month, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def deliver(staff_a):
    """Carry a placed order to the station and hand it over."""

    def run(order: Order) -> Order:
        services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
        services.transition(order, to=Order.Status.BATCHED)
        depart(order=order)
        arrive(order=order, notify=False)
        return services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)

    return run


@pytest.fixture
def place(station_a, villager_a, staff_a, fertilizer_stock):
    Stock.objects.filter(pk=fertilizer_stock.pk).update(on_hand=10_000)
    counter = iter(range(10_000))

    def run(quantity: int = 1) -> Order:
        return services.place_order(
            station=station_a,
            villager=villager_a,
            placed_by=staff_a,
            lines=[services.LineRequest(fertilizer_stock.product.sku, quantity)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=f"c-{next(counter)}",
            notify=False,
        ).order

    return run


# --- money ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "rate", "commission"),
    [
        ("99.99", "3.5", "3.50"),  # 3.49965 rounds half up
        ("168.00", "3.00", "5.04"),
        ("0.10", "5", "0.01"),  # 0.005 rounds up, not to even
        ("0.30", "5", "0.02"),  # 0.015
        ("2499.00", "1.5", "37.49"),  # 37.485
    ],
)
def test_it_rounds_commission_half_up_to_the_fen(amount, rate, commission):
    assert percent_of(Decimal(amount), Decimal(rate)) == Decimal(commission)


# --- earning and reversing ---------------------------------------------------------


def test_nothing_is_earned_at_placement(place):
    place()

    assert not CommissionEntry.objects.exists()


def test_it_accrues_the_frozen_commission_on_hand_over(place, deliver):
    order = deliver(place(quantity=2))

    entry = CommissionEntry.objects.get()
    assert entry.kind == E.ACCRUAL
    assert entry.amount == order.commission_total == sum(line.commission_amount for line in order.lines.all())
    assert entry.order == order


def test_a_return_posts_the_exact_negation(place, deliver, staff_a):
    order = deliver(place(quantity=3))

    returns.return_order(order=order, actor=staff_a, reason="坏了")

    accrual = CommissionEntry.objects.get(kind=E.ACCRUAL)
    reversal = CommissionEntry.objects.get(kind=E.REVERSAL)
    assert reversal.amount == -accrual.amount
    assert accrual.amount + reversal.amount == Decimal("0.00")


def test_processing_the_same_return_twice_posts_one_reversal(place, deliver, staff_a):
    order = deliver(place())
    returns.return_order(order=order, actor=staff_a, reason="坏了")

    again = commissions.post_reversal(order=order, actor=staff_a)

    assert CommissionEntry.objects.filter(kind=E.REVERSAL).count() == 1
    assert again.kind == E.REVERSAL


def test_cancelled_orders_earn_nothing(place, staff_a):
    order = place()
    services.cancel_order(order=order, actor=staff_a)

    assert not CommissionEntry.objects.exists()


# --- append-only ------------------------------------------------------------------------


def test_the_model_layer_refuses_to_change_or_delete_an_entry(place, deliver):
    deliver(place())
    entry = CommissionEntry.objects.get()

    entry.amount = Decimal("999.00")
    with pytest.raises(LedgerIsAppendOnly):
        entry.save()
    with pytest.raises(LedgerIsAppendOnly):
        entry.delete()
    with pytest.raises(LedgerIsAppendOnly):
        CommissionEntry.objects.all().delete()
    with pytest.raises(LedgerIsAppendOnly):
        CommissionEntry.objects.update(amount=Decimal("1.00"))
    assert CommissionEntry.objects.get().amount != Decimal("999.00")


@requires_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE orders_commissionentry SET amount = 1",
        "UPDATE orders_commissionentry SET note = 'edited'",
        "DELETE FROM orders_commissionentry",
    ],
)
def test_postgres_refuses_update_and_delete_of_an_entry(place, deliver, sql):
    deliver(place())

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)

    assert CommissionEntry.objects.count() == 1


@requires_postgres
def test_postgres_lets_an_unfiled_entry_be_filed_once(place, deliver, station_a):
    deliver(place())
    first = CommissionStatement.objects.create(service_center=station_a, month=date(2026, 1, 1))
    second = CommissionStatement.objects.create(service_center=station_a, month=date(2026, 2, 1))

    with connection.cursor() as cursor:
        cursor.execute("UPDATE orders_commissionentry SET statement_id = %s", [first.pk])
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE orders_commissionentry SET statement_id = %s", [second.pk])

    assert CommissionEntry.objects.get().statement_id == first.pk


# --- statements ------------------------------------------------------------------------------


def test_a_statement_totals_its_months_entries(place, deliver, station_a, staff_a):
    with time_machine.travel(at(2026, 9, 5)):
        a = deliver(place(quantity=2))
        b = deliver(place(quantity=1))
        returns.return_order(order=b, actor=staff_a, reason="退")
    with time_machine.travel(at(2026, 10, 2)):
        deliver(place(quantity=5))  # October: not in September's statement

    report = commissions.build_statements(month=date(2026, 9, 1))

    statement = CommissionStatement.objects.get(month=date(2026, 9, 1))
    assert report.entries == 3
    assert statement.total == a.commission_total
    assert statement.total == sum(e.amount for e in statement.entries.all())
    assert statement.service_center == station_a


def test_rebuilding_is_idempotent(place, deliver):
    with time_machine.travel(at(2026, 9, 5)):
        deliver(place())
    commissions.build_statements(month=date(2026, 9, 1))

    again = commissions.build_statements(month=date(2026, 9, 1))

    assert again.entries == 0
    assert CommissionStatement.objects.count() == 1


def test_a_return_after_approval_lands_in_the_next_statement(place, deliver, staff_a, county_manager):
    with time_machine.travel(at(2026, 9, 28)):
        order = deliver(place(quantity=2))
        commissions.build_statements(month=date(2026, 9, 1))
        september = CommissionStatement.objects.get()
        commissions.approve_statement(statement=september, actor=county_manager)
        returns.return_order(order=order, actor=staff_a, reason="退")  # still September, but September is closed
        commissions.build_statements(month=date(2026, 9, 1))

    october = CommissionStatement.objects.get(month=date(2026, 10, 1))
    september.refresh_from_db()
    assert september.total == order.commission_total
    assert october.total == -order.commission_total  # the clawback
    assert CommissionEntry.objects.filter(statement__isnull=True).count() == 0


def test_paying_writes_a_payout_of_minus_the_total(place, deliver, county_manager):
    with time_machine.travel(at(2026, 9, 5)):
        deliver(place(quantity=4))
    commissions.build_statements(month=date(2026, 9, 1))
    statement = CommissionStatement.objects.get()

    with pytest.raises(commissions.CommissionError):
        commissions.mark_paid(statement=statement, actor=county_manager)  # not approved yet
    commissions.approve_statement(statement=statement, actor=county_manager)
    commissions.mark_paid(statement=statement, actor=county_manager)

    payout = CommissionEntry.objects.get(kind=E.PAYOUT)
    statement.refresh_from_db()
    assert statement.status == CommissionStatement.Status.PAID
    assert payout.amount == -statement.total
    assert payout.statement == statement
    with pytest.raises(commissions.CommissionError):
        commissions.approve_statement(statement=statement, actor=county_manager)


def test_an_adjustment_needs_a_note_and_a_real_amount(station_a, admin_user):
    with pytest.raises(commissions.CommissionError):
        commissions.post_adjustment(station=station_a, amount=Decimal("5.00"), actor=admin_user, note=" ")
    with pytest.raises(commissions.CommissionError):
        commissions.post_adjustment(station=station_a, amount=Decimal("0.001"), actor=admin_user, note="x")

    entry = commissions.post_adjustment(station=station_a, amount=Decimal("-2.50"), actor=admin_user, note="多算了")

    assert entry.kind == E.ADJUSTMENT


def test_the_command_builds_every_month_with_unfiled_entries(place, deliver):
    for month in (8, 9):
        with time_machine.travel(at(2026, month, 10)):
            deliver(place())
    out = StringIO()

    with time_machine.travel(at(2026, 10, 15)):
        call_command("build_statements", stdout=out)

    assert set(CommissionStatement.objects.values_list("month", flat=True)) == {date(2026, 8, 1), date(2026, 9, 1)}
    assert "2026-09: 1 entries" in out.getvalue()


def test_the_command_refuses_a_malformed_month(db):
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("build_statements", "--month", "2026/9")


# --- pages ---------------------------------------------------------------------------------------


@pytest.fixture
def statement_a(place, deliver):
    with time_machine.travel(at(2026, 9, 5)):
        deliver(place(quantity=2))
    commissions.build_statements(month=date(2026, 9, 1))
    return CommissionStatement.objects.get()


def test_the_partner_sees_this_months_commission(client_a, place, deliver):
    order = deliver(place(quantity=2))

    response = client_a.get("/commissions/")

    assert response.context["summary"]["net"] == order.commission_total
    assert client_a.get("/").context["commission"]["net"] == order.commission_total


def test_the_statement_page_and_csv_list_the_entries(client_a, statement_a):
    entry = statement_a.entries.select_related("order").get()

    page = client_a.get(f"/commissions/{statement_a.pk}/").content.decode()
    csv = client_a.get(f"/commissions/{statement_a.pk}/csv/").content.decode("utf-8-sig")

    assert entry.order.number in page
    assert f"{entry.order.number},{entry.amount:.2f}" in csv
    assert csv.strip().splitlines()[-1].endswith(f"{statement_a.total:.2f},")


@pytest.mark.parametrize(
    ("language", "header"), [("en", "Date,Kind,Order,Amount,Note"), ("zh-hans", "日期,类型,订单,金额,备注")]
)
def test_the_statement_csv_has_its_header_in_the_partners_language(client_a, statement_a, settings, language, header):
    entry = statement_a.entries.select_related("order").get()
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    csv = client_a.get(f"/commissions/{statement_a.pk}/csv/").content.decode("utf-8-sig").splitlines()

    assert csv[0] == header
    # the rows stay machine-friendly in every language: the entry's kind as its code, a dot, two places
    assert csv[1].endswith(f",{entry.kind},{entry.order.number},{entry.amount:.2f},")


@pytest.mark.parametrize("suffix", ["", "csv/"])
def test_another_stations_statement_is_a_404(client, staff_b, statement_a, suffix):
    client.force_login(staff_b)

    assert client.get(f"/commissions/{statement_a.pk}/{suffix}").status_code == 404


def test_the_county_manager_approves_and_pays(client, county_manager, statement_a):
    client.force_login(county_manager)

    page = client.get("/county/commissions/").content.decode()
    client.post(f"/county/statements/{statement_a.pk}/approve/", {"total": f"{statement_a.total:.2f}"})
    client.post(f"/county/statements/{statement_a.pk}/paid/", {"total": f"{statement_a.total:.2f}"})

    assert statement_a.service_center.name in page
    statement_a.refresh_from_db()
    assert statement_a.status == CommissionStatement.Status.PAID


def test_a_manager_of_another_county_cannot_touch_the_statement(client, station_b, statement_a):
    other = CountyManagerFactory(user=UserFactory(username="dave"), county=station_b.village.county).user
    client.force_login(other)

    page = client.get("/county/commissions/").content.decode()
    response = client.post(f"/county/statements/{statement_a.pk}/approve/", {"total": f"{statement_a.total:.2f}"})

    assert statement_a.service_center.name not in page
    assert response.status_code == 404
    statement_a.refresh_from_db()
    assert statement_a.status == CommissionStatement.Status.DRAFT


def test_station_staff_do_not_see_the_county_page(client_a, statement_a):
    assert client_a.get("/county/").status_code == 404
    assert client_a.get("/county/commissions/").status_code == 404
    assert client_a.get(f"/county/statements/{statement_a.pk}/approve/").status_code == 404
    assert client_a.post(f"/county/statements/{statement_a.pk}/approve/").status_code == 404


# --- below zero: carried forward, never paid (issue #12, item 10) ----------------------------------------


def _ledger_balances():
    """The ledger re-derived: every entry, payouts included, sums to what the open statements and unfiled entries owe."""
    ledger = sum((e.amount for e in CommissionEntry.objects.all()), Decimal("0.00"))
    open_statements = sum(
        (s.total for s in CommissionStatement.objects.exclude(status=CommissionStatement.Status.PAID)), Decimal("0.00")
    )
    unfiled = sum((e.amount for e in CommissionEntry.objects.filter(statement__isnull=True)), Decimal("0.00"))
    assert ledger == open_statements + unfiled
    for statement in CommissionStatement.objects.all():
        filed = statement.entries.exclude(kind=E.PAYOUT)
        assert statement.total == sum((e.amount for e in filed), Decimal("0.00"))
    assert not CommissionEntry.objects.filter(kind=E.PAYOUT, amount__gt=0).exists()


@pytest.fixture
def clawed_back_may(place, deliver, staff_a, county_manager):
    """April's commission paid; in May the order comes back: May's statement ends below zero."""
    with time_machine.travel(at(2026, 4, 28)):
        order = deliver(place(quantity=2))
    with time_machine.travel(at(2026, 4, 30, 18)):
        commissions.build_statements(month=date(2026, 4, 1))
        april = CommissionStatement.objects.get(month=date(2026, 4, 1))
        commissions.approve_statement(statement=april, actor=county_manager)
        commissions.mark_paid(statement=april, actor=county_manager)
    with time_machine.travel(at(2026, 5, 3)):
        returns.return_order(order=order, actor=staff_a, reason="退")
    with time_machine.travel(at(2026, 6, 1, 2)):
        commissions.build_statements(month=date(2026, 5, 1))
    may = CommissionStatement.objects.get(month=date(2026, 5, 1))
    assert may.total == -order.commission_total
    return may


def test_a_statement_below_zero_cannot_be_approved_it_carries_forward(clawed_back_may, county_manager):
    with pytest.raises(commissions.CommissionError, match="carries forward") as refused:
        commissions.approve_statement(statement=clawed_back_may, actor=county_manager)

    assert f"ends at -¥{-clawed_back_may.total:.2f}, below zero" in str(refused.value)  # not ¥-

    clawed_back_may.refresh_from_db()
    assert clawed_back_may.status == CommissionStatement.Status.DRAFT
    assert not CommissionEntry.objects.filter(kind=E.PAYOUT, statement=clawed_back_may).exists()


def test_paying_a_statement_below_zero_is_refused_never_an_integrity_error(clawed_back_may, county_manager):
    # given a negative statement approved before approval refused them
    CommissionStatement.objects.filter(pk=clawed_back_may.pk).update(status=CommissionStatement.Status.APPROVED)

    with pytest.raises(commissions.CommissionError, match="carries forward"):
        commissions.mark_paid(statement=clawed_back_may, actor=county_manager)

    clawed_back_may.refresh_from_db()
    assert clawed_back_may.status == CommissionStatement.Status.APPROVED
    assert not CommissionEntry.objects.filter(kind=E.PAYOUT, statement=clawed_back_may).exists()


def test_the_next_statement_takes_the_negative_balance_along(clawed_back_may, place, deliver, county_manager):
    clawback = clawed_back_may.total
    with time_machine.travel(at(2026, 6, 10)):
        june_order = deliver(place(quantity=5))
    with time_machine.travel(at(2026, 7, 1, 2)):
        report = commissions.build_statements(month=date(2026, 6, 1))

    june = CommissionStatement.objects.get(month=date(2026, 6, 1))
    clawed_back_may.refresh_from_db()
    assert report.carried == 1
    assert clawed_back_may.total == Decimal("0.00")
    assert june.total == june_order.commission_total + clawback
    carried_in = june.entries.get(kind=E.ADJUSTMENT)
    assert carried_in.amount == clawback
    assert "2026-05" in carried_in.note
    _ledger_balances()
    # June pays what is left after the clawback; May is never paid
    commissions.approve_statement(statement=june, actor=county_manager)
    commissions.mark_paid(statement=june, actor=county_manager)
    assert CommissionEntry.objects.get(kind=E.PAYOUT, statement=june).amount == -june.total
    assert commissions.build_statements(month=date(2026, 6, 1)).carried == 0  # a rebuild carries nothing twice
    _ledger_balances()


def test_a_zero_statement_is_approved_and_closed_without_a_payout(place, deliver, staff_a, county_manager):
    with time_machine.travel(at(2026, 9, 5)):
        order = deliver(place())
        returns.return_order(order=order, actor=staff_a, reason="退")
    commissions.build_statements(month=date(2026, 9, 1))
    statement = CommissionStatement.objects.get()
    assert statement.total == Decimal("0.00")

    commissions.approve_statement(statement=statement, actor=county_manager)
    commissions.mark_paid(statement=statement, actor=county_manager)

    statement.refresh_from_db()
    assert statement.status == CommissionStatement.Status.PAID
    assert not CommissionEntry.objects.filter(kind=E.PAYOUT).exists()
    _ledger_balances()


def test_approving_refuses_a_statement_that_changed_since_it_was_shown(statement_a, county_manager):
    with pytest.raises(commissions.CommissionError, match="changed"):
        commissions.approve_statement(
            statement=statement_a, actor=county_manager, expected_total=statement_a.total + Decimal("1.00")
        )

    statement_a.refresh_from_db()
    assert statement_a.status == CommissionStatement.Status.DRAFT


# --- the county's confirmation pages --------------------------------------------------------------------

EN = {"django_language": "en"}


@pytest.fixture
def county_client(client, county_manager):
    client.force_login(county_manager)
    client.cookies.load(EN)
    return client


@pytest.mark.parametrize("action", ["approve", "paid"])
def test_money_moves_only_after_a_confirmation_page(county_client, statement_a, county_manager, action):
    if action == "paid":
        commissions.approve_statement(statement=statement_a, actor=county_manager)

    page = county_client.get(f"/county/statements/{statement_a.pk}/{action}/")

    body = page.content.decode()
    assert page.status_code == 200
    assert statement_a.service_center.name in body
    assert "2026-09" in body
    assert f"{statement_a.total:.2f}" in body
    assert 'method="post"' in body
    assert "csrfmiddlewaretoken" in body
    assert f'name="total" value="{statement_a.total:.2f}"' in body
    statement_a.refresh_from_db()
    assert statement_a.status == ("draft" if action == "approve" else "approved")  # a GET changes nothing


def test_the_confirmation_page_of_a_statement_below_zero_says_it_carries_forward(county_client, clawed_back_may):
    page = county_client.get(f"/county/statements/{clawed_back_may.pk}/approve/")

    assert page.status_code == 200
    assert "carries forward" in page.content.decode()
    assert 'name="total"' not in page.content.decode()  # no button to press


@pytest.mark.parametrize("action", ["approve", "paid"])
def test_a_refused_action_on_a_statement_below_zero_is_a_message_not_a_500(county_client, clawed_back_may, action):
    if action == "paid":  # approved before approval refused them
        CommissionStatement.objects.filter(pk=clawed_back_may.pk).update(status=CommissionStatement.Status.APPROVED)

    response = county_client.post(
        f"/county/statements/{clawed_back_may.pk}/{action}/", {"total": f"{clawed_back_may.total:.2f}"}, follow=True
    )

    assert response.status_code == 200
    assert "carries forward" in " ".join(str(m) for m in response.context["messages"])
    assert not CommissionEntry.objects.filter(kind=E.PAYOUT, statement=clawed_back_may).exists()


def test_a_post_without_the_amount_shown_moves_no_money(county_client, statement_a):
    response = county_client.post(f"/county/statements/{statement_a.pk}/approve/", {"total": "x"})

    assert response.status_code == 302
    statement_a.refresh_from_db()
    assert statement_a.status == CommissionStatement.Status.DRAFT


def test_the_command_says_what_it_carried_forward(clawed_back_may, place, deliver):
    with time_machine.travel(at(2026, 6, 10)):
        deliver(place(quantity=5))
    out = StringIO()

    with time_machine.travel(at(2026, 7, 1, 2)):
        call_command("build_statements", "--month", "2026-06", stdout=out)

    assert "2026-06: 1 entries filed into 1 statements; 1 below zero carried forward" in out.getvalue()
