"""Queueing Celery tasks, by name, without letting a broker outage fail a request that has committed.

Services name the task they queue (``"notifications.tasks.send_notification"``)
instead of importing its module: a task module imports the services it calls,
so an import the other way would be a cycle.  The name is looked up in the
Celery app's registry (its apps' ``tasks`` modules, discovered on first use),
so the task runs as its own ``delay`` would run it: eager where Celery is
eager, and with whatever a test set on it.

The rows a task works on (an SMS in the outbox, a webhook delivery) are
written in the request's transaction; the task only carries their id.  When
Redis is down at commit time the rows stay pending and a periodic task (or the
admin) queues them again, so the request answers with what it committed
instead of a 500 (the fault drill of Redis stopped found one).
"""

import logging

from celery import current_app
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger("ruralshop.broker")


def task(name: str):
    """The registered task called ``name``; the apps' task modules are imported the first time one is missing."""
    registry = current_app.tasks
    if name not in registry:
        current_app.loader.import_default_modules()
    return registry[name]


def queue_each_on_commit(name: str, ids: list[int], *, left_for: str) -> None:
    """After commit, ``name.delay(id)`` for each id; on a broker outage stop and leave the rest to ``left_for``."""
    if ids:
        ids = list(ids)
        transaction.on_commit(lambda: _queue(name, [(pk,) for pk in ids], left_for=left_for))


def queue_each(name: str, ids: list[int], *, left_for: str) -> None:
    """``name.delay(id)`` for each id now (outside a transaction: a periodic re-queue); an outage leaves the rest."""
    _queue(name, [(pk,) for pk in ids], left_for=left_for)


def _queue(name: str, calls: list[tuple], *, left_for: str) -> None:
    if not calls:
        return
    queued_task = task(name)
    for queued, args in enumerate(calls):
        try:
            queued_task.delay(*args)
        except BrokerUnavailable as exc:
            # The first failure stops the loop: a batch's hundreds of rows do not
            # each wait out the broker's connection retries.
            logger.warning(
                "Broker unavailable: %s of %s left pending for %s: %s", len(calls) - queued, name, left_for, exc
            )
            return
