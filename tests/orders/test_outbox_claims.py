"""The SMS outbox claims a message before the gateway call, sends with no transaction open, then records the outcome.

And the re-queue task finds the messages whose retry was lost (attempts > 0, still pending
after their backoff), and queues each once, whoever else is looking at it.
"""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.utils import timezone

from notifications import services as notifications
from notifications import tasks
from notifications.models import Notification
from notifications.sms import SmsError
from tests.conftest import requires_postgres

N = Notification.Status
PAYLOAD = {"order": "A1", "pickup_code": "123456", "station": "里叶村服务站"}


def backend(name: str) -> str:
    return f"{__name__}.{name}"


class Gateway:
    """A gateway whose behaviour each test sets: ``during(recipient)`` runs inside the call, then it accepts or fails."""

    sent: list[str] = []
    calls = 0
    during = None
    failures = 0  # how many calls to refuse first

    def send(self, *, recipient: str, text: str) -> None:
        cls = type(self)
        cls.calls += 1
        if cls.during is not None:
            cls.during(recipient)
        if cls.calls <= cls.failures:
            raise SmsError(f"gateway answered 503 (call {cls.calls})")
        cls.sent.append(recipient)


@pytest.fixture(autouse=True)
def gateway(settings):
    settings.SMS_BACKEND = backend("Gateway")
    Gateway.sent, Gateway.calls, Gateway.during, Gateway.failures = [], 0, None, 0
    return Gateway


@pytest.fixture
def queued(monkeypatch):
    """What the re-queue task puts on the broker (nothing runs)."""
    ids: list[int] = []
    monkeypatch.setattr(tasks.send_notification, "delay", lambda pk: ids.append(pk))
    return ids


def message(**fields) -> Notification:
    return Notification.objects.create(recipient="+8613812345678", template="order_placed", payload=PAYLOAD, **fields)


def resend() -> int:
    return tasks.resend_stuck_notifications.apply().get()


# --- the lost retry (issue #12, item 16) ------------------------------------------------------


def test_a_message_whose_retry_was_lost_is_queued_again_once_its_backoff_has_passed(db, gateway, queued):
    # given a message whose first attempt the gateway refused: its retry is due in 30 s
    gateway.failures = 1
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lost = message()
        assert notifications.send(lost.pk) == notifications.RETRY

    # when beat's re-queue runs while the retry may still come, then long after it should have come
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        early = resend()
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        runs = [resend(), resend()]  # twice: beat's next run finds it queued already

    # then it is queued once, after its backoff and the grace the retry had, and sent by that task
    assert early == 0
    assert runs == [1, 0]
    assert queued == [lost.pk]
    assert notifications.send(lost.pk) == notifications.SENT
    lost.refresh_from_db()
    assert (lost.status, lost.attempts, gateway.sent) == (N.SENT, 2, ["+8613812345678"])


def test_a_message_queued_again_is_queued_once_more_only_if_that_task_is_lost_too(db, gateway, queued):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lost = message(attempts=3, next_attempt_at=start, last_error="gateway answered 503")
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        assert resend() == 1
    with time_machine.travel(start + timedelta(minutes=15), tick=False):
        assert resend() == 0  # its new task may still be on its way
    with time_machine.travel(start + timedelta(minutes=22), tick=False):
        assert resend() == 1  # that one was lost too (a broker restart again)

    assert queued == [lost.pk, lost.pk]


def test_two_resend_runs_at_once_queue_a_lost_retry_once(db, queued):
    # given a message whose retry was lost long ago
    lost = message(attempts=1, next_attempt_at=timezone.now() - timedelta(hours=1))

    # when two runs of the re-queue task both find it, and one claims it before the other
    seen_by_second = notifications.stuck_ids()
    first = notifications.requeue(notifications.stuck_ids())
    second = notifications.requeue(seen_by_second)

    # then only the first queues it
    assert (seen_by_second, first, second) == ([lost.pk], [lost.pk], [])


def test_a_resend_during_a_send_in_progress_queues_nothing(db, gateway, queued):
    # given a lost retry, being sent at last by a retry that did arrive
    lost = message(attempts=1, next_attempt_at=timezone.now() - timedelta(hours=1))
    seen = []
    gateway.during = lambda recipient: seen.append(resend())

    # when the re-queue runs while the gateway call is in progress
    assert notifications.send(lost.pk) == notifications.SENT

    # then it leaves the claimed message alone: one SMS
    assert seen == [0]
    assert queued == []
    assert gateway.sent == ["+8613812345678"]


def test_a_retry_arriving_after_the_resend_sends_once_and_the_resend_task_skips(db, gateway, queued):
    # given a retry late enough to be taken for lost: the re-queue queues a second task for it
    lost = message(attempts=1, next_attempt_at=timezone.now() - timedelta(hours=1))
    assert resend() == 1

    # when the late retry arrives after all, then the re-queued task
    outcomes = [notifications.send(lost.pk), notifications.send(queued[0])]

    # then one SMS
    assert outcomes == [notifications.SENT, notifications.SKIPPED]
    assert gateway.sent == ["+8613812345678"]


def test_a_worker_lost_mid_send_leaves_the_message_claimed_then_queued_again(db, gateway, queued):
    class Killed(BaseException):
        """What the worker's death looks like from here: nothing after the gateway call runs."""

    def die(recipient):
        raise Killed

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        killed = message()
        gateway.during = die
        with pytest.raises(Killed):
            notifications.send(killed.pk)
    gateway.during = None

    # while the claim holds, a duplicate delivery of the task skips it and the re-queue leaves it alone
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert notifications.send(killed.pk) == notifications.SKIPPED
        assert resend() == 0
    # once the claim has lapsed (and the grace a redelivery has), the re-queue queues it
    with time_machine.travel(start + timedelta(minutes=13), tick=False):
        assert resend() == 1
        assert notifications.send(killed.pk) == notifications.SENT

    assert queued == [killed.pk]
    assert gateway.sent == ["+8613812345678"]


def test_a_failure_recorded_after_the_claim_lapsed_does_not_undo_another_workers_send(db, gateway):
    # given a slow worker whose claim lapsed while its gateway call hung; another worker sent the message
    msg = message()

    def meanwhile(recipient):
        if gateway.calls == 1:
            Notification.objects.filter(pk=msg.pk).update(claimed_until=timezone.now() - timedelta(seconds=1))
            assert notifications.send(msg.pk) == notifications.SENT
            raise SmsError("timed out")

    gateway.during = meanwhile

    # when the slow one's call fails at last
    outcome = notifications.send(msg.pk)

    # then it records nothing over the other's success and asks for no retry
    assert outcome == notifications.SKIPPED
    msg.refresh_from_db()
    assert (msg.status, msg.attempts, msg.last_error) == (N.SENT, 2, "")


# --- no transaction across the gateway call (issue #12, item 17) -------------------------------


class LockProbe:
    """A gateway that checks, during the call, that no transaction is open and that the row is not locked."""

    seen: list[tuple] = []

    def send(self, *, recipient: str, text: str) -> None:
        row_free = None
        if connection.vendor == "postgresql":
            row_free = _another_connection_can_update(Notification.objects.get(recipient=recipient).pk)
        type(self).seen.append((connection.in_atomic_block, connection.get_autocommit(), row_free))


def _another_connection_can_update(pk: int) -> bool:
    """UPDATE the row from another connection, giving up after 2 s of waiting for a lock."""
    result = []

    def update():
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                updated = Notification.objects.filter(pk=pk).update(last_error="probe")
                transaction.set_rollback(True)
            result.append(updated == 1)
        except Exception:  # noqa: BLE001 - a lock timeout is the answer we test for
            result.append(False)
        finally:
            connections.close_all()

    thread = threading.Thread(target=update)
    thread.start()
    thread.join(timeout=10)
    return result == [True]


def test_no_transaction_is_open_during_the_gateway_call(transactional_db, settings):
    settings.SMS_BACKEND = backend("LockProbe")
    LockProbe.seen = []
    msg = message()

    assert notifications.send(msg.pk) == notifications.SENT

    [(in_atomic_block, autocommit, row_free)] = LockProbe.seen
    assert (in_atomic_block, autocommit) == (False, True)
    assert row_free in (True, None)  # None: SQLite, where there are no row locks to probe
    msg.refresh_from_db()
    assert (msg.status, msg.attempts, msg.claimed_until) == (N.SENT, 1, None)


@requires_postgres
def test_another_connection_can_update_the_message_while_it_is_sent(transactional_db, settings):
    settings.SMS_BACKEND = backend("LockProbe")
    LockProbe.seen = []
    msg = message()

    assert notifications.send(msg.pk) == notifications.SENT

    assert LockProbe.seen == [(False, True, True)]
