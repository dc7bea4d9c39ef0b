"""The planning task runs on a real Celery worker over the configured broker (Redis in CI)."""

import pytest

from logistics.models import DeliveryBatch
from logistics.tasks import plan_warehouse
from orders.models import Order
from tests.celery_worker import worker_thread

from .conftest import DAY


@pytest.fixture
def celery_worker(transactional_db):
    with worker_thread() as worker:
        yield worker


def test_a_worker_plans_a_warehouse(celery_worker, warehouse_a, big_truck, confirm, station_a):
    order = confirm(station_a, bags=3)

    result = plan_warehouse.delay(warehouse_a.pk, DAY.isoformat()).get(timeout=60)

    assert result["batches"] == 1 and result["parcels"] == 1
    assert DeliveryBatch.objects.get().parcel_count == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.BATCHED
