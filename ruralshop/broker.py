"""Queueing Celery tasks after commit without letting a broker outage fail a request that has committed.

The rows a task works on (an SMS in the outbox, a webhook delivery) are
written in the request's transaction; the task only carries their id.  When
Redis is down at commit time the rows stay pending and a periodic task (or the
admin) queues them again, so the request answers with what it committed
instead of a 500 (the fault drill of Redis stopped found one).
"""

import logging

from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger("ruralshop.broker")


def delay_each_on_commit(task, ids: list[int], *, left_for: str) -> None:
    """After commit, ``task.delay(id)`` for each id; on a broker outage stop and leave the rest to ``left_for``."""
    if ids:
        ids = list(ids)
        transaction.on_commit(lambda: _delay_each(task, ids, left_for=left_for))


def delay_each(task, ids: list[int], *, left_for: str) -> None:
    """``task.delay(id)`` for each id now (outside a transaction: a periodic re-queue); an outage leaves the rest."""
    _delay_each(task, list(ids), left_for=left_for)


def _delay_each(task, ids: list[int], *, left_for: str) -> None:
    for queued, pk in enumerate(ids):
        try:
            task.delay(pk)
        except BrokerUnavailable as exc:
            # The first failure stops the loop: a batch's hundreds of rows do not
            # each wait out the broker's connection retries.
            logger.warning(
                "Broker unavailable: %s of %s left pending for %s: %s", len(ids) - queued, task.name, left_for, exc
            )
            return
