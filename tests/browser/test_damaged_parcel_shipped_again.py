"""A delivery exception's whole way in a real Chromium (issue #14): damaged, shipped again, delivered, collected.

A partner marks a parcel damaged with a photo from the phone (360 px); the county
manager sees it in the exceptions queue at the office (1280 px) and ships the order
again; the next run carries it (a second parcel) and takes the broken goods back
(the return leg's pickup); the partner receives that run and hands the goods over.

The browser clicks only what the pages show, by their visible Chinese text or role.
The logistics company's steps (planning, departing) are the services', in Python,
and the database is checked between the steps.
"""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from PIL import Image
from playwright.sync_api import expect

from catalog.models import Stock
from catalog.stock import receive_stock, stock_mismatches
from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, Parcel, ParcelPhoto, Pickup
from orders import services
from orders.models import GoodsReturn, Order
from tests.factories import (
    CountyManagerFactory,
    ProductFactory,
    RouteFactory,
    RouteStopFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
)

from .conftest import PASSWORD, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def damaged_world(transactional_db, settings, tmp_path, staff_a, station_a, warehouse_a):
    """里叶村服务站 on a route of WH-A; alice its partner, carol its county's manager; one confirmed order of a bag.

    The stock comes in through catalog.stock.receive_stock, so the movements add up to
    the Stock row and stock_mismatches() can judge the end.  The order was placed and
    paid yesterday morning, so any run planned from today on may carry it.
    """
    settings.MEDIA_ROOT = tmp_path / "media"
    staff_a.set_password(PASSWORD)
    staff_a.save()
    carol = UserFactory(username="carol")
    carol.set_password(PASSWORD)
    carol.save()
    CountyManagerFactory(user=carol, county=station_a.village.county)
    route = RouteFactory(warehouse=warehouse_a)
    RouteStopFactory(route=route, service_center=station_a, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse_a))
    fertilizer = ProductFactory(sku="FERT-50", name="复合肥 50kg")
    receive_stock(product=fertilizer, warehouse=warehouse_a, quantity=20, actor=carol, note="goods in")
    villager = VillagerFactory(service_center=station_a, name="王秀英")
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        order = services.place_order(
            station=station_a,
            villager=villager,
            placed_by=staff_a,
            lines=[services.LineRequest("FERT-50", 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key="damaged-1",
            notify=False,
        ).order
        order = services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    return {"order": order, "warehouse": warehouse_a, "stock": Stock.objects.get(product=fertilizer)}


def plan_and_depart(warehouse, day) -> DeliveryBatch:
    """The county warehouse plans the day's run and the truck leaves (the logistics company's part)."""
    report = dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=day)
    assert len(report.batches) == 1, report
    batch = DeliveryBatch.objects.get(dispatch_date=day)
    return dispatch.depart_batch(batch=batch)


def open_the_run_to_receive(page, batch: DeliveryBatch) -> None:
    """From the nav bar to Deliveries, then the run's 签收 button (the only one: earlier runs are received)."""
    page.get_by_role("navigation").get_by_role("link", name="到货", exact=True).click()
    expect(page).to_have_url(re.compile(r"/deliveries/$"))
    receive = page.get_by_role("link", name="签收", exact=True)
    expect(receive).to_have_count(1)
    expect(page.locator("main li").filter(has=receive)).to_contain_text(batch.code)
    receive.click()
    expect(page.get_by_role("heading", name="签收包裹", level=1)).to_be_visible()
    expect(page.locator("main")).to_contain_text(batch.code)


def expect_thumbnail_loaded(page, photo: ParcelPhoto) -> None:
    """The thumbnail is on the page and its image really loaded (same origin, so the CSP lets it)."""
    thumbnail = page.locator(f"img[src='/parcel-photos/{photo.pk}/thumbnail/']")
    expect(thumbnail).to_be_visible()
    expect(thumbnail).to_have_attribute("alt", f"包裹 {photo.parcel.label} 的照片")
    thumbnail.scroll_into_view_if_needed()  # loading="lazy": load it before judging it
    expect(thumbnail).to_have_js_property("complete", True)
    assert thumbnail.evaluate("img => img.naturalWidth") > 0


def test_a_damaged_parcel_is_shipped_again_delivered_and_collected(phone, desk, damaged_world, tmp_path):
    order, warehouse, stock = damaged_world["order"], damaged_world["warehouse"], damaged_world["stock"]
    today = timezone.localdate()
    photo_file = tmp_path / "broken-bag.jpg"
    Image.new("RGB", (800, 600), (150, 90, 40)).save(photo_file, "JPEG")

    # --- 1. the county warehouse plans today's run and the truck leaves (Python: the logistics company)
    first_run = plan_and_depart(warehouse, today)
    first = order.parcels.get()
    assert first.label == f"P{order.number}"
    stock.refresh_from_db()
    assert (stock.on_hand, stock.reserved, stock.quarantined) == (19, 0, 0)

    # --- 2. the partner, on a phone: receives the run, the bag is broken, a photo of it goes up
    page = phone
    log_in(page, "alice")
    open_the_run_to_receive(page, first_run)
    shot(page, "damaged-01-receive-form-360")
    row = page.locator("main form li").filter(has_text=first.label)
    photo_input = row.get_by_label("照片（缺失或破损时拍摄）")
    expect(photo_input).to_be_hidden()  # asked for only once the parcel is marked missing or damaged
    row.get_by_role("combobox", name=first.label, exact=True).select_option(label="破损")
    expect(photo_input).to_be_visible()
    row.get_by_role("textbox", name=f"包裹 {first.label} 的备注").fill("袋子破了，化肥洒出来了")
    photo_input.set_input_files(str(photo_file))
    shot(page, "damaged-02-marked-damaged-360")
    page.get_by_role("button", name="确认签收").click()

    expect(page).to_have_url(re.compile(r"/deliveries/$"))
    # Received with a problem: the page names the parcel; it does not say "0 received, the villagers told".
    expect(page.locator(".messages .warning")).to_contain_text(first.label)
    expect(page.locator(".messages .success")).to_have_count(0)
    run_row = page.locator("main li").filter(has_text=first_run.code)
    expect(run_row.locator(".status")).to_have_text("已签收")
    shot(page, "damaged-03-deliveries-after-receipt-360")
    first.refresh_from_db()
    order.refresh_from_db()
    assert (first.status, first.note) == (Parcel.Status.DAMAGED, "袋子破了，化肥洒出来了")
    assert order.status == Order.Status.EXCEPTION
    photo = ParcelPhoto.objects.get(parcel=first)
    goods = GoodsReturn.objects.get(order=order)
    assert (goods.kind, goods.status) == (GoodsReturn.Kind.DAMAGED, GoodsReturn.Status.WAITING)

    # The run's page now says what was received and what was not, with the photo.
    expect(run_row.get_by_role("link", name="签收", exact=True)).to_have_count(0)  # received: no button any more
    page.goto(f"/deliveries/{BatchStop.objects.get(batch=first_run).pk}/receive/")
    expect(page.locator("main")).to_contain_text("签收。")  # 已于 … 签收。
    expect(page.get_by_role("heading", name="缺失或破损")).to_be_visible()
    problem = page.locator("main li").filter(has_text=first.label)
    expect(problem.locator(".status-damaged")).to_have_text("破损")
    expect(problem).to_contain_text("袋子破了，化肥洒出来了")
    expect_thumbnail_loaded(page, photo)
    shot(page, "damaged-04-received-with-photo-360")

    # The order tells the partner the county decides.
    page.goto(f"/orders/{order.number}/")
    expect(page.locator(".heading .status-exception")).to_have_text("配送异常")
    expect(page.locator(".next-step h2")).to_have_text("包裹缺失或破损")
    shot(page, "damaged-05-order-in-exception-360")

    # --- 3. the county manager, at the office (1280 px): the exceptions queue, ship it again
    office = desk
    office.goto("/accounts/login/")
    office.get_by_label("用户名").fill("carol")
    office.get_by_label("密码").fill(PASSWORD)
    office.locator("main form").get_by_role("button").click()
    expect(office).to_have_url(re.compile(r"/county/$"))
    exceptions_tile = office.locator(".tiles a.tile").filter(has_text="配送异常")
    expect(exceptions_tile.locator("strong")).to_have_text("1")
    shot(office, "damaged-06-county-workspace-1280")
    office.get_by_role("link", name="配送异常", exact=True).click()
    expect(office).to_have_url(re.compile(r"/county/exceptions/$"))
    card = office.locator("main section.card").filter(has_text=order.number)
    expect(card).to_have_count(1)
    expect(card.locator(".status-damaged")).to_have_text("破损")
    expect(card).to_contain_text("里叶村服务站")
    expect(card).to_contain_text("袋子破了，化肥洒出来了")
    expect_thumbnail_loaded(office, photo)
    shot(office, "damaged-07-exceptions-queue-1280")
    office.once("dialog", lambda dialog: dialog.accept())  # the page asks nothing today; were it to, say yes
    card.get_by_role("button", name="重新发货").click()
    expect(office.locator(".messages .success")).to_contain_text(order.number)
    expect(office.locator("main")).to_contain_text("没有配送异常")
    shot(office, "damaged-08-shipped-again-1280")
    order.refresh_from_db()
    stock.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert (stock.on_hand, stock.reserved) == (19, 1)  # a second bag reserved at the warehouse

    # --- 4. the next day's run carries the order again, and takes the broken bag back
    second_run = plan_and_depart(warehouse, today + timedelta(days=1))
    second = order.parcels.get(batch_stop__batch=second_run)
    assert second.label == f"P{order.number}-2"
    pickup = Pickup.objects.get(goods_return=goods)
    assert (pickup.batch_stop.batch, pickup.status) == (second_run, Pickup.Status.PLANNED)
    assert pickup.batch_stop.service_center == order.service_center
    goods.refresh_from_db()
    assert goods.status == GoodsReturn.Status.WAITING  # at the station until the driver takes it

    # --- 5. the partner receives the new run (all delivered), and hands the bag over
    open_the_run_to_receive(page, second_run)
    row = page.locator("main form li").filter(has_text=second.label)
    expect(row.get_by_role("combobox", name=second.label, exact=True)).to_have_value("delivered")
    shot(page, "damaged-09-receive-second-run-360")
    page.get_by_role("button", name="确认签收").click()
    expect(page).to_have_url(re.compile(r"/deliveries/$"))
    expect(page.locator(".messages .success")).to_contain_text("已签收 1 个包裹")
    expect(page.get_by_role("link", name="签收", exact=True)).to_have_count(0)
    pickup.refresh_from_db()
    assert pickup.status == Pickup.Status.COLLECTED  # handed to the driver as the run was received

    page.get_by_role("navigation").get_by_role("link", name="首页", exact=True).click()
    waiting = page.locator("#waiting").get_by_role("link").filter(has_text=order.number)
    expect(waiting).to_contain_text("王秀英")
    shot(page, "damaged-10-waiting-for-pickup-360")
    waiting.click()
    expect(page).to_have_url(re.compile(rf"/orders/{order.number}/$"))
    expect(page.locator(".heading .status-at_station")).to_be_visible()
    page.get_by_label("村民出示的取货码").fill(order.pickup_code)  # the villager shows it (receipt, SMS)
    shot(page, "damaged-11-hand-over-360")
    page.get_by_role("button", name="交货", exact=True).click()
    expect(page.locator(".heading .status-collected")).to_have_text("已取货")
    expect(page.locator(".next-step h2")).to_have_text("村民已取货")
    expect(page.locator(".messages .success")).to_have_count(1)
    shot(page, "damaged-12-collected-360")
    fits_the_screen(page)

    # --- 6. the database at the end
    order.refresh_from_db()
    assert order.status == Order.Status.COLLECTED and order.collected_at is not None
    parcels = list(order.parcels.order_by("pk").values_list("label", "status"))
    assert parcels == [(first.label, Parcel.Status.DAMAGED), (second.label, Parcel.Status.DELIVERED)]
    goods.refresh_from_db()
    assert (goods.kind, goods.status) == (GoodsReturn.Kind.DAMAGED, GoodsReturn.Status.ON_ITS_WAY)
    assert list(goods.lines.values_list("order_line", "quantity")) == [(order.lines.get().pk, 1)]
    assert list(order.events.order_by("pk").values_list("to_status", flat=True)) == [
        "placed",
        "confirmed",
        "batched",
        "in_transit",
        "exception",
        "confirmed",
        "batched",
        "in_transit",
        "at_station",
        "collected",
    ]
    stock.refresh_from_db()
    # Two bags left the warehouse (the broken one and its replacement); the broken one is on the truck
    # back, not yet counted into quarantine.
    assert (stock.on_hand, stock.reserved, stock.quarantined) == (18, 0, 0)
    assert stock_mismatches() == []
