"""The offline counter in a real Chromium at 360 px: orders taken with the link down are placed exactly once.

The page is loaded online (the service worker keeps it, the script keeps the catalog and the station's
villagers), then the context goes offline (``context.set_offline``).  The known failures of offline points of
sale are each a test: two tabs sending at once (odoo/odoo#152259), the server's reply lost after it placed the
order (odoo/odoo#40567), the page reloaded before the orders were sent (odoo/odoo PR 288974), the link cut in the
middle of a batch (odoo/odoo PR 261096); and a sale the stock no longer covers when it arrives, a price changed
meanwhile, a device clock that is wrong.
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from catalog.models import Stock
from orders.models import Order
from tests.factories import ProductFactory, StockFactory, VillagerFactory

from .conftest import PASSWORD, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def zh(message: str, **values) -> str:
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % values if values else text


@pytest.fixture
def counter_world(staff_a, station_a, warehouse_a):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    # No SMS consent: placing queues no message on the real broker.
    VillagerFactory(service_center=station_a, name="王秀英", phone="", sms_consent=False)
    VillagerFactory(service_center=station_a, name="李大山", phone="", sms_consent=False)
    fertilizer = ProductFactory(sku="FERT-OFF", name="复合肥 离线", price=Decimal("50.00"))
    StockFactory(product=fertilizer, warehouse=warehouse_a, on_hand=100)
    seed = ProductFactory(sku="SEED-OFF", name="玉米种子 离线", price=Decimal("12.50"))
    StockFactory(product=seed, warehouse=warehouse_a, on_hand=1)
    return {"staff": staff_a, "fertilizer": fertilizer, "seed": seed}


def open_counter(page) -> None:
    """The counter, online: the service worker installed and the copy of the catalog and villagers kept."""
    page.goto("/orders/offline/")
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.wait_for_function("navigator.serviceWorker.controller !== null")  # the worker answers this page now
    page.wait_for_function(
        "(none) => { const t = document.getElementById('copy-age').textContent; return t && !t.includes(none); }",
        arg=zh("No copy of the catalog on this device yet: open this page once while online."),
    )


def offline_counter(page, world):
    """The partner logged in, the counter opened online (its copy kept), then the link down: (page, context)."""
    log_in(page, world["staff"].username)
    open_counter(page)
    page.context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    return page, page.context


def take(page, villager: str, sku_query: str, times: int = 1) -> None:
    """Take an order at the counter: find the villager, add the product ``times`` times, take it."""
    page.fill("#villager-q", villager)
    page.locator("#villager-results button").first.click()
    page.fill("#product-q", sku_query)
    add = page.locator("#product-results button").first
    for _ in range(times):
        add.click()
    page.get_by_role("button", name=zh("Take the order")).click()
    page.wait_for_selector("#take-error.notice")


def queued(page) -> list[str]:
    """The statuses of the counter's queue, in the order taken."""
    return page.locator("#queue li.queued").evaluate_all("(items) => items.map((i) => i.className.split('queued-')[1])")


def wait_until_placed(page, count: int) -> None:
    page.wait_for_function(
        "(n) => document.querySelectorAll('#queue li.queued-placed').length === n", arg=count, timeout=20_000
    )


def back_online(context, page) -> None:
    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")


def new_orders() -> list[Order]:
    return list(Order.objects.filter(taken_offline_at__isnull=False).order_by("created_at"))


def test_two_orders_taken_offline_survive_a_reload_and_are_placed_once_when_the_link_returns(phone, counter_world):
    page, context = offline_counter(phone, counter_world)

    take(page, "王秀英", "复合肥", times=2)
    take(page, "李大山", "玉米")
    assert queued(page) == ["waiting", "waiting"]
    banner = page.locator("#link-state").inner_text()
    assert zh("Offline: orders are kept on this device and sent when the link returns.") in banner
    assert zh("%(n)s order(s) waiting to be sent.", n=2) in banner
    shot(page, "offline-01-two-waiting")

    page.reload()  # offline: the service worker's copy of the page
    page.wait_for_selector("#queue li.queued")
    assert queued(page) == ["waiting", "waiting"]
    page.goto("/orders/new/")  # the new-order page, offline: the counter answers for it
    page.wait_for_selector("#queue li.queued")
    assert page.locator("main h1").inner_text() == zh("Offline counter")
    assert queued(page) == ["waiting", "waiting"]
    assert Order.objects.count() == 0
    fits_the_screen(page)

    back_online(context, page)
    wait_until_placed(page, 2)
    shot(page, "offline-02-placed")
    orders = new_orders()
    assert len(orders) == 2 and Order.objects.count() == 2
    assert [o.villager.name for o in orders] == ["王秀英", "李大山"]  # in the order taken
    assert orders[0].total == Decimal("100.00") and orders[1].total == Decimal("12.50")
    for order in orders:
        assert page.locator(f"#queue a[href='/orders/{order.number}/receipt/']").is_visible()


def test_two_tabs_sending_at_once_place_each_order_once(phone, counter_world):
    page = phone
    log_in(page, counter_world["staff"].username)
    open_counter(page)
    context = page.context
    other = context.new_page()
    other.goto("/orders/offline/")
    other.wait_for_selector("#copy-age")
    context.set_offline(True)
    for tab in (page, other):
        tab.evaluate("window.dispatchEvent(new Event('offline'))")
    take(page, "王秀英", "复合肥")
    take(page, "李大山", "复合肥")
    take(page, "王秀英", "复合肥", times=3)

    context.set_offline(False)
    for tab in (page, other):  # both tabs see the link return at once, and both try to send
        tab.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until_placed(page, 3)
    other.reload()
    wait_until_placed(other, 3)
    assert len(new_orders()) == 3 and Order.objects.count() == 3
    other.close()


def test_a_reply_lost_after_the_server_placed_the_order_does_not_place_it_twice(phone, counter_world):
    page, context = offline_counter(phone, counter_world)
    take(page, "王秀英", "复合肥")

    lost = []

    def drop_the_reply(route):
        route.fetch()  # the server places the order...
        lost.append(route.request.headers.get("idempotency-key"))
        route.abort()  # ...and its answer never reaches the counter

    page.route("**/api/v1/orders/", drop_the_reply)
    back_online(context, page)
    for _ in range(100):  # the route handler runs while Playwright waits
        if lost:
            break
        page.wait_for_timeout(100)
    page.wait_for_function("() => document.getElementById('link-state').className.includes('banner-offline')")
    assert len(lost) == 1 and Order.objects.count() == 1  # placed, though the counter could not tell
    assert queued(page) == ["waiting"]

    page.unroute("**/api/v1/orders/")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_until_placed(page, 1)
    assert Order.objects.count() == 1  # the same key again: the first order, not a second one
    assert new_orders()[0].idempotency_key == lost[0]


def test_orders_taken_before_the_tab_closed_are_sent_by_the_next_visit(phone, counter_world):
    page, context = offline_counter(phone, counter_world)
    take(page, "王秀英", "复合肥")
    take(page, "李大山", "复合肥", times=2)
    page.close()  # the tab closed before the link came back: nothing reached the server
    assert Order.objects.count() == 0

    context.set_offline(False)
    again = context.new_page()
    again.goto("/orders/new/")  # the next visit to the new-order page sends them
    again.goto("/orders/offline/")
    wait_until_placed(again, 2)
    assert len(new_orders()) == 2


def test_the_link_cut_during_the_third_of_five_orders_places_all_five_once(phone, counter_world):
    page, context = offline_counter(phone, counter_world)
    for name in ("王秀英", "李大山", "王秀英", "李大山", "王秀英"):
        take(page, name, "复合肥")
    sent = []

    def cut_the_third(route):
        sent.append(route.request.headers.get("idempotency-key"))
        if len(sent) == 3:
            route.fetch()  # it reaches the server...
            context.set_offline(True)  # ...and the link drops before the answer comes back
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/orders/", cut_the_third)
    back_online(context, page)
    page.wait_for_function("() => document.querySelectorAll('#queue li.queued-placed').length === 2")
    page.wait_for_function("() => document.getElementById('link-state').className.includes('banner-offline')")
    assert len(sent) == 3 and Order.objects.count() == 3  # the third reached the server; its answer did not come back
    assert queued(page) == ["placed", "placed", "waiting", "waiting", "waiting"]

    page.unroute("**/api/v1/orders/")
    back_online(context, page)
    wait_until_placed(page, 5)
    assert len(new_orders()) == 5 and Order.objects.count() == 5


def test_a_sale_the_stock_no_longer_covers_is_shown_with_its_lines_and_reserves_nothing(phone, counter_world):
    page, context = offline_counter(phone, counter_world)
    take(page, "王秀英", "玉米", times=2)  # two bags; the warehouse holds one

    back_online(context, page)
    page.wait_for_selector("#queue li.queued-short")
    item = page.locator("#queue li.queued-short")
    assert "SEED-OFF" in item.inner_text() and zh("Stock ran out") in item.inner_text()
    assert Order.objects.count() == 0
    assert Stock.objects.get(product=counter_world["seed"]).reserved == 0
    shot(page, "offline-03-stock-ran-out")

    item.get_by_role("button", name=zh("Change the order")).click()  # back into the cart, to change
    assert page.locator("#cart-lines tr[data-sku='SEED-OFF']").count() == 1
    page.wait_for_function("() => document.querySelectorAll('#queue li.queued').length === 0")
    assert Order.objects.count() == 0


def test_a_price_changed_meanwhile_is_confirmed_before_the_order_is_placed(phone, counter_world):
    page, context = offline_counter(phone, counter_world)
    take(page, "王秀英", "复合肥")
    fertilizer = counter_world["fertilizer"]
    fertilizer.price = Decimal("55.00")
    fertilizer.save()

    back_online(context, page)
    page.wait_for_selector("#queue li.queued-price")
    assert "50.00" in page.locator("#queue li.queued-price").inner_text()
    assert "55.00" in page.locator("#queue li.queued-price").inner_text()
    assert Order.objects.count() == 0  # nothing placed at a price the villager was not told
    page.get_by_role("button", name=zh("Accept the new total")).click()
    wait_until_placed(page, 1)
    assert new_orders()[0].total == Decimal("55.00")


def test_a_wrong_device_clock_is_recorded_as_reported_and_the_server_time_decides(phone, counter_world):
    page = phone
    log_in(page, counter_world["staff"].username)
    wrong = datetime(2024, 1, 15, 8, 30, tzinfo=timezone.get_current_timezone())
    page.clock.install(time=wrong)  # the device thinks it is January 2024
    open_counter(page)
    context = page.context
    context.set_offline(True)
    page.evaluate("window.dispatchEvent(new Event('offline'))")
    take(page, "王秀英", "复合肥")
    before = timezone.now()

    back_online(context, page)
    wait_until_placed(page, 1)
    order = new_orders()[0]
    assert abs(order.taken_offline_at - wrong) < timedelta(minutes=1)  # as the device reported it
    assert order.created_at >= before - timedelta(seconds=1)  # placed now, by the server's clock
    assert re.fullmatch(r"\d{6}-[0-9A-Z]{5}-[0-9A-Z]{5}", order.number)
