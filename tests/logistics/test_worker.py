"""The planning task runs on a real Celery worker over the configured broker (Redis in CI)."""

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from logistics.models import DeliveryBatch
from logistics.tasks import plan_warehouse
from orders.models import Order
from ruralshop.celery import app

from .conftest import DAY


@pytest.fixture
def celery_worker(transactional_db):
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping, which start_worker expects

    def close_db(**kwargs):
        # Workers keep their connection between tasks (ruralshop.celery): the worker thread's would
        # otherwise outlive the test and block dropping the test database.
        connection.close()

    task_postrun.connect(close_db, weak=False)
    app.control.purge()
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(close_db)


def test_a_worker_plans_a_warehouse(celery_worker, warehouse_a, big_truck, confirm, station_a):
    order = confirm(station_a, bags=3)

    result = plan_warehouse.delay(warehouse_a.pk, DAY.isoformat()).get(timeout=60)

    assert result["batches"] == 1 and result["parcels"] == 1
    assert DeliveryBatch.objects.get().parcel_count == 1
    assert Order.objects.get(pk=order.pk).status == Order.Status.BATCHED
