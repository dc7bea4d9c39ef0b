"""Running, in the test, the Celery tasks a request queues after commit.

A test runs in a transaction that never commits, so ``delay_on_commit`` never
publishes; this runs the callbacks the block registered, with Celery eager
(the task runs here, in the test's transaction).  Callbacks those tasks
register in turn (the stations' SMS of a plan) stay unrun, as after any
service call in a test.
"""

from contextlib import contextmanager

from django.test import TestCase

from ruralshop.celery import app as celery_app


@contextmanager
def queued_tasks_run_here():
    with TestCase.captureOnCommitCallbacks() as callbacks:
        yield
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    try:
        for callback in callbacks:
            callback()
    finally:
        celery_app.conf.task_always_eager = eager
