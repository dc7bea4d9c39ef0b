"""An outbox, written once: rows written in the transaction that decides to send, sent by a task after commit.

The SMS outbox (``notifications.Notification``) and the webhooks' delivery log
(``logistics.WebhookDelivery``) are both one: a row per message with
``status``, ``attempts``, ``last_error``, ``created_at``, ``claimed_until`` and
``next_attempt_at``, and a task that sends one row by id.

A send is three steps: claim the row (one conditional UPDATE, committed at
once), call the outside service with no transaction open and no row locked
(a call may take the service's whole timeout), then record the outcome in a
second short statement.  The claim (``claimed_until``) is what keeps a
message from going out twice: a duplicate delivery of the task, the re-queue
task and a late retry all find it claimed, or done, and skip it.  A worker
killed mid-send leaves its claim to lapse; the message is then sent again (at
least once: a worker killed after the service accepted, before the record,
means a second message, with any design).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone

from ruralshop import broker

PENDING, FAILED = "pending", "failed"  # the status values every outbox shares; the done one is its own
# Longer than a send task's hard time limit (60 s): a worker holding a claim has either recorded its
# outcome or been killed by then, so a lapsed claim is a dead worker's.
CLAIM_FOR = timedelta(minutes=2)
# How long past its due time a row may wait for its task (a retry's ETA, a busy worker) before the
# re-queue task takes the task for lost.  A never-tried row counts from when it was written.
STUCK_AFTER = timedelta(minutes=10)
REQUEUE_BATCH = 1000


class Outcome(str):
    """What one send did: ``"sent"``/``"delivered"``, ``"retry"``, ``"failed"`` or ``"skipped"``; a retry says when."""

    retry_in: int | None = None

    def __new__(cls, value: str, *, retry_in: int | None = None):
        outcome = super().__new__(cls, value)
        outcome.retry_in = retry_in
        return outcome


RETRY, SKIPPED = "retry", "skipped"


def backoff(attempts: int) -> int:
    """Seconds before the next attempt after ``attempts`` failed ones: 30, 60, 120, ... capped at one hour."""
    return min(30 * 2 ** max(attempts - 1, 0), 3600)


@dataclass(frozen=True)
class Outbox:
    """The claim, record, re-queue and resend of one outbox model, whose rows its task ``task`` sends by id."""

    model: type[models.Model]
    task: str  # the Celery task's name: queued by name (ruralshop.broker), never imported
    requeue_task: str
    done: str  # the status of a row the service took (sent, delivered)
    max_attempts: int

    # --- queueing -------------------------------------------------------------------

    def queue_on_commit(self, ids: list[int]) -> None:
        """After the caller's commit, one task per row; a broker outage leaves them to the re-queue task."""
        broker.queue_each_on_commit(self.task, ids, left_for=self.requeue_task)

    def resend(self, pk: int) -> None:
        """Admin: another full round of attempts for a failed row."""
        with transaction.atomic():
            self.model.objects.filter(pk=pk).update(
                status=PENDING, attempts=0, claimed_until=None, next_attempt_at=timezone.now()
            )
            self.queue_on_commit([pk])

    def requeue_stuck(self) -> int:
        """The re-queue task: queue again the rows whose task was lost (``stuck_ids``, ``requeue``)."""
        ids = self.requeue(self.stuck_ids())
        broker.queue_each(self.task, ids, left_for=f"the next {self.requeue_task}")
        return len(ids)

    # --- one send ----------------------------------------------------------------------

    def claim(self, pk: int, *, fields: list[str], now: datetime | None = None):
        """Take a pending row no live worker holds: one more attempt, claimed for CLAIM_FOR; None if not ours.

        The row comes back with ``fields`` and ``attempts`` (this attempt's number) only.
        """
        now = now or timezone.now()
        until = now + CLAIM_FOR
        columns = ["id", *(self.model._meta.get_field(f).column for f in fields), "attempts"]
        if update_returns_rows():
            # One statement per row instead of an UPDATE and a SELECT (bench/sms.py); list() reads it to the end,
            # so SQLite finishes the statement (and, in autocommit, commits it) here.
            adapt = connection.ops.adapt_datetimefield_value
            claimed = self.model.objects.raw(
                f"UPDATE {self.model._meta.db_table} SET attempts = attempts + 1, claimed_until = %s, "  # noqa: S608 - the model's table and columns
                "next_attempt_at = %s WHERE id = %s AND status = %s AND (claimed_until IS NULL OR claimed_until <= %s) "
                f"RETURNING {', '.join(columns)}",
                [adapt(until), adapt(until), pk, PENDING, adapt(now)],
            )
            rows = list(claimed)
            return rows[0] if rows else None
        updated = (
            self.model.objects.filter(pk=pk, status=PENDING)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            .update(attempts=F("attempts") + 1, claimed_until=until, next_attempt_at=until)
        )
        if not updated:
            return None
        return self.model.objects.only(*fields, "attempts").get(pk=pk)

    def record_done(self, pk: int, **fields) -> None:
        """The service took it: whatever happened to the row meanwhile, say so."""
        self.model.objects.filter(pk=pk).update(
            status=self.done, last_error="", claimed_until=None, next_attempt_at=None, **fields
        )

    def record_failure(self, row, *, error: str, **fields) -> Outcome:
        """Pending again with the retry's due time, or failed after the last attempt; SKIPPED if no longer ours."""
        final = row.attempts >= self.max_attempts
        # Conditional on our attempt: a claim that lapsed during a hung call may have been taken (and the
        # message sent) by another worker, whose record must stand.
        recorded = self.model.objects.filter(pk=row.pk, status=PENDING, attempts=row.attempts).update(
            status=FAILED if final else PENDING,
            last_error=error[:500],
            claimed_until=None,
            next_attempt_at=None if final else timezone.now() + timedelta(seconds=backoff(row.attempts)),
            **fields,
        )
        if not recorded:
            return Outcome(SKIPPED)
        return Outcome(FAILED) if final else Outcome(RETRY, retry_in=backoff(row.attempts))

    def hold(self, row, *, until: datetime) -> None:
        """Not now: pending again, due ``until`` (the re-queue task takes it from then), this attempt not counted."""
        self.model.objects.filter(pk=row.pk, status=PENDING, attempts=row.attempts).update(
            attempts=F("attempts") - 1, claimed_until=None, next_attempt_at=until
        )

    def drop(self, row, *, error: str) -> None:
        """Never: failed without a call to the service (what it was for no longer holds)."""
        self.model.objects.filter(pk=row.pk, status=PENDING, attempts=row.attempts).update(
            status=FAILED, last_error=error[:500], claimed_until=None, next_attempt_at=None
        )

    # --- lost tasks --------------------------------------------------------------------

    def _stuck(self, now) -> Q:
        """Pending, held by no live worker, and its task overdue: never tried STUCK_AFTER after it was written
        (the broker was down at commit), or still untried STUCK_AFTER after its retry was due (the retry was lost:
        a broker restart, a worker killed while holding it)."""
        cutoff = now - STUCK_AFTER
        return (
            Q(status=PENDING)
            & (Q(claimed_until__isnull=True) | Q(claimed_until__lte=now))
            & (Q(next_attempt_at__isnull=True, created_at__lt=cutoff) | Q(next_attempt_at__lt=cutoff))
        )

    def stuck_ids(self, *, now=None) -> list[int]:
        """The rows whose task was lost (``_stuck``), oldest first, at most REQUEUE_BATCH."""
        stuck = self.model.objects.filter(self._stuck(now or timezone.now()))
        return list(stuck.order_by("pk").values_list("pk", flat=True)[:REQUEUE_BATCH])

    def requeue(self, ids: list[int], *, now=None) -> list[int]:
        """Claim the re-queue of ``ids`` still stuck: due now, so the next run waits STUCK_AFTER for the new task.

        Conditional (``_stuck`` again in the UPDATE): of two re-queue runs that found the same row, or a re-queue
        and a retry that did arrive, one wins; the others find it no longer stuck.  Returns the ids to queue.
        """
        if not ids:
            return []
        now = now or timezone.now()
        with transaction.atomic():
            self.model.objects.filter(self._stuck(now), pk__in=ids).update(next_attempt_at=now)
            # Ours are the rows carrying our timestamp: the UPDATE keeps them locked until commit.
            mine = self.model.objects.filter(pk__in=ids, next_attempt_at=now)
            return list(mine.order_by("pk").values_list("pk", flat=True))


def update_returns_rows() -> bool:
    """UPDATE ... RETURNING: PostgreSQL, and SQLite from 3.35 (the version that learnt RETURNING)."""
    return connection.vendor == "postgresql" or (
        connection.vendor == "sqlite" and connection.features.can_return_columns_from_insert
    )
