"""A task really runs on a Celery worker over the configured broker."""

import pytest
from django.conf import settings
from django.core.cache import cache

from ruralshop.celery import app
from ruralshop.tasks import HEARTBEAT_KEY, heartbeat
from tests.celery_worker import worker_thread


@pytest.fixture
def celery_worker():
    with worker_thread() as worker:
        yield worker


def test_it_runs_on_the_broker_the_settings_name():
    with app.connection_for_write() as conn:
        transport = conn.transport.driver_type

    assert transport == ("redis" if settings.REDIS_URL else "filesystem")
    assert app.conf.task_always_eager is False


def test_a_worker_executes_the_heartbeat_task(celery_worker):
    # given no heartbeat recorded
    cache.delete(HEARTBEAT_KEY)

    # when the task is sent through the broker
    result = heartbeat.delay()

    # then a worker ran it: the result came back and the side effect is visible here
    recorded = result.get(timeout=30)
    assert cache.get(HEARTBEAT_KEY) == recorded
    assert result.successful()
