"""The way back's two ends in a real Chromium: the county warehouse counts a pickup in at 1280 px, and a partner
receives a parcel that was marked missing as found at 360 px.  Only what the pages show is clicked."""

import re

import pytest
import time_machine

from catalog.models import Stock
from logistics import services as dispatch
from logistics.models import DeliveryBatch, Parcel, Pickup
from orders.models import Order
from tests.logistics.conftest import DAY, local

from .conftest import PASSWORD, log_in, shot
from .test_county import log_in_as_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def test_the_county_finds_a_pickup_by_its_label_and_counts_it_in(desk, way_back, staff_a, county_manager, bag):
    page = desk
    pickup = way_back.depart_and_collect(staff_a)  # the run left; station A handed the 3 bags to the driver
    stock = Stock.objects.get(product=bag)
    log_in_as_county(page, with_password(county_manager).username)

    # the workspace she lands on says goods are coming back; its tile opens the page
    page.locator("main a.tile[href='/county/pickups/']").click()
    page.wait_for_url("**/county/pickups/")
    assert page.get_by_text(pickup.label, exact=True).is_visible()
    shot(page, "pickups-01-coming-back")

    # a label typed (or scanned) into the box opens its pickup
    page.locator("main input[name=label]").fill(pickup.label.lower())
    page.locator("main form button.primary").click()
    page.wait_for_url(f"**/county/pickups/{pickup.label}/")
    line = way_back.goods.lines.get()
    assert page.locator(f"#id_sellable-{line.pk}").input_value() == "3"  # all sellable unless counted otherwise
    page.locator(f"#id_sellable-{line.pk}").fill("2")
    page.locator(f"#id_damaged-{line.pk}").fill("1")
    page.locator("main input[name=note]").fill("一袋受潮")
    shot(page, "pickups-02-count-in")
    page.locator("main form button.primary").click()

    page.wait_for_url(re.compile(r"/county/pickups/$"))
    assert page.locator(".messages .success").count() == 1
    shot(page, "pickups-03-received")
    after = Stock.objects.get(pk=stock.pk)
    assert (after.on_hand - stock.on_hand, after.quarantined - stock.quarantined) == (2, 1)
    assert Pickup.objects.get(pk=pickup.pk).status == Pickup.Status.RECEIVED


def test_a_partner_receives_a_missing_parcel_as_found(phone, staff_a, warehouse_a, big_truck, confirm, station_a):
    page = phone
    order = confirm(station_a)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    batch = dispatch.depart_batch(batch=DeliveryBatch.objects.get())
    parcel = order.parcels.get()
    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, problems={parcel.pk: ("missing", "没上车")})
    log_in(page, with_password(staff_a).username)

    page.locator("a[href='/deliveries/']").first.click()
    page.wait_for_url("**/deliveries/")
    assert page.get_by_text(parcel.label).first.is_visible()
    shot(page, "found-01-marked-missing")
    page.locator(f"main form[action='/deliveries/parcels/{parcel.label}/found/'] button").click()

    page.wait_for_url(f"**/orders/{order.number}/")  # where the villager's hand-over is the next step
    assert page.locator(".messages .success").count() == 1
    assert page.locator(".heading .status-at_station").is_visible()
    shot(page, "found-02-received-as-found")
    assert Parcel.objects.get(pk=parcel.pk).status == Parcel.Status.DELIVERED
    assert Order.objects.get(pk=order.pk).status == Order.Status.AT_STATION
