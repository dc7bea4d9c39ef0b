"""A real Celery worker in a thread of the test process, on the configured broker (Redis in CI)."""

from contextlib import contextmanager

from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.db import connection

from ruralshop.celery import app


def _close_db(**kwargs) -> None:
    # Workers keep their connection between tasks (ruralshop.celery): the worker thread's would
    # otherwise outlive the test and block dropping the test database.
    connection.close()


@contextmanager
def worker_thread():
    """Yield a running worker (solo pool); the test's rows must be committed for it to see them."""
    import celery.contrib.testing.tasks  # noqa: F401 - registers celery.ping, which start_worker expects

    task_postrun.connect(_close_db, weak=False)
    app.control.purge()  # messages left in the queue by an interrupted earlier run
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"
        ) as worker:
            yield worker
    finally:
        task_postrun.disconnect(_close_db)
