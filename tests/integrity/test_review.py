"""The county's review: each self-dealing signal fires on a constructed case and stays silent on a clean
station; flagged orders have their commission held out of statements until cleared, or clawed back exactly
when self-dealing is confirmed; call-backs are a random sample of slip orders; every decision keeps who and why."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrity import selectors, services
from integrity.models import CallBack, Review, ReviewPolicy, Signal
from orders import commissions, returns
from orders import services as orders
from orders.models import CommissionEntry, CommissionStatement, Order
from partners import services as partners
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart
from tests.orders.conftest import place as place_one

SHANGHAI = ZoneInfo("Asia/Shanghai")
E = CommissionEntry.Kind


@pytest.fixture
def strict(db):
    """Every signal fires at its first case (but the few-villagers one, which needs many orders)."""
    policy = ReviewPolicy(
        call_back_percent=0,  # the tests draw their call-backs themselves
        same_day_villager=1,
        shared_phone=1,
        no_code_handover=1,
        slip_reprint=1,
        call_back_denied=1,
        return_after_payout=1,
        outside_hours=1,
        few_villagers_count=1,
        few_villagers_percent=60,
        few_villagers_min_orders=100,  # the concentration test lowers it
    )
    policy.save()
    return policy


@pytest.fixture
def old_villager(station_a):
    """Registered long ago by nobody in particular: a clean case."""
    villager = VillagerFactory(service_center=station_a, name="老李", phone="+8613811110000")
    return villager


def place(station, villager, staff, product, key, qty=1) -> Order:
    """``tests.orders.conftest.place`` with the key and the quantity in the order these tests write them."""
    return place_one(station, villager, staff, product, quantity=qty, key=key)


def collect(order: Order, staff, *, without_code: bool = False) -> Order:
    orders.confirm_payment(order=order, actor=staff, consent_code=order.consent_code)
    orders.transition(order, to=Order.Status.BATCHED, actor=staff)
    depart(order=order, actor=staff)
    arrive(order=order, actor=staff, notify=False)
    if without_code:
        return orders.hand_over(order=order, actor=staff, without_code=orders.WithoutCode("丢了", "身份证 1234"))
    return orders.hand_over(order=order, actor=staff, pickup_code=order.pickup_code)


def this_month() -> date:
    return timezone.localdate().replace(day=1)


def signals_of(station) -> dict[int, set[str]]:
    return selectors.signals(station.village.county, this_month()).orders


def at_ten(fn):
    """Run ``fn`` at 10:00 local today: inside every station's opening hours."""
    with time_machine.travel(datetime.combine(timezone.localdate(), time(10), tzinfo=SHANGHAI), tick=False):
        return fn()


# --- each signal, and a clean station ---------------------------------------------------------------------


def test_a_clean_station_has_no_signal(strict, station_a, staff_a, old_villager, fertilizer_stock):
    order = at_ten(lambda: collect(place(station_a, old_villager, staff_a, fertilizer_stock.product, "clean"), staff_a))
    month = selectors.signals(station_a.village.county, this_month())
    assert month.orders == {} and month.flagged() == {}
    (row,) = month.stations
    assert row.fired == set() and row.commission == order.commission_total


def test_a_villager_registered_and_ordered_for_the_same_day_by_the_same_staff(
    strict, station_a, staff_a, fertilizer_stock, old_villager
):
    def both():
        new = partners.register_villager(station=station_a, created_by=staff_a, name="新人", phone="+8613822220000")
        return place(station_a, new, staff_a, fertilizer_stock.product, "new"), place(
            station_a, old_villager, staff_a, fertilizer_stock.product, "old"
        )

    new_order, old_order = at_ten(both)
    assert signals_of(station_a) == {new_order.pk: {Signal.SAME_DAY_VILLAGER}}


def test_a_phone_on_a_staff_member_or_on_two_villagers(strict, station_a, staff_a, fertilizer_stock, old_villager):
    staff_a.station_staff.phone = "+8613933330000"
    staff_a.station_staff.save()
    # the partner named their own phone as a villager's "family phone", and two villagers share another
    puppet = VillagerFactory(service_center=station_a, name="傀儡", phone="", code_phone="+8613933330000")
    twin = VillagerFactory(service_center=station_a, name="孪生", phone="+8613944440000")
    VillagerFactory(service_center=station_a, name="孪生二", phone="", code_phone="+8613944440000")
    orders_ = at_ten(
        lambda: [
            place(station_a, v, staff_a, fertilizer_stock.product, f"p{i}")
            for i, v in enumerate([puppet, twin, old_villager])
        ]
    )
    assert signals_of(station_a) == {orders_[0].pk: {Signal.SHARED_PHONE}, orders_[1].pk: {Signal.SHARED_PHONE}}


def test_a_hand_over_without_the_code(strict, station_a, staff_a, fertilizer_stock, old_villager):
    order = at_ten(
        lambda: collect(
            place(station_a, old_villager, staff_a, fertilizer_stock.product, "nc"), staff_a, without_code=True
        )
    )
    at_ten(lambda: collect(place(station_a, old_villager, staff_a, fertilizer_stock.product, "ok"), staff_a))
    assert signals_of(station_a) == {order.pk: {Signal.NO_CODE_HANDOVER}}


def test_a_reprinted_slip(strict, station_a, staff_a, fertilizer_stock):
    from orders import consent

    no_phone = VillagerFactory(service_center=station_a, phone="", sms_consent=False)
    once, twice = at_ten(
        lambda: [place(station_a, no_phone, staff_a, fertilizer_stock.product, k) for k in ("s1", "s2")]
    )
    for order in (once, twice):
        consent.print_slip(order=order, actor=staff_a)
    consent.print_slip(order=twice, actor=staff_a, reason="卡纸")
    assert signals_of(station_a) == {twice.pk: {Signal.SLIP_REPRINT}}


def test_a_call_back_denied_flags_the_order_at_once(strict, station_a, staff_a, county_manager, fertilizer_stock):
    no_phone = VillagerFactory(service_center=station_a, phone="", sms_consent=False)
    order = at_ten(lambda: place(station_a, no_phone, staff_a, fertilizer_stock.product, "cb"))
    orders.confirm_payment(order=order, actor=staff_a, consent_code=order.consent_code)
    call_back = CallBack.objects.create(order=order)
    services.record_call_back(call_back=call_back, actor=county_manager, result=CallBack.Result.DENIED, note="没买过")
    review = Review.objects.get(order=order)
    assert (review.status, review.signals) == (Review.Status.OPEN, [Signal.CALL_BACK_DENIED])
    assert Order.objects.get(pk=order.pk).commission_held
    with pytest.raises(services.ReviewError):
        services.record_call_back(call_back=call_back, actor=county_manager, result=CallBack.Result.CONFIRMED)


def test_a_return_after_the_commission_was_paid(
    strict, station_a, staff_a, county_manager, fertilizer_stock, old_villager
):
    order = at_ten(lambda: collect(place(station_a, old_villager, staff_a, fertilizer_stock.product, "rp"), staff_a))
    commissions.build_statements(month=this_month())
    statement = CommissionStatement.objects.get()
    commissions.approve_statement(statement=statement, actor=county_manager)
    commissions.mark_paid(statement=statement, actor=county_manager)
    returns.return_order(order=order, actor=staff_a, reason="不要了")  # now: after the payout
    assert signals_of(station_a)[order.pk] >= {Signal.RETURN_AFTER_PAYOUT}


def test_an_order_keyed_outside_opening_hours(strict, station_a, staff_a, fertilizer_stock, old_villager):
    late = datetime.combine(timezone.localdate(), time(22, 30), tzinfo=SHANGHAI)
    with time_machine.travel(late, tick=False):
        night = place(station_a, old_villager, staff_a, fertilizer_stock.product, "night")
    at_ten(lambda: place(station_a, old_villager, staff_a, fertilizer_stock.product, "day"))
    assert signals_of(station_a) == {night.pk: {Signal.OUTSIDE_HOURS}}


def test_commission_concentrated_on_a_few_villagers(strict, station_a, staff_a, fertilizer_stock, old_villager):
    strict.few_villagers_percent, strict.few_villagers_min_orders = 90, 2
    strict.save()
    other = VillagerFactory(service_center=station_a, name="别人", phone="+8613855550000")
    big = at_ten(lambda: collect(place(station_a, old_villager, staff_a, fertilizer_stock.product, "big", 5), staff_a))
    at_ten(lambda: collect(place(station_a, other, staff_a, fertilizer_stock.product, "small", 1), staff_a))
    month = selectors.signals(station_a.village.county, this_month())
    assert month.stations[0].top_share == 83 and month.orders == {}  # 5 of 6 bags: under 90 %
    strict.few_villagers_percent = 80
    strict.save()
    assert signals_of(station_a) == {big.pk: {Signal.FEW_VILLAGERS}}


def test_a_signal_under_its_threshold_flags_nothing(station_a, staff_a, fertilizer_stock, old_villager):
    # the defaults: three hand-overs without the code before it fires
    for key in ("a", "b"):
        at_ten(
            lambda key=key: collect(
                place(station_a, old_villager, staff_a, fertilizer_stock.product, key), staff_a, without_code=True
            )
        )
    month = selectors.signals(station_a.village.county, this_month())
    assert month.stations[0].counts[Signal.NO_CODE_HANDOVER] == 2 and month.flagged() == {}
    at_ten(
        lambda: collect(
            place(station_a, old_villager, staff_a, fertilizer_stock.product, "c"), staff_a, without_code=True
        )
    )
    assert len(selectors.signals(station_a.village.county, this_month()).flagged()) == 3


def test_the_signals_cost_the_same_queries_for_two_orders_or_twenty(strict, station_a, staff_a, fertilizer_stock):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            selectors.signals(station_a.village.county, this_month())
        return len(queries)

    for i in range(2):
        at_ten(
            lambda i=i: collect(
                place(station_a, VillagerFactory(service_center=station_a), staff_a, fertilizer_stock.product, f"q{i}"),
                staff_a,
            )
        )
    few = count()
    for i in range(2, 20):
        at_ten(
            lambda i=i: collect(
                place(station_a, VillagerFactory(service_center=station_a), staff_a, fertilizer_stock.product, f"q{i}"),
                staff_a,
            )
        )
    assert count() == few


# --- holding, clearing, clawing back --------------------------------------------------------------------


@pytest.fixture
def flagged(strict, station_a, staff_a, fertilizer_stock, old_villager) -> Review:
    """A collected order handed over without the code, flagged by the nightly check."""
    order = at_ten(
        lambda: collect(
            place(station_a, old_villager, staff_a, fertilizer_stock.product, "fl", 2), staff_a, without_code=True
        )
    )
    assert services.flag_month(station_a.village.county, this_month()) == 1
    assert services.flag_month(station_a.village.county, this_month()) == 0  # idempotent
    review = Review.objects.get(order=order)
    assert review.signals == [Signal.NO_CODE_HANDOVER]
    return review


def test_a_flagged_orders_commission_is_held_out_of_statements_until_cleared(flagged, county_manager):
    order = flagged.order
    assert Order.objects.get(pk=order.pk).commission_held
    commissions.build_statements(month=this_month())
    assert CommissionEntry.objects.get(order=order, kind=E.ACCRUAL).statement is None
    with pytest.raises(services.ReviewError):
        services.clear(review=flagged, actor=county_manager, reason=" ")
    services.clear(review=flagged, actor=county_manager, reason="电话核实，确是本人")
    flagged.refresh_from_db()
    assert (flagged.status, flagged.decided_by, flagged.reason) == (
        Review.Status.CLEARED,
        county_manager,
        "电话核实，确是本人",
    )
    commissions.build_statements(month=this_month())
    statement = CommissionStatement.objects.get()
    assert statement.total == order.commission_total
    with pytest.raises(services.ReviewError):
        services.confirm_self_dealing(review=flagged, actor=county_manager, reason="改主意")
    # a decided review stays decided when the check runs again
    services.flag_month(order.service_center.village.county, this_month())
    assert Review.objects.get(pk=flagged.pk).status == Review.Status.CLEARED


def test_confirmed_self_dealing_takes_back_exactly_what_the_order_earned(
    flagged, county_manager, staff_a, fertilizer_stock
):
    order = flagged.order
    # one of its two bags came back first: half the commission reversed already
    returns.return_lines(order=order, actor=staff_a, lines=[returns.LineBack(order.lines.get().pk, 1, "damaged")])
    earned = commissions.earned_on(order)
    assert earned == order.commission_total - order.commission_total / 2
    services.confirm_self_dealing(review=flagged, actor=county_manager, reason="给自己下单")
    flagged.refresh_from_db()
    assert flagged.clawed_back == earned and earned > 0
    assert commissions.earned_on(order) == Decimal("0.00")
    clawback = CommissionEntry.objects.get(order=order, kind=E.CLAWBACK)
    assert (clawback.amount, clawback.created_by) == (-earned, county_manager)
    order.refresh_from_db()
    assert (order.commission_void, order.commission_held) == (True, False)
    # the statement gets the accrual and the clawback together: nothing for this order
    commissions.build_statements(month=this_month())
    assert CommissionStatement.objects.get().total == Decimal("0.00")
    # a return after the clawback takes nothing more
    returns.return_order(order=order, actor=staff_a, reason="不要了")
    assert commissions.earned_on(order) == Decimal("0.00")


def test_self_dealing_confirmed_before_the_hand_over_means_no_commission_ever(
    strict, station_a, staff_a, county_manager, fertilizer_stock
):
    night = datetime.combine(timezone.localdate(), time(23), tzinfo=SHANGHAI)
    villager = VillagerFactory(service_center=station_a)
    with time_machine.travel(night, tick=False):
        order = place(station_a, villager, staff_a, fertilizer_stock.product, "early")
    services.flag_month(station_a.village.county, this_month())
    review = Review.objects.get(order=order)
    services.confirm_self_dealing(review=review, actor=county_manager, reason="半夜给不存在的人下单")
    assert Review.objects.get(pk=review.pk).clawed_back == Decimal("0.00")
    collect(Order.objects.get(pk=order.pk), staff_a)
    assert not CommissionEntry.objects.filter(order=order).exists()


# --- call-backs -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("percent", "drawn"), [(Decimal("100"), 3), (Decimal("0"), 0)])
def test_slip_orders_are_drawn_for_call_backs_by_the_policys_share(
    station_a, staff_a, fertilizer_stock, percent, drawn
):
    ReviewPolicy(call_back_percent=percent).save()
    no_phone = VillagerFactory(service_center=station_a, phone="", sms_consent=False)
    with_sms = VillagerFactory(service_center=station_a)
    for i in range(3):
        slip = place(station_a, no_phone, staff_a, fertilizer_stock.product, f"slip{i}")
        orders.confirm_payment(order=slip, actor=staff_a, consent_code=slip.consent_code)
        sms = place(station_a, with_sms, staff_a, fertilizer_stock.product, f"sms{i}")
        orders.confirm_payment(order=sms, actor=staff_a, consent_code=sms.consent_code)
    assert CallBack.objects.count() == drawn
    assert not CallBack.objects.filter(order__consent_via=Order.ConsentVia.SMS).exists()


def test_the_county_pages_show_its_reviews_and_call_backs(
    client, county_manager, flagged, station_a, staff_a, fertilizer_stock
):
    client.force_login(county_manager)
    page = client.get("/county/review/").content.decode()
    assert flagged.order.number in page and station_a.name in page
    detail = client.post(f"/county/reviews/{flagged.pk}/", {"decision": "confirm", "reason": "自买自卖"})
    assert detail.status_code == 200 and "¥" in detail.content.decode()  # the step that shows the amount first
    assert Review.objects.get(pk=flagged.pk).status == Review.Status.OPEN
    done = client.post(
        f"/county/reviews/{flagged.pk}/", {"decision": "confirm", "reason": "自买自卖", "step": "confirmed"}
    )
    assert done.status_code == 302 and Review.objects.get(pk=flagged.pk).status == Review.Status.CONFIRMED
    no_phone = VillagerFactory(service_center=station_a, phone="", sms_consent=False, code_phone="+8613966660000")
    slip = place(station_a, no_phone, staff_a, fertilizer_stock.product, "cbp")
    call_back = CallBack.objects.create(order=slip)
    page = client.get("/county/call-backs/").content.decode()
    assert slip.number in page and "tel:+8613966660000" in page
    client.post(f"/county/call-backs/{call_back.pk}/", {"result": "unreachable", "note": "没人接"})
    assert CallBack.objects.get(pk=call_back.pk).result == CallBack.Result.UNREACHABLE
