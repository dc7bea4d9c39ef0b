"""The demo data is what the services make: every run in transit can be received through the station's page."""

import pytest
from django.core.management import call_command

from logistics.models import BatchStop, DeliveryBatch, Parcel
from orders.models import Order
from partners.models import StationStaff
from tests.factories import StationStaffFactory

S = Order.Status


@pytest.fixture
def demo(db):
    call_command("seed_demo", "--password", "demo-pass-1", stdout=open("/dev/null", "w"))  # noqa: SIM115


def test_every_demo_run_in_transit_is_received_through_the_page(demo, client):
    runs = DeliveryBatch.objects.filter(status=DeliveryBatch.Status.IN_TRANSIT)
    stops = BatchStop.objects.filter(batch__in=runs).exclude(status=BatchStop.Status.RECEIVED).select_related("batch")
    assert stops.exists()
    partner_station = StationStaff.objects.get(user__username="partner").service_center
    assert stops.filter(service_center=partner_station).exists()  # the demo partner has a delivery to receive

    for stop in stops:
        staff = StationStaff.objects.filter(service_center=stop.service_center).select_related("user").first()
        # The demo has logins for two stations; the others get a partner here.
        user = staff.user if staff else StationStaffFactory(service_center=stop.service_center).user
        client.force_login(user)
        parcels = list(stop.parcels.all())
        assert client.get(f"/deliveries/{stop.pk}/receive/").status_code == 200

        response = client.post(
            f"/deliveries/{stop.pk}/receive/", {f"parcel-{parcel.pk}": "delivered" for parcel in parcels}
        )

        assert (response.status_code, response["Location"]) == (302, "/deliveries/"), stop
        assert {Order.objects.get(pk=p.order_id).status for p in parcels} == {S.AT_STATION}
    assert not Order.objects.filter(status=S.IN_TRANSIT).exists()
    assert DeliveryBatch.objects.filter(status=DeliveryBatch.Status.IN_TRANSIT).count() == 0


def test_demo_runs_hold_only_orders_the_run_can_still_move(demo):
    # A planned run carries batched orders; a run out carries orders in transit (or delivered at
    # received stops); a completed run carries none in transit.
    for parcel in Parcel.objects.select_related("batch_stop__batch", "order"):
        batch_status, order_status = parcel.batch_stop.batch.status, parcel.order.status
        if batch_status == DeliveryBatch.Status.PLANNED:
            assert order_status == S.BATCHED, parcel
        elif batch_status == DeliveryBatch.Status.IN_TRANSIT:
            assert order_status in (S.IN_TRANSIT, S.AT_STATION, S.COLLECTED, S.RETURNED), parcel
        else:
            assert order_status != S.IN_TRANSIT, parcel
    assert max(b.load_percent for b in DeliveryBatch.objects.all()) <= 100
