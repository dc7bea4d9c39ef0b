"""The way back in a real Chromium at 360 px: a return by line, its confirmation, the refund paid out, the goods
for the driver, and goods sent back.  Nothing may scroll sideways, and what a finger taps is at least 44 px high.
"""

import re
from decimal import Decimal

import pytest

from orders import returns, services
from orders.models import CommissionEntry, Order, Refund
from tests.factories import ProductFactory, StockFactory
from tests.order_steps import arrive, depart

from .conftest import PASSWORD, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP_PX = 44
# What a finger taps on these pages: buttons, button-styled links, the form fields.
TAPPABLE = "main button:visible, main a.button:visible, main input:not([type=hidden]):visible, main select:visible"


def small_tap_targets(page) -> list[str]:
    small = []
    for element in page.locator(TAPPABLE).all():
        box = element.bounding_box()
        if box and box["height"] < TAP_PX:
            small.append(f"{element.evaluate('e => e.outerHTML')[:80]}: {box['height']:.0f}px")
    return small


def check(page, name: str) -> None:
    shot(page, name)  # fits the 360 px screen, and a screenshot
    assert not small_tap_targets(page), small_tap_targets(page)


@pytest.fixture
def partner(transactional_db, staff_a):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


def delivered(station, villager, user, warehouse, *lines, key: str) -> Order:
    """Placed, paid, carried to the station: ``lines`` are (product, quantity)."""
    order = services.place_order(
        station=station,
        villager=villager,
        placed_by=user,
        lines=[services.LineRequest(p.sku, q) for p, q in lines],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key=key,
        notify=False,
    ).order
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=user)
    services.transition(order, to=Order.Status.BATCHED, actor=user)
    depart(order=order, actor=user)
    return arrive(order=order, actor=user, notify=False)


@pytest.fixture
def collected(partner, station_a, villager_a, warehouse_a) -> Order:
    """Two lines with long names, collected: 3 bags of fertilizer (168.00) and 2 packs of seeds (45.50)."""
    fertilizer = ProductFactory(
        sku="FERT-50", name="复合肥 50kg 硫酸钾型 高塔造粒 (氮磷钾 15-15-15)", price=Decimal("168.00")
    )
    seeds = ProductFactory(sku="SEED-RICE", name="杂交水稻种子 1kg 高产抗倒伏型", price=Decimal("45.50"))
    for product in (fertilizer, seeds):
        StockFactory(product=product, warehouse=warehouse_a, on_hand=20)
    order = delivered(station_a, villager_a, partner, warehouse_a, (fertilizer, 3), (seeds, 2), key="b-1")
    return services.hand_over(order=order, actor=partner, pickup_code=order.pickup_code)


def test_a_partner_takes_part_of_an_order_back_and_pays_the_refund_out(phone, partner, collected):
    page = phone
    fertilizer, seeds = collected.lines.order_by("pk")
    log_in(page, partner.username)

    # --- 1. the order page: the return form, one line per product
    page.goto(f"/orders/{collected.number}/")
    page.locator("#return summary").click()
    page.fill(f"#id_return-qty_{fertilizer.pk}", "1")
    page.select_option(f"#id_return-reason_{fertilizer.pk}", "damaged")
    page.fill(f"#id_return-qty_{seeds.pk}", "2")
    page.fill("#id_return-note", "袋子破了")
    check(page, "way-back-01-return-form")

    # --- 2. the confirmation shows the refund before anything is recorded
    page.locator("#return button[name=step]").click()
    page.wait_for_url(f"**/orders/{collected.number}/return/")
    assert page.locator("[data-refund]").inner_text() == "¥259.00"  # 168.00 + 2 × 45.50
    assert not Refund.objects.exists()
    check(page, "way-back-02-return-confirmation")

    # --- 3. confirmed: recorded, the refund owed shown on the order page
    page.locator("main form button[value=confirm]").click()
    page.wait_for_url(f"**/orders/{collected.number}/")
    refund = Refund.objects.get()
    assert refund.amount == Decimal("259.00") and refund.paid_at is None
    reversal = CommissionEntry.objects.get(kind="reversal")
    assert reversal.amount == -(fertilizer.commission_amount / 3).quantize(Decimal("0.01")) - seeds.commission_amount
    assert page.locator("#returns").is_visible()
    check(page, "way-back-03-order-with-a-return")

    # --- 4. the refunds page, the pay-out confirmation, paid
    page.goto("/refunds/")
    check(page, "way-back-04-refunds")
    page.locator(f"main a[href='/refunds/{refund.pk}/pay/']").click()
    page.wait_for_url(f"**/refunds/{refund.pk}/pay/")
    check(page, "way-back-05-pay-confirmation")
    page.locator("main form button.primary").click()
    page.wait_for_url(re.compile(r"/refunds/$"))
    assert Refund.objects.get().paid_by == partner
    assert page.locator(".messages .success").count() == 1

    # --- 5. the goods wait for the driver
    page.goto("/going-back/")
    assert page.locator("main .status-waiting").count() == 1
    check(page, "way-back-06-goods-for-the-driver")


def test_goods_the_villager_refused_go_back_after_a_confirmation(phone, partner, station_a, villager_a, warehouse_a):
    page = phone
    product = ProductFactory(sku="TV-55", name="55 英寸 4K 智能液晶电视 (含挂架)", price=Decimal("2599.00"))
    StockFactory(product=product, warehouse=warehouse_a, on_hand=3)
    order = delivered(station_a, villager_a, partner, warehouse_a, (product, 1), key="b-2")
    log_in(page, partner.username)

    page.goto(f"/orders/{order.number}/")
    page.locator("#send-back summary").click()
    assert page.locator("#send-back button[value=uncollected]").is_disabled()  # it arrived just now
    page.fill("#id_back-reason", "屏幕有划痕，不要了")
    check(page, "way-back-07-send-back-form")
    page.locator("#send-back button[value=refused]").click()
    page.wait_for_url(f"**/orders/{order.number}/send-back/")
    check(page, "way-back-08-send-back-confirmation")
    page.locator("main form button[value=confirm]").click()
    page.wait_for_url(f"**/orders/{order.number}/")

    assert page.locator(".heading .status-going_back").is_visible()
    order.refresh_from_db()
    assert order.status == "going_back"
    assert order.goods_returns.get().kind == "refused"
    check(page, "way-back-09-going-back")
    returns.receive_goods_back(goods=order.goods_returns.get(), actor=None)
    page.goto("/")
    assert page.locator("main a.tile[href='/refunds/']").inner_text().startswith("¥2599.00")
    check(page, "way-back-10-dashboard-refund-owed")
