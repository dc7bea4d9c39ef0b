"""Returns by line, goods sent back, refunds, and stock that moves only when the warehouse receives the goods."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog import stock as stocks
from catalog.models import Stock, StockMovement
from orders import returns, services
from orders.models import CommissionEntry, GoodsReturn, Order, Refund
from tests.factories import ProductFactory, StockFactory

S = Order.Status
E = CommissionEntry.Kind


@pytest.fixture(autouse=True)
def in_english():
    with translation.override("en"):  # the refusals are matched by their English text
        yield


def movements_of(product, warehouse) -> tuple[int, int]:
    """(on hand, quarantined) the goods received back added: their movements, summed."""
    moved = StockMovement.objects.filter(product=product, warehouse=warehouse, kind__in=["returned", "quarantined"])
    return (
        sum(moved.values_list("on_hand_delta", flat=True)),
        sum(moved.values_list("quarantined_delta", flat=True)),
    )


@pytest.fixture
def hoe(warehouse_a):
    product = ProductFactory(sku="HOE", name="锄头", price=Decimal("19.90"))
    StockFactory(product=product, warehouse=warehouse_a, on_hand=30)
    return product


@pytest.fixture
def collected(place_at_a, fertilizer_stock, hoe, deliver, staff_a):
    """3 bags of fertilizer (168.00) and 7 hoes (19.90), collected: commission 3% of each line."""
    order = place_at_a((fertilizer_stock.product, 3), (hoe, 7), key="collected", notify=False).order
    deliver(order, actor=staff_a)
    return services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)


def lines_of(order: Order) -> dict:
    return {line.product.sku: line for line in order.lines.select_related("product")}


def reversed_total(order: Order) -> Decimal:
    return -sum(CommissionEntry.objects.filter(order=order, kind=E.REVERSAL).values_list("amount", flat=True))


def test_a_return_of_some_units_reverses_their_commission_and_owes_their_price(collected, staff_a):
    lines = lines_of(collected)
    hoes = lines["HOE"]

    goods = returns.return_lines(
        order=collected, actor=staff_a, lines=[returns.LineBack(hoes.pk, 3, "damaged")], note="三把坏了"
    )

    # 3 of 7 hoes: 3/7 of the line's 139.30 and of its 4.18 commission, to the fen
    assert Refund.objects.get(goods_return=goods).amount == Decimal("59.70")
    assert reversed_total(collected) == Decimal("1.79")
    collected.refresh_from_db()
    assert collected.status == S.COLLECTED
    assert lines_of(collected)["HOE"].returned_quantity == 3
    assert (goods.kind, goods.status, goods.weight_kg) == ("return", "waiting", 3 * hoes.product.weight_kg)


def test_returning_a_line_in_parts_reverses_exactly_its_commission_and_all_lines_make_it_returned(collected, staff_a):
    lines = lines_of(collected)
    for units in (3, 3, 1):  # 3/7 + 3/7 + 1/7 of a commission that does not split evenly
        returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(lines["HOE"].pk, units)])
    returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(lines["FERT-50"].pk, 3)])

    collected.refresh_from_db()
    assert collected.status == S.RETURNED
    assert reversed_total(collected) == collected.commission_total
    assert sum(Refund.objects.filter(order=collected).values_list("amount", flat=True)) == collected.total


def test_more_units_than_are_left_are_refused_and_nothing_changes(collected, staff_a):
    hoes = lines_of(collected)["HOE"]
    returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(hoes.pk, 5)])

    with pytest.raises(services.OrderError, match="Only 2"):
        returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(hoes.pk, 3)])

    assert GoodsReturn.objects.count() == 1 and lines_of(collected)["HOE"].returned_quantity == 5


def test_nothing_to_return_and_other_orders_lines_are_refused(collected, staff_a, order_placed):
    with pytest.raises(services.OrderError, match="at least one"):
        returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(lines_of(collected)["HOE"].pk, 0)])
    foreign = order_placed.lines.get().pk
    with pytest.raises(services.OrderError, match="not part"):
        returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(foreign, 1)])
    assert not GoodsReturn.objects.exists()


def test_each_category_has_its_own_window_and_some_goods_cannot_come_back(collected, staff_a, settings):
    lines = lines_of(collected)
    seeds = lines["FERT-50"].product.category
    seeds.return_days = 0
    seeds.save()
    tools = lines["HOE"].product.category
    tools.return_days = 30
    tools.save()
    Order.objects.filter(pk=collected.pk).update(collected_at=timezone.now() - timedelta(days=20))
    collected.refresh_from_db()

    with pytest.raises(services.OrderError, match="cannot be returned"):
        returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(lines["FERT-50"].pk, 1)])
    returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(lines["HOE"].pk, 1)])  # day 20 of 30

    assert returns.return_deadline(collected) == collected.collected_at + timedelta(days=30)


def test_the_warehouse_counts_the_goods_in_sellable_and_damaged(collected, staff_a, hoe, warehouse_a):
    hoes = lines_of(collected)["HOE"]
    goods = returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(hoes.pk, 4)])
    before = Stock.objects.get(product=hoe, warehouse=warehouse_a)

    line = goods.lines.get()
    with pytest.raises(services.OrderError, match="at most 4"):
        returns.receive_goods_back(goods=goods, actor=staff_a, counts={line.pk: (4, 1)})
    returns.receive_goods_back(goods=goods, actor=staff_a, counts={line.pk: (3, 1)})
    returns.receive_goods_back(goods=goods, actor=staff_a, counts={line.pk: (0, 4)})  # twice: nothing more

    after = Stock.objects.get(product=hoe, warehouse=warehouse_a)
    assert (after.on_hand - before.on_hand, after.quarantined - before.quarantined) == (3, 1)
    assert movements_of(hoe, warehouse_a) == (3, 1)  # each unit recorded
    goods.refresh_from_db()
    assert (goods.status, goods.received_by) == ("received", staff_a)


def test_quarantined_units_are_never_sold_until_released(collected, staff_a, hoe, warehouse_a):
    hoes = lines_of(collected)["HOE"]
    goods = returns.return_lines(order=collected, actor=staff_a, lines=[returns.LineBack(hoes.pk, 2)])
    returns.receive_goods_back(goods=goods, actor=staff_a, counts={goods.lines.get().pk: (0, 2)})
    stock = Stock.objects.get(product=hoe, warehouse=warehouse_a)
    free = stock.available

    with pytest.raises(stocks.StockError, match="2 units in quarantine"):
        stocks.write_off_from_quarantine(product=hoe, warehouse=warehouse_a, quantity=3, actor=staff_a, note="坏")
    stocks.release_from_quarantine(product=hoe, warehouse=warehouse_a, quantity=1, actor=staff_a, note="检查完好")
    stocks.write_off_from_quarantine(product=hoe, warehouse=warehouse_a, quantity=1, actor=staff_a, note="报废")

    stock.refresh_from_db()
    assert (stock.available, stock.quarantined) == (free + 1, 0)
    kinds = StockMovement.objects.filter(product=hoe).values_list("kind", "on_hand_delta", "quarantined_delta")
    assert set(kinds.filter(kind__startswith="q_")) == {("q_released", 1, -1), ("q_write_off", 0, -1)}


def test_goods_refused_at_the_station_go_back_and_the_paid_order_is_cancelled_with_a_refund_on_arrival(
    place_at_a, fertilizer_stock, deliver, staff_a
):
    order = deliver(place_at_a((fertilizer_stock.product, 2), notify=False).order, actor=staff_a)

    goods = returns.send_back(order=order, actor=staff_a, kind="refused", reason="村民拒收")
    order.refresh_from_db()
    assert order.status == S.GOING_BACK and not Refund.objects.exists()

    returns.receive_goods_back(goods=goods, actor=staff_a)

    order.refresh_from_db()
    assert order.status == S.CANCELLED
    assert Refund.objects.get(order=order).amount == order.total
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.on_hand == 20  # back on the shelf
    assert not CommissionEntry.objects.filter(order=order).exists()  # none ever accrued


def test_only_goods_waiting_at_the_station_can_be_sent_back(order_placed, staff_a):
    with pytest.raises(services.InvalidTransition):
        returns.send_back(order=order_placed, actor=staff_a, kind="refused")
    with pytest.raises(services.OrderError, match="refused or not collected"):
        returns.send_back(order=order_placed, actor=staff_a, kind="return")


def test_a_paid_order_cancelled_owes_its_refund_once_and_it_is_paid_once(order_placed, staff_a):
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    services.cancel_order(order=order_placed, actor=staff_a, reason="村民改主意了")
    refund = Refund.objects.get(order=order_placed)
    assert returns.refunds_total(station=order_placed.service_center) == order_placed.total

    with pytest.raises(services.OrderError, match="check it"):
        returns.pay_refund(refund=refund, actor=staff_a, expected_amount=refund.amount + 1)
    paid = returns.pay_refund(refund=refund, actor=staff_a, expected_amount=refund.amount)
    again = returns.pay_refund(refund=refund, actor=staff_a, expected_amount=refund.amount)

    assert paid.paid_at == again.paid_at and paid.paid_by == staff_a
    assert returns.refunds_owed(station=order_placed.service_center) == []


def test_an_unpaid_order_cancelled_owes_nothing(order_placed, staff_a):
    services.cancel_order(order=order_placed, actor=staff_a)

    assert not Refund.objects.exists()


KEYS = iter(range(10**6))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    quantity=st.integers(1, 9),
    price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999.99"), places=2),
    cuts=st.lists(st.integers(1, 9), max_size=8),
)
def test_a_line_returned_in_any_parts_gives_back_exactly_its_commission_and_price(
    quantity, price, cuts, place_at_a, deliver, staff_a, warehouse_a
):
    """However a line comes back (one part at a time, through the service), the parts add up to it, to the fen."""
    product = ProductFactory(price=price, seller__default_commission_rate=Decimal("7.77"))
    StockFactory(product=product, warehouse=warehouse_a, on_hand=quantity)
    order = deliver(place_at_a((product, quantity), key=f"p-{next(KEYS)}", notify=False).order, actor=staff_a)
    order = services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)
    line = order.lines.get()
    left = quantity
    for cut in [*cuts, quantity]:
        part = min(cut, left)
        if part == 0:
            break
        returns.return_lines(order=order, actor=staff_a, lines=[returns.LineBack(line.pk, part)])
        left -= part

    assert reversed_total(order) == line.commission_amount
    assert sum(Refund.objects.filter(order=order).values_list("amount", flat=True)) == line.line_total
    assert all(
        a < 0 for a in CommissionEntry.objects.filter(order=order, kind=E.REVERSAL).values_list("amount", flat=True)
    )
