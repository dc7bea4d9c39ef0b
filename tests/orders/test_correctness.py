"""Regression tests of the correctness issue: order numbers, the one transition function, pay on pickup."""

import re
from decimal import Decimal

import pytest

from orders import placement, services
from orders.models import Order, OrderEvent

S = Order.Status


# --- order numbers ------------------------------------------------------------------------


def test_an_order_number_is_the_day_and_two_groups_of_five():
    number = services.new_order_number()

    assert re.fullmatch(r"\d{6}-[2-9A-HJ-NP-Z]{5}-[2-9A-HJ-NP-Z]{5}", number), number


def test_a_number_collision_draws_again_instead_of_failing(place_at_a, fertilizer_stock, monkeypatch):
    # given an order that holds a number
    first = place_at_a((fertilizer_stock.product, 1), key="first").order
    draws = iter([first.number, first.number, "261201-ZZZZZ-ZZZZZ"])
    monkeypatch.setattr(placement, "new_order_number", lambda: next(draws))

    # when the next placement draws that number twice
    second = place_at_a((fertilizer_stock.product, 1), key="second")

    # then it is placed under the third draw, and the stock is reserved once
    assert second.created
    assert second.order.number == "261201-ZZZZZ-ZZZZZ"
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_a_replayed_key_still_returns_the_first_order_and_does_not_draw_again(place_at_a, fertilizer_stock):
    first = place_at_a((fertilizer_stock.product, 1), key="same").order

    again = place_at_a((fertilizer_stock.product, 1), key="same")

    assert (again.created, again.order.pk) == (False, first.pk)


# --- one transition function --------------------------------------------------------------


def test_transition_many_moves_all_or_none_and_writes_events_only_for_moved_rows(place_at_a, fertilizer_stock, staff_a):
    # given two placed orders, one of which a clerk confirms a moment earlier
    one = place_at_a((fertilizer_stock.product, 1), key="one").order
    two = place_at_a((fertilizer_stock.product, 1), key="two").order
    services.confirm_payment(order=two, consent_code=two.consent_code, actor=staff_a)
    events_before = OrderEvent.objects.count()

    # when both are moved from placed to confirmed in one step
    with pytest.raises(services.InvalidTransition):
        services.transition_many([one.pk, two.pk], from_status=S.PLACED, to=S.CONFIRMED, actor=staff_a)

    # then nothing moved and no event was written
    assert Order.objects.get(pk=one.pk).status == S.PLACED
    assert OrderEvent.objects.count() == events_before


def test_transition_many_of_moving_rows_writes_one_event_each(place_at_a, fertilizer_stock, staff_a):
    orders = [place_at_a((fertilizer_stock.product, 1), key=f"k{n}").order for n in range(3)]

    moved = services.transition_many([o.pk for o in orders], from_status=S.PLACED, to=S.CONFIRMED, actor=staff_a)

    assert moved == 3
    for order in orders:
        assert list(order.events.values_list("to_status", flat=True)) == [S.PLACED, S.CONFIRMED]


def test_a_step_outside_the_life_cycle_is_refused(order_placed):
    with pytest.raises(services.InvalidTransition):
        services.transition_many([order_placed.pk], from_status=S.PLACED, to=S.COLLECTED)
    with pytest.raises(services.InvalidTransition):
        services.transition(order_placed, to=S.COLLECTED)


# --- pay on pickup --------------------------------------------------------------------------


@pytest.fixture
def pay_on_pickup(place_at_a, fertilizer_stock) -> Order:
    return place_at_a((fertilizer_stock.product, 2), key="pop", payment_method=Order.PaymentMethod.PAY_ON_PICKUP).order


def test_a_pay_on_pickup_order_is_confirmed_without_payment(pay_on_pickup, staff_a):
    services.confirm_payment(order=pay_on_pickup, consent_code=pay_on_pickup.consent_code, actor=staff_a)

    pay_on_pickup.refresh_from_db()
    assert (pay_on_pickup.status, pay_on_pickup.paid_at) == (S.CONFIRMED, None)
    assert services.amount_due_at_pickup(pay_on_pickup) == Decimal("336.00")


def test_a_cash_order_is_paid_when_confirmed(order_placed, staff_a):
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)

    order_placed.refresh_from_db()
    assert order_placed.paid_at is not None
    assert services.amount_due_at_pickup(order_placed) == 0


def test_a_pay_on_pickup_hand_over_takes_the_payment_in_the_same_step(pay_on_pickup, staff_a, deliver):
    deliver(pay_on_pickup, actor=staff_a)

    with pytest.raises(services.PaymentRequired):
        services.hand_over(order=pay_on_pickup, actor=staff_a, pickup_code=pay_on_pickup.pickup_code)
    assert Order.objects.get(pk=pay_on_pickup.pk).status == S.AT_STATION
    services.hand_over(order=pay_on_pickup, actor=staff_a, pickup_code=pay_on_pickup.pickup_code, payment_taken=True)

    pay_on_pickup.refresh_from_db()
    assert pay_on_pickup.status == S.COLLECTED
    assert pay_on_pickup.paid_at is not None


def test_the_order_page_asks_for_the_money_at_hand_over_not_before_dispatch(client_a, pay_on_pickup, staff_a, deliver):
    client_a.cookies["django_language"] = "en"

    placed_page = client_a.get(f"/orders/{pay_on_pickup.number}/").content.decode()
    deliver(pay_on_pickup, actor=staff_a)
    at_station_page = client_a.get(f"/orders/{pay_on_pickup.number}/").content.decode()
    refused = client_a.post(f"/orders/{pay_on_pickup.number}/hand-over/", {"pickup_code": pay_on_pickup.pickup_code})
    taken = client_a.post(
        f"/orders/{pay_on_pickup.number}/hand-over/",
        {"pickup_code": pay_on_pickup.pickup_code, "payment_taken": "on"},
    )

    assert "Collect ¥" not in placed_page
    assert "Confirm (pay on pickup)" in placed_page
    assert 'name="payment_taken"' in at_station_page
    assert "¥336.00" in at_station_page
    assert refused.status_code == 409
    assert taken.status_code == 302
    assert Order.objects.get(pk=pay_on_pickup.pk).status == S.COLLECTED
