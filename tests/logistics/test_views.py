"""Station deliveries and the county's dispatch board: scoped, and doing what they say."""

from datetime import timedelta
from unittest.mock import patch

import pytest
import time_machine
from django.contrib.messages import constants, get_messages
from kombu.exceptions import OperationalError as BrokerUnavailable

from logistics import services, tasks
from logistics.models import BatchStop, DeliveryBatch
from notifications.models import Notification
from orders.models import Order
from tests.queued_tasks import queued_tasks_run_here

from .conftest import DAY, local


def planned(warehouse):
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse, dispatch_date=DAY)
    return DeliveryBatch.objects.get()


def test_the_station_sees_its_incoming_delivery(client_a, warehouse_a, big_truck, confirm, station_a):
    confirm(station_a, bags=2)
    batch = services.depart_batch(batch=planned(warehouse_a))

    page = client_a.get("/deliveries/").content.decode()

    assert batch.code in page
    assert f"/deliveries/{BatchStop.objects.get().pk}/receive/" in page


def test_another_stations_delivery_is_a_404(client, staff_b, warehouse_a, big_truck, confirm, station_a):
    confirm(station_a)
    stop = BatchStop.objects.filter(batch=services.depart_batch(batch=planned(warehouse_a))).get()
    client.force_login(staff_b)

    assert stop.batch.code not in client.get("/deliveries/").content.decode()
    assert client.get(f"/deliveries/{stop.pk}/receive/").status_code == 404
    assert client.post(f"/deliveries/{stop.pk}/receive/").status_code == 404
    stop.refresh_from_db()
    assert stop.status == BatchStop.Status.PENDING


def test_receiving_with_one_missing_parcel(client_a, warehouse_a, big_truck, confirm, station_a):
    good, lost = confirm(station_a), confirm(station_a)
    services.depart_batch(batch=planned(warehouse_a))
    stop = BatchStop.objects.get()

    response = client_a.post(
        f"/deliveries/{stop.pk}/receive/",
        {
            f"parcel-{good.parcels.get().pk}": "delivered",
            f"parcel-{lost.parcels.get().pk}": "missing",
            f"note-{lost.parcels.get().pk}": "没装车",
        },
    )

    assert response.status_code == 302
    assert Order.objects.get(pk=good.pk).status == Order.Status.AT_STATION
    # Not stranded in transit: the order waits for the county's decision (ship again or cancel).
    assert Order.objects.get(pk=lost.pk).status == Order.Status.EXCEPTION
    parcel = lost.parcels.get()
    assert (parcel.status, parcel.note) == ("missing", "没装车")


def test_a_bogus_outcome_changes_nothing(client_a, warehouse_a, big_truck, confirm, station_a):
    order = confirm(station_a)
    services.depart_batch(batch=planned(warehouse_a))
    stop = BatchStop.objects.get()

    client_a.post(f"/deliveries/{stop.pk}/receive/", {f"parcel-{order.parcels.get().pk}": "stolen"})

    stop.refresh_from_db()
    assert stop.status == BatchStop.Status.PENDING


def test_the_county_board_and_manifest_mask_villagers(
    client, county_manager, warehouse_a, big_truck, confirm, station_a
):
    order = confirm(station_a)
    batch = planned(warehouse_a)
    client.force_login(county_manager)

    board = client.get("/county/dispatch/", {"date": DAY.isoformat()}).content.decode()
    manifest = client.get(f"/county/batches/{batch.code}/manifest/").content.decode()
    csv = client.get(f"/county/batches/{batch.code}/manifest.csv").content.decode("utf-8-sig")

    assert batch.code in board
    villager = order.villager
    for document in (manifest, csv):
        assert order.parcels.get().label in document
        assert villager.name not in document
        assert villager.name[0] + "*" in document
        assert str(villager.phone.national_number) not in document


def test_station_staff_and_other_counties_cannot_see_the_board(
    client, client_a, staff_b, station_b, warehouse_a, big_truck, confirm, station_a
):
    from tests.factories import CountyManagerFactory, UserFactory

    confirm(station_a)
    batch = planned(warehouse_a)
    other = CountyManagerFactory(user=UserFactory(username="erin"), county=station_b.village.county).user

    assert client_a.get("/county/dispatch/").status_code == 404
    assert client_a.get(f"/county/batches/{batch.code}/manifest/").status_code == 404
    client.force_login(other)
    assert batch.code not in client.get("/county/dispatch/", {"date": DAY.isoformat()}).content.decode()
    assert client.get(f"/county/batches/{batch.code}/manifest/").status_code == 404
    assert client.get(f"/county/batches/{batch.code}/manifest.csv").status_code == 404


def test_the_county_manager_plans_from_the_board(client, county_manager, warehouse_a, big_truck, confirm, station_a):
    order = confirm(station_a)

    with time_machine.travel(local(DAY, 16, 5), tick=False):
        client.force_login(county_manager)  # a session of that day: an older one would have expired
        with queued_tasks_run_here():  # the planning task the page queues
            response = client.post(f"/county/dispatch/plan/?date={DAY.isoformat()}")

    assert response["Location"] == f"/county/dispatch/?date={DAY.isoformat()}"
    assert Order.objects.get(pk=order.pk).status == Order.Status.BATCHED


def test_plan_now_queues_the_warehouses_planning_and_does_not_plan_in_the_request(
    client, county_manager, warehouse_a, big_truck, confirm, station_a, django_capture_on_commit_callbacks
):
    order = confirm(station_a)
    client.force_login(county_manager)

    with patch.object(tasks.plan_warehouse, "delay") as delay:
        with django_capture_on_commit_callbacks() as queued:
            response = client.post(f"/county/dispatch/plan/?date={DAY.isoformat()}", follow=True)
        for callback in queued:  # the commit
            callback()

    delay.assert_called_once_with(warehouse_a.pk, DAY.isoformat())
    assert Order.objects.get(pk=order.pk).status == Order.Status.CONFIRMED
    assert [(m.level, warehouse_a.code in m.message) for m in response.context["messages"]] == [
        (constants.SUCCESS, True)  # its planning has started
    ]


@pytest.mark.django_db(transaction=True)
def test_plan_now_with_the_broker_down_is_a_message_not_a_500(client, county_manager, warehouse_a, monkeypatch):
    # given no broker (outside a transaction, the task is published at once)
    def refuse(*args, **kwargs):
        raise BrokerUnavailable("connection refused")

    monkeypatch.setattr(tasks.plan_warehouse, "delay", refuse)
    client.force_login(county_manager)

    response = client.post("/county/dispatch/plan/")

    assert response.status_code == 302
    assert [m.level for m in get_messages(response.wsgi_request)] == [constants.ERROR]


def test_a_domain_refusal_while_receiving_is_a_message_not_a_500(
    client_a, warehouse_a, big_truck, confirm, station_a, staff_a
):
    # given a parcel on the truck whose order is no longer in transit (the demo data once held such runs)
    order = confirm(station_a)
    services.depart_batch(batch=planned(warehouse_a))
    stop = BatchStop.objects.get()
    Order.objects.filter(pk=order.pk).update(status=Order.Status.AT_STATION)

    # when the station receives the run
    response = client_a.post(f"/deliveries/{stop.pk}/receive/", {f"parcel-{order.parcels.get().pk}": "delivered"})

    # then the partner reads why, on the receiving page, and nothing changed
    assert response.status_code == 302
    assert response["Location"] == f"/deliveries/{stop.pk}/receive/"
    page = client_a.get(response["Location"]).content.decode()
    assert 'role="alert"' in page or "error" in page
    stop.refresh_from_db()
    assert stop.status == BatchStop.Status.PENDING


def test_the_county_ships_an_exception_again_and_it_is_planned_on_a_new_parcel(
    client, county_manager, client_a, warehouse_a, big_truck, confirm, station_a, bag
):
    from .conftest import stock_of

    order = confirm(station_a)
    services.depart_batch(batch=planned(warehouse_a))
    stop = BatchStop.objects.get()
    client_a.post(f"/deliveries/{stop.pk}/receive/", {f"parcel-{order.parcels.get().pk}": "damaged"})
    before = stock_of(bag, warehouse_a)
    client.force_login(county_manager)

    queue = client.get("/county/exceptions/").content.decode()
    response = client.post(f"/county/exceptions/{order.number}/ship-again/")

    assert order.number in queue
    assert response.status_code == 302
    assert Order.objects.get(pk=order.pk).status == Order.Status.CONFIRMED
    # the villager is told the goods come again (the confirm fixture's villager has a phone and agreed)
    told = Notification.objects.get(template="order_shipped_again")
    assert (told.reference, told.villager_id) == (order.number, order.villager_id)
    after = stock_of(bag, warehouse_a)
    assert (after.on_hand, after.reserved) == (before.on_hand, before.reserved + 1)
    with time_machine.travel(local(DAY + timedelta(days=1), 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY + timedelta(days=1))
    assert Order.objects.get(pk=order.pk).status == Order.Status.BATCHED
    assert sorted(order.parcels.values_list("label", "status")) == [
        (f"P{order.number}", "damaged"),
        (f"P{order.number}-2", "loaded"),
    ]


def test_the_county_cancels_an_exception_with_a_reason(
    client, county_manager, client_a, warehouse_a, big_truck, confirm, station_a
):
    order = confirm(station_a)
    services.depart_batch(batch=planned(warehouse_a))
    stop = BatchStop.objects.get()
    client_a.post(f"/deliveries/{stop.pk}/receive/", {f"parcel-{order.parcels.get().pk}": "missing"})
    client.force_login(county_manager)

    refused = client.post(f"/county/exceptions/{order.number}/cancel/", {"reason": ""})
    assert Order.objects.get(pk=order.pk).status == Order.Status.EXCEPTION
    client.post(f"/county/exceptions/{order.number}/cancel/", {"reason": "找不到了"})

    assert refused.status_code == 302
    assert Order.objects.get(pk=order.pk).status == Order.Status.CANCELLED
