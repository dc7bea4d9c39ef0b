"""Orders placed before the villager's say was recorded (orders 0013): their consent is "before the record",
their slip counts as printed, and a villager without SMS is on the slip's way."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from orders import services
from orders.models import Order
from tests.factories import VillagerFactory

BEFORE = [("orders", "0012_found_parcels"), ("integrity", None)]


@pytest.mark.django_db(transaction=True)
def test_orders_of_the_previous_release_come_forward_with_their_consent_before_the_record(
    station_a, villager_a, staff_a, fertilizer_stock
):
    no_sms = VillagerFactory(service_center=station_a, name="张无机", phone="", sms_consent=False)
    numbers = {}
    for key, villager in (("sms", villager_a), ("none", no_sms)):
        numbers[key] = services.place_order(
            station=station_a,
            villager=villager,
            placed_by=staff_a,
            lines=[services.LineRequest(fertilizer_stock.product.sku, 1)],
            delivery_method="station_pickup",
            payment_method="cash_at_station",
            idempotency_key=key,
            notify=False,
        ).order.number
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    MigrationExecutor(connection).migrate(BEFORE)  # the columns are gone, the orders stay
    MigrationExecutor(connection).migrate(leaves)

    orders = {o.number: o for o in Order.objects.all()}
    for number in numbers.values():
        order = orders[number]
        assert order.consent_evidence == Order.ConsentEvidence.BEFORE_RECORD
        assert order.consent_given_at == order.created_at == order.slip_printed_at
    assert orders[numbers["sms"]].consent_via == Order.ConsentVia.SMS
    assert orders[numbers["none"]].consent_via == Order.ConsentVia.SLIP
