"""A parcel marked missing turns up at its station later: it is received as found.

While its order waits for the county, the order is at the station after all; once the county has
shipped it again or cancelled it, the found goods go back to the warehouse shelf on a run.
"""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import translation

from catalog.models import StockMovement
from logistics import pickups
from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, Parcel, Pickup
from notifications.models import Notification
from orders import services
from orders.models import GoodsReturn, Order
from tests.factories import StationStaffFactory, UserFactory

from .conftest import DAY, local, stock_of

S = Order.Status
NEXT_DAY = DAY + timedelta(days=1)


@pytest.fixture(autouse=True)
def in_english(client):
    client.cookies["django_language"] = "en"  # refusals and labels matched by their English text
    with translation.override("en"):
        yield


@pytest.fixture
def lost(warehouse_a, big_truck, confirm, station_a, staff_a):
    """An order of 2 bags whose parcel station A marked missing on DAY's run: an exception for the county."""
    order = confirm(station_a, bags=2)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    batch = dispatch.depart_batch(batch=DeliveryBatch.objects.get(dispatch_date=DAY))
    parcel = order.parcels.get()
    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, problems={parcel.pk: ("missing", "没上车")})
    order.refresh_from_db()
    assert order.status == S.EXCEPTION
    return parcel


def found_url(parcel: Parcel) -> str:
    return f"/deliveries/parcels/{parcel.label}/found/"


def test_found_before_the_county_decides_the_order_waits_at_the_station_and_the_villager_is_told(
    client_a, lost, bag, warehouse_a
):
    before = stock_of(bag, warehouse_a)
    deliveries = client_a.get("/deliveries/").content.decode()
    stop_page = client_a.get(f"/deliveries/{lost.batch_stop_id}/receive/").content.decode()

    response = client_a.post(found_url(lost), follow=True)

    assert lost.label in deliveries and "Marked missing" in deliveries  # the station sees what may turn up
    assert found_url(lost) in deliveries and found_url(lost) in stop_page
    assert response.redirect_chain == [(f"/orders/{lost.order.number}/", 302)]  # the hand-over is next
    assert "received as found" in response.content.decode()
    lost.refresh_from_db()
    order = lost.order
    order.refresh_from_db()
    assert (lost.status, order.status) == (Parcel.Status.DELIVERED, S.AT_STATION)
    assert order.events.latest("created_at").from_status == S.EXCEPTION
    told = Notification.objects.get(template="order_arrived", reference=order.number)
    assert told.villager_id == order.villager_id
    assert not GoodsReturn.objects.exists()  # nothing goes back
    after = stock_of(bag, warehouse_a)
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved)  # the units left with it
    # the county's queue no longer lists it, and the villager can collect it
    assert order.number not in Client().get("/county/exceptions/").content.decode()
    services.hand_over(order=order, actor=None, pickup_code=order.pickup_code)
    assert Order.objects.get(pk=order.pk).status == S.COLLECTED


def test_found_after_the_order_was_shipped_again_goes_back_to_the_shelf(
    client_a, staff_a, lost, bag, warehouse_a, confirm, station_a
):
    order = services.ship_again(order=lost.order, actor=None)
    # when the lost parcel turns up while the second one is on its way
    response = client_a.post(found_url(lost), follow=True)

    assert response.redirect_chain == [("/going-back/", 302)]  # with the goods for the driver
    assert "go back to the warehouse on the next run" in response.content.decode()
    assert f"R{GoodsReturn.objects.get().pk}" in response.content.decode() or order.number in response.content.decode()

    lost.refresh_from_db()
    assert lost.status == Parcel.Status.FOUND
    goods = GoodsReturn.objects.get(order=order)
    assert (goods.kind, goods.status) == (GoodsReturn.Kind.FOUND, GoodsReturn.Status.WAITING)
    assert [(line.order_line_id, line.quantity) for line in goods.lines.all()] == [(order.lines.get().pk, 2)]
    assert Order.objects.get(pk=order.pk).status == S.CONFIRMED  # the order itself goes on as it was
    # the next run takes the second parcel out and the found goods back; the warehouse shelves them
    with time_machine.travel(local(NEXT_DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=NEXT_DAY)
    batch = DeliveryBatch.objects.get(dispatch_date=NEXT_DAY)
    dispatch.depart_batch(batch=batch)
    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, notify=False)
    before = stock_of(bag, warehouse_a)
    pickups.receive(pickup=Pickup.objects.get(goods_return=goods), actor=None)
    after = stock_of(bag, warehouse_a)
    assert after.on_hand == before.on_hand + 2
    assert StockMovement.objects.filter(order=order, kind=StockMovement.Kind.RETURNED).count() == 1
    assert Order.objects.get(pk=order.pk).status == S.AT_STATION  # the second parcel arrived


def test_found_after_the_order_was_cancelled_goes_back_and_the_refund_stays_as_it_was(client_a, lost):
    order = services.cancel_exception(order=lost.order, actor=None, reason="丢了")
    refunds = list(order.refunds.values_list("amount", flat=True))

    client_a.post(found_url(lost))

    lost.refresh_from_db()
    assert lost.status == Parcel.Status.FOUND
    assert GoodsReturn.objects.get(order=order).kind == GoodsReturn.Kind.FOUND
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED
    assert list(order.refunds.values_list("amount", flat=True)) == refunds


def test_only_a_missing_parcel_can_be_found_and_finding_it_twice_is_refused(client_a, lost):
    client_a.post(found_url(lost))

    response = client_a.post(found_url(lost), follow=True)

    assert "only a parcel marked missing can be received as found" in response.content.decode()
    assert Notification.objects.filter(template="order_arrived").count() == 1  # told once
    with pytest.raises(dispatch.DispatchError, match="only a parcel marked missing"):
        dispatch.receive_found(parcel=lost)


def test_a_damaged_parcel_is_not_found(client_a, warehouse_a, big_truck, confirm, station_a, staff_a):
    order = confirm(station_a)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    batch = dispatch.depart_batch(batch=DeliveryBatch.objects.get())
    parcel = order.parcels.get()
    dispatch.receive_stop(stop=batch.stops.get(), actor=staff_a, problems={parcel.pk: ("damaged", "")})

    response = client_a.post(found_url(parcel), follow=True)

    assert "is damaged: only a parcel marked missing" in response.content.decode()
    assert Order.objects.get(pk=order.pk).status == S.EXCEPTION


def test_another_stations_staff_get_a_404_and_an_assistant_may_receive_it(client, lost, station_b, staff_b):
    client.force_login(staff_b)
    assert client.post(found_url(lost)).status_code == 404
    assert Parcel.objects.get(pk=lost.pk).status == Parcel.Status.MISSING
    assert client.get(found_url(lost)).status_code in (404, 405)

    assistant = UserFactory(username="ann")
    StationStaffFactory(user=assistant, service_center=lost.batch_stop.service_center, role="assistant")
    client.force_login(assistant)
    assert client.post(found_url(lost)).status_code == 302
    assert Parcel.objects.get(pk=lost.pk).status == Parcel.Status.DELIVERED


def test_the_stop_page_shows_the_found_parcel_without_a_button(client_a, lost):
    services.cancel_exception(order=lost.order, actor=None, reason="丢了")
    client_a.post(found_url(lost))

    page = client_a.get(f"/deliveries/{lost.batch_stop_id}/receive/").content.decode()

    assert lost.label in page and "found, sent back" in page
    assert found_url(lost) not in page
    assert BatchStop.objects.get(pk=lost.batch_stop_id).status == BatchStop.Status.RECEIVED
