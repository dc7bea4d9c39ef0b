"""The order services: placement, every transition of the life cycle, stock, events."""

import itertools
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from catalog import money
from catalog.models import Stock
from orders import returns, services
from orders.models import Order, OrderEvent, OrderLine
from partners.models import ServiceCenter
from tests.factories import (
    CommissionRuleFactory,
    ProductFactory,
    PromotionFactory,
    SellerFactory,
    ServiceCenterFactory,
    StockFactory,
    VillagerFactory,
)
from tests.order_steps import arrive, depart

S = Order.Status
D = Decimal


@pytest.fixture(autouse=True)
def english():
    # The refusals are matched on their English text; the default language is Chinese.
    with translation.override("en"):
        yield


def stock_of(product, warehouse) -> Stock:
    return Stock.objects.get(product=product, warehouse=warehouse)


def events(order) -> list[tuple[str, str, str | None]]:
    return [
        (e.from_status, e.to_status, e.actor.username if e.actor else None)
        for e in OrderEvent.objects.filter(order=order).select_related("actor")
    ]


def set_status(order: Order, status: str) -> Order:
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


# --- placement -------------------------------------------------------------------


def test_it_places_an_order_and_freezes_prices_and_commission(place_at_a, fertilizer_stock, seeds_stock, warehouse_a):
    # given a 6.18 price on the fertilizer and rules that make the commission round
    fertilizer, seeds = fertilizer_stock.product, seeds_stock.product
    now = timezone.now()
    PromotionFactory(
        product=fertilizer, price=D("99.90"), starts_at=now - timedelta(hours=1), ends_at=now + timedelta(days=1)
    )
    CommissionRuleFactory(product=fertilizer, rate=D("2.5"))
    seeds.seller.default_commission_rate = D("3.33")
    seeds.seller.save()

    # when
    placement = place_at_a((fertilizer, 1), (seeds, 3), notes=" 放在门口 ")

    # then the lines hold the price and the rate in force, and the commission to the fen
    order = Order.objects.get(pk=placement.order.pk)
    assert placement.created is True
    lines = {line.product_id: line for line in OrderLine.objects.filter(order=order)}
    assert (lines[fertilizer.pk].unit_price, lines[fertilizer.pk].line_total) == (D("99.90"), D("99.90"))
    assert (lines[fertilizer.pk].commission_rate, lines[fertilizer.pk].commission_amount) == (D("2.50"), D("2.50"))
    assert (lines[seeds.pk].unit_price, lines[seeds.pk].line_total) == (D("45.50"), D("136.50"))
    assert (lines[seeds.pk].commission_rate, lines[seeds.pk].commission_amount) == (D("3.33"), D("4.55"))  # 4.54545
    # ... and the order adds them up
    assert order.status == S.PLACED
    assert order.total == D("236.40")
    assert order.commission_total == D("7.05")
    assert order.item_count == 4
    assert order.weight_kg == D("53.000")  # 50 + 3 × 1
    assert order.notes == "放在门口"
    assert re.fullmatch(r"\d{6}", order.pickup_code)
    assert order.warehouse == warehouse_a
    # ... one event, draft → placed, by the clerk
    assert events(order) == [(S.DRAFT, S.PLACED, "alice")]
    # ... and the stock is reserved, not yet taken out
    assert (stock_of(fertilizer, warehouse_a).reserved, stock_of(fertilizer, warehouse_a).on_hand) == (1, 20)
    assert (stock_of(seeds, warehouse_a).reserved, stock_of(seeds, warehouse_a).on_hand) == (3, 10)


def test_prices_stay_frozen_when_the_catalog_changes(order_placed, fertilizer):
    # given an order placed at 168.00 with the seller's 3%
    # when the price and the rates change afterwards
    fertilizer.price = D("200.00")
    fertilizer.save()
    CommissionRuleFactory(product=fertilizer, rate=D("10"))

    # then the order keeps what was agreed
    line = OrderLine.objects.get(order=order_placed)
    assert (line.unit_price, line.line_total, line.commission_rate, line.commission_amount) == (
        D("168.00"),
        D("336.00"),
        D("3.00"),
        D("10.08"),
    )
    assert Order.objects.get(pk=order_placed.pk).total == D("336.00")


def test_the_same_product_twice_becomes_one_line(place_at_a, fertilizer_stock):
    order = place_at_a((fertilizer_stock.product, 2), (fertilizer_stock.product, 3)).order

    assert list(OrderLine.objects.filter(order=order).values_list("quantity", flat=True)) == [5]
    assert stock_of(fertilizer_stock.product, fertilizer_stock.warehouse).reserved == 5


def assert_nothing_placed(fertilizer_stock):
    assert not Order.objects.exists()
    assert not OrderEvent.objects.exists()
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 0


def test_it_refuses_a_villager_of_another_station(place_at_a, fertilizer_stock, villager_b):
    with pytest.raises(services.OrderError, match="not registered at your station"):
        place_at_a((fertilizer_stock.product, 1), villager=villager_b)

    assert_nothing_placed(fertilizer_stock)


def test_it_refuses_a_product_that_is_not_on_sale(place_at_a, fertilizer_stock):
    fertilizer_stock.product.is_active = False
    fertilizer_stock.product.save()

    with pytest.raises(services.OrderError, match="FERT-50"):
        place_at_a((fertilizer_stock.product, 1))

    assert_nothing_placed(fertilizer_stock)


def test_it_refuses_an_unknown_sku_and_places_none_of_the_lines(place_at_a, fertilizer_stock):
    with pytest.raises(services.OrderError, match="NO-SUCH-SKU"):
        place_at_a((fertilizer_stock.product, 1), ("NO-SUCH-SKU", 1))

    assert_nothing_placed(fertilizer_stock)


@pytest.mark.parametrize("quantity", [0, -1, 1000, 2.5, "2", True, None], ids=repr)
def test_it_refuses_a_quantity_that_is_not_a_whole_number_from_1_to_999(place_at_a, fertilizer_stock, quantity):
    fertilizer_stock.on_hand = 2000
    fertilizer_stock.save()

    with pytest.raises(services.OrderError):
        place_at_a((fertilizer_stock.product, quantity))

    assert_nothing_placed(fertilizer_stock)


def test_it_refuses_more_than_999_of_a_product_split_over_two_lines(place_at_a, fertilizer_stock):
    fertilizer_stock.on_hand = 2000
    fertilizer_stock.save()

    with pytest.raises(services.OrderError, match="999"):
        place_at_a((fertilizer_stock.product, 500), (fertilizer_stock.product, 500))

    assert_nothing_placed(fertilizer_stock)


def test_it_accepts_999_of_a_product(place_at_a, fertilizer_stock):
    fertilizer_stock.on_hand = 999
    fertilizer_stock.save()

    order = place_at_a((fertilizer_stock.product, 999)).order

    assert order.item_count == 999


def test_it_refuses_an_order_without_lines(place_at_a, fertilizer_stock):
    with pytest.raises(services.OrderError, match="at least one product"):
        place_at_a()

    assert_nothing_placed(fertilizer_stock)


def test_it_refuses_home_installation_when_nothing_needs_installing(place_at_a, fertilizer_stock, villager_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    with pytest.raises(services.OrderError, match="installation"):
        place_at_a((fertilizer_stock.product, 1), delivery_method=Order.DeliveryMethod.HOME_INSTALLATION)

    assert_nothing_placed(fertilizer_stock)


def test_it_accepts_home_installation_when_one_product_needs_it(place_at_a, fertilizer_stock, warehouse_a, villager_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    heater = ProductFactory(sku="HEATER-60L", name="电热水器 60L", needs_installation=True)
    StockFactory(product=heater, warehouse=warehouse_a, on_hand=1)

    order = place_at_a(
        (fertilizer_stock.product, 1), (heater, 1), delivery_method=Order.DeliveryMethod.HOME_INSTALLATION
    ).order

    assert order.delivery_method == Order.DeliveryMethod.HOME_INSTALLATION


@pytest.mark.parametrize("status", [ServiceCenter.Status.SUSPENDED, ServiceCenter.Status.CLOSED])
def test_it_refuses_a_station_that_is_not_active(place_at_a, fertilizer_stock, station_a, status):
    station_a.status = status
    station_a.save()

    with pytest.raises(services.OrderError, match="not active"):
        place_at_a((fertilizer_stock.product, 1))

    assert_nothing_placed(fertilizer_stock)


def test_insufficient_stock_on_one_line_refuses_the_whole_order(place_at_a, fertilizer_stock, warehouse_a):
    # given fertilizer in stock, 2 of 3 water pumps available, and a tarpaulin never stocked here
    pump = ProductFactory(sku="PUMP-750W", name="水泵 750W")
    pump_stock = StockFactory(product=pump, warehouse=warehouse_a, on_hand=3, reserved=1)
    tarp = ProductFactory(sku="TARP-4x6", name="篷布 4×6m")

    # when
    with pytest.raises(services.InsufficientStock) as refused:
        place_at_a((fertilizer_stock.product, 2), (pump, 3), (tarp, 1))

    # then the short lines, and only them, are named
    assert refused.value.short == [
        services.ShortLine("PUMP-750W", "水泵 750W", requested=3, available=2),
        services.ShortLine("TARP-4x6", "篷布 4×6m", requested=1, available=0),
    ]
    assert "水泵 750W" in str(refused.value) and "篷布 4×6m" in str(refused.value)
    assert "复合肥" not in str(refused.value)
    # ... and nothing was reserved, not even the line that was available
    assert_nothing_placed(fertilizer_stock)
    pump_stock.refresh_from_db()
    assert pump_stock.reserved == 1


def test_it_refuses_when_the_county_has_no_warehouse(place_at_a, fertilizer_stock):
    # given a station in a county that has no warehouse yet
    station = ServiceCenterFactory(code="C-001")
    villager = VillagerFactory(service_center=station, phone="")

    with pytest.raises(services.OrderError, match="no warehouse"):
        place_at_a((fertilizer_stock.product, 1), station=station, villager=villager)

    assert_nothing_placed(fertilizer_stock)


# --- idempotency ----------------------------------------------------------------------


def test_the_same_key_returns_the_first_order(place_at_a, fertilizer_stock):
    # given
    first = place_at_a((fertilizer_stock.product, 2), key="form-7f3a")

    # when the clerk's browser submits the form again
    again = place_at_a((fertilizer_stock.product, 2), key="form-7f3a")

    # then the first order, not a second one, and no second reservation
    assert (first.created, again.created) == (True, False)
    assert again.order.pk == first.order.pk
    assert again.order.pickup_code == first.order.pickup_code
    assert Order.objects.count() == 1
    assert OrderEvent.objects.count() == 1
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_the_same_key_with_a_different_body_is_a_conflict(place_at_a, fertilizer_stock):
    first = place_at_a((fertilizer_stock.product, 2), key="form-7f3a").order

    with pytest.raises(services.IdempotencyConflict) as conflict:
        place_at_a((fertilizer_stock.product, 3), key="form-7f3a")

    assert conflict.value.order == first
    assert first.number in str(conflict.value)
    assert Order.objects.count() == 1
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_a_key_is_per_station(place_at_a, fertilizer, fertilizer_stock, station_b, villager_b, staff_b, warehouse_b):
    StockFactory(product=fertilizer, warehouse=warehouse_b, on_hand=5)
    in_a = place_at_a((fertilizer, 1), key="k")

    in_b = place_at_a((fertilizer, 1), key="k", station=station_b, villager=villager_b, placed_by=staff_b)

    assert in_b.created is True
    assert in_b.order.pk != in_a.order.pk


def test_a_resubmission_returns_the_first_order_even_when_stock_ran_out(place_at_a, fertilizer_stock):
    # given the first submission took the last units
    fertilizer_stock.on_hand = 2
    fertilizer_stock.save()
    first = place_at_a((fertilizer_stock.product, 2), key="form-7f3a").order

    # when the same key comes again (a double click): placement finds no stock
    # left for it before it reaches the unique key (test_concurrency runs the
    # race with threads on PostgreSQL)
    again = place_at_a((fertilizer_stock.product, 2), key="form-7f3a")

    # then it gets the first order, not "not enough stock", and nothing more is reserved
    assert (again.created, again.order.pk) == (False, first.pk)
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


# --- transitions -----------------------------------------------------------------------

ALLOWED = sorted(services.TRANSITIONS)
REFUSED = sorted(set(itertools.product(S.values, repeat=2)) - services.TRANSITIONS)


def test_the_table_covers_every_pair_of_statuses():
    # Guards the parametrisations below: every pair is tested once, as allowed or as refused.
    assert len(ALLOWED) + len(REFUSED) == len(S.values) ** 2
    assert ALLOWED and len(REFUSED) > len(ALLOWED)
    assert (S.PLACED, S.CONFIRMED) in ALLOWED and (S.COLLECTED, S.PLACED) in REFUSED


@pytest.mark.parametrize(("current", "to"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition_applies_and_is_recorded(order_placed, staff_a, current, to):
    order = set_status(order_placed, current)

    services.transition(order, to=to, actor=staff_a, note="经办")

    assert order.status == to
    assert Order.objects.get(pk=order.pk).status == to
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor, event.note) == (current, to, staff_a, "经办")


@pytest.mark.parametrize(("current", "to"), REFUSED, ids=[f"{a}->{b}" for a, b in REFUSED])
def test_every_other_transition_is_refused_and_changes_nothing(order_placed, staff_a, current, to):
    order = set_status(order_placed, current)

    with pytest.raises(services.InvalidTransition) as refused:
        services.transition(order, to=to, actor=staff_a)

    assert order.number in str(refused.value)
    assert Order.objects.get(pk=order.pk).status == current
    assert OrderEvent.objects.filter(order=order).count() == 1  # only the placement


def test_of_two_stale_copies_only_one_confirms(order_placed, staff_a, staff_b):
    # given two clerks who opened the same order
    first = Order.objects.get(pk=order_placed.pk)
    second = Order.objects.get(pk=order_placed.pk)

    # when both take the payment
    services.confirm_payment(order=first, consent_code=first.consent_code, actor=staff_a)
    with pytest.raises(services.InvalidTransition):
        services.confirm_payment(order=second, consent_code=second.consent_code, actor=staff_b)

    # then one confirmation, and the loser's copy now shows the truth
    assert second.status == S.CONFIRMED
    assert events(order_placed) == [(S.DRAFT, S.PLACED, "alice"), (S.PLACED, S.CONFIRMED, "alice")]


def test_a_stale_copy_cannot_cancel_an_order_batched_meanwhile(order_placed, staff_a, fertilizer_stock):
    # given a page opened while the order was placed; it was paid and batched since
    stale = Order.objects.get(pk=order_placed.pk)
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    services.transition(order_placed, to=S.BATCHED)

    with pytest.raises(services.InvalidTransition):
        services.cancel_order(order=stale, actor=staff_a)

    assert Order.objects.get(pk=stale.pk).status == S.BATCHED
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_it_confirms_payment(order_placed, staff_a):
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)

    order = Order.objects.get(pk=order_placed.pk)
    assert order.status == S.CONFIRMED
    assert order.confirmed_at is not None
    assert events(order)[-1] == (S.PLACED, S.CONFIRMED, "alice")


@pytest.mark.parametrize("paid", [False, True], ids=["placed", "confirmed"])
def test_cancelling_releases_the_reserved_stock(order_placed, staff_a, fertilizer_stock, paid):
    if paid:
        services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2

    services.cancel_order(order=order_placed, actor=staff_a, reason="村民改主意了")

    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.reserved, fertilizer_stock.on_hand) == (0, 20)
    assert Order.objects.get(pk=order_placed.pk).status == S.CANCELLED
    event = OrderEvent.objects.filter(order=order_placed).last()
    assert (event.to_status, event.actor, event.note) == (S.CANCELLED, staff_a, "村民改主意了")


def test_cancelling_leaves_other_orders_reservations_alone(place_at_a, fertilizer_stock, staff_a):
    keep = place_at_a((fertilizer_stock.product, 3), key="keep").order
    drop = place_at_a((fertilizer_stock.product, 2), key="drop").order

    services.cancel_order(order=drop, actor=staff_a)

    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 3
    assert Order.objects.get(pk=keep.pk).status == S.PLACED


@pytest.mark.parametrize("status", [S.BATCHED, S.IN_TRANSIT, S.AT_STATION, S.COLLECTED, S.RETURNED, S.CANCELLED])
def test_cancelling_is_refused_once_batched_or_finished(order_placed, staff_a, fertilizer_stock, status):
    order = set_status(order_placed, status)

    with pytest.raises(services.InvalidTransition):
        services.cancel_order(order=order, actor=staff_a)

    assert Order.objects.get(pk=order.pk).status == status
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.reserved == 2


def test_departure_takes_the_goods_out_of_the_warehouse(order_placed, staff_a, fertilizer_stock):
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    services.transition(order_placed, to=S.BATCHED)

    depart(order=order_placed)

    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.reserved, fertilizer_stock.on_hand) == (0, 18)
    assert Order.objects.get(pk=order_placed.pk).status == S.IN_TRANSIT


@pytest.mark.parametrize(
    "code",
    ["000000", "", "48291", "4829150", "482 915", "１２３４５６", "٤٨٢٩١٥"],  # the last: Arabic-Indic 482915
    ids=repr,
)
def test_a_wrong_pickup_code_changes_nothing(order_placed, staff_a, deliver, code):
    Order.objects.filter(pk=order_placed.pk).update(pickup_code="482915")
    order_placed.refresh_from_db()
    order = deliver(order_placed, actor=staff_a)
    before = events(order)

    with pytest.raises(services.WrongPickupCode):
        services.hand_over(order=order, actor=staff_a, pickup_code=code)

    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.status, fresh.collected_at) == (S.AT_STATION, None)
    assert events(order) == before


def test_the_right_pickup_code_hands_the_goods_over(order_placed, staff_a, deliver):
    order = deliver(order_placed, actor=staff_a)

    services.hand_over(order=order, actor=staff_a, pickup_code=f" {order.pickup_code} ")

    fresh = Order.objects.get(pk=order.pk)
    assert fresh.status == S.COLLECTED
    assert timezone.now() - fresh.collected_at < timedelta(minutes=1)
    assert events(order)[-1] == (S.AT_STATION, S.COLLECTED, "alice")


def test_a_pickup_code_typed_with_a_chinese_input_method_is_accepted(order_placed, staff_a, deliver):
    # A Chinese IME types full-width digits (１２３); the form's \d accepts them, so must the service.
    order = deliver(order_placed, actor=staff_a)
    full_width = order.pickup_code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    services.hand_over(order=order, actor=staff_a, pickup_code=full_width)

    assert Order.objects.get(pk=order.pk).status == S.COLLECTED


def test_hand_over_is_refused_before_the_goods_arrive(order_placed, staff_a):
    with pytest.raises(services.InvalidTransition):
        services.hand_over(order=order_placed, actor=staff_a, pickup_code=order_placed.pickup_code)

    assert Order.objects.get(pk=order_placed.pk).status == S.PLACED


@pytest.fixture
def collected(order_placed, staff_a, deliver) -> Order:
    order = deliver(order_placed, actor=staff_a)
    return services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)


def collected_ago(order: Order, age: timedelta) -> Order:
    Order.objects.filter(pk=order.pk).update(collected_at=timezone.now() - age)
    return Order.objects.get(pk=order.pk)  # as the return page loads it


def test_a_return_within_the_window_puts_the_goods_back_on_hand_when_the_warehouse_receives_them(
    collected, staff_a, fertilizer_stock, settings
):
    # given the goods left the warehouse when the truck departed
    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.on_hand, fertilizer_stock.reserved) == (18, 0)
    # ... and were collected almost a full window ago
    order = collected_ago(collected, timedelta(days=settings.ORDER_RETURN_WINDOW_DAYS) - timedelta(minutes=1))

    # when the villager brings them back: they wait at the station, stock unchanged
    returns.return_order(order=order, actor=staff_a, reason="包装破损")
    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.on_hand, fertilizer_stock.reserved) == (18, 0)
    goods = order.goods_returns.get()
    assert (goods.kind, goods.status) == ("return", "waiting")

    # ... until the warehouse counts them in
    returns.receive_goods_back(goods=goods, actor=staff_a)

    # then
    fertilizer_stock.refresh_from_db()
    assert (fertilizer_stock.on_hand, fertilizer_stock.reserved) == (20, 0)
    assert Order.objects.get(pk=order.pk).status == S.RETURNED
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.from_status, event.to_status, event.actor, event.note) == (
        S.COLLECTED,
        S.RETURNED,
        staff_a,
        "包装破损",
    )


def test_a_return_after_the_window_is_refused(collected, staff_a, fertilizer_stock, settings):
    order = collected_ago(collected, timedelta(days=settings.ORDER_RETURN_WINDOW_DAYS, minutes=1))

    with pytest.raises(services.OrderError, match="return window"):
        returns.return_order(order=order, actor=staff_a, reason="包装破损")

    assert Order.objects.get(pk=order.pk).status == S.COLLECTED
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.on_hand == 18


@pytest.mark.parametrize("reason", ["", "   "], ids=["empty", "blank"])
def test_a_return_without_a_reason_is_refused(collected, staff_a, fertilizer_stock, reason):
    with pytest.raises(services.OrderError, match="why"):
        returns.return_order(order=collected, actor=staff_a, reason=reason)

    assert Order.objects.get(pk=collected.pk).status == S.COLLECTED
    fertilizer_stock.refresh_from_db()
    assert fertilizer_stock.on_hand == 18


def test_a_return_is_refused_before_collection(order_placed, staff_a):
    with pytest.raises(services.InvalidTransition):
        returns.return_order(order=order_placed, actor=staff_a, reason="不要了")


def test_every_change_of_the_life_cycle_is_an_event_with_its_actor(place_at_a, fertilizer_stock, staff_a):
    # given an order placed by alice; the planner, the driver and the truck act without a user
    order = place_at_a((fertilizer_stock.product, 1)).order

    services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    services.transition(order, to=S.BATCHED)  # the planner: no user
    depart(order=order)
    arrive(order=order, notify=False)
    services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)
    returns.return_order(order=order, actor=staff_a, reason="尺寸不对")

    assert events(order) == [
        (S.DRAFT, S.PLACED, "alice"),
        (S.PLACED, S.CONFIRMED, "alice"),
        (S.CONFIRMED, S.BATCHED, None),
        (S.BATCHED, S.IN_TRANSIT, None),
        (S.IN_TRANSIT, S.AT_STATION, None),
        (S.AT_STATION, S.COLLECTED, "alice"),
        (S.COLLECTED, S.RETURNED, "alice"),
    ]


def test_commission_amount_is_the_rounded_percentage_of_each_line(place_at_a, warehouse_a):
    # three lines whose commissions each round: the order total is the sum of the rounded lines
    seller = SellerFactory(default_commission_rate=D("2.5"))
    products = [ProductFactory(seller=seller, price=D(p)) for p in ("99.90", "0.50", "10.10")]
    for product in products:
        StockFactory(product=product, warehouse=warehouse_a, on_hand=5)

    order = place_at_a(*[(p, 1) for p in products]).order

    amounts = sorted(OrderLine.objects.filter(order=order).values_list("commission_amount", flat=True))
    assert amounts == [D("0.01"), D("0.25"), D("2.50")]  # 0.0125, 0.2525, 2.4975
    assert order.commission_total == D("2.76")
    assert order.commission_total == sum((money.percent_of(p.price, D("2.5")) for p in products), D("0"))


@pytest.mark.parametrize("delivery", [Order.DeliveryMethod.HOME_DELIVERY, Order.DeliveryMethod.HOME_INSTALLATION])
def test_a_home_delivery_needs_the_villagers_address(place_at_a, fertilizer_stock, villager_a, delivery):
    with pytest.raises(services.OrderError, match="address"):
        place_at_a((fertilizer_stock.product, 1), delivery_method=delivery)
    assert_nothing_placed(fertilizer_stock)
    villager_a.address = "  "
    villager_a.save()
    with pytest.raises(services.OrderError, match="address"):
        place_at_a((fertilizer_stock.product, 1), delivery_method=delivery, key="blank")


def test_a_home_delivery_shows_the_address_on_the_receipt_and_the_order_page(
    client_a, place_at_a, fertilizer_stock, villager_a
):
    villager_a.address = "三组 12 号，祠堂东边"
    villager_a.save()
    order = place_at_a((fertilizer_stock.product, 1), delivery_method=Order.DeliveryMethod.HOME_DELIVERY).order
    assert "三组 12 号，祠堂东边" in client_a.get(f"/orders/{order.number}/receipt/").content.decode()
    assert "三组 12 号，祠堂东边" in client_a.get(f"/orders/{order.number}/").content.decode()
