"""The SMS outbox: written with the order, sent after commit by a real Celery worker, retried, never lost."""

import logging
import threading
import time

import pytest
from django.conf import settings as django_settings
from django.db import connection

from notifications import outbox
from notifications import services as notifications
from notifications.models import Notification
from notifications.sms import SmsError
from notifications.tasks import send_notification
from orders import services
from orders.models import Order
from ruralshop.celery import app
from tests.celery_worker import worker_thread
from tests.conftest import requires_postgres
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart

N = Notification.Status


class RecordingBackend:
    """Keeps what it was asked to send."""

    sent: list[tuple[str, str]] = []

    def send(self, *, recipient: str, text: str) -> None:
        type(self).sent.append((recipient, text))


class FlakyBackend:
    """A gateway having a bad minute: refuses the first two messages, then accepts."""

    calls = 0

    def send(self, *, recipient: str, text: str) -> None:
        type(self).calls += 1
        if type(self).calls <= 2:
            raise SmsError(f"gateway answered 503 (call {type(self).calls})")


class DownBackend:
    """A gateway that is gone for good."""

    calls = 0

    def send(self, *, recipient: str, text: str) -> None:
        type(self).calls += 1
        raise SmsError("gateway unreachable: connection refused")


@pytest.fixture(autouse=True)
def fresh_backends():
    # The worker thread instantiates a backend per message; what they saw is kept on the class.
    RecordingBackend.sent = []
    FlakyBackend.calls = DownBackend.calls = 0


def backend(name: str) -> str:
    return f"{__name__}.{name}"


# --- the outbox row, written with the order ----------------------------------------


def test_placing_an_order_writes_one_pending_sms_queued_after_commit(
    place_at_a, fertilizer_stock, station_a, monkeypatch, django_capture_on_commit_callbacks
):
    # given a villager with a phone who agreed to SMS (villager_a)
    queued = []
    monkeypatch.setattr(send_notification, "delay", lambda *args: queued.append(args))

    # when
    with django_capture_on_commit_callbacks(execute=True):
        order = place_at_a((fertilizer_stock.product, 2)).order
        assert queued == []  # nothing leaves before the order is committed

    # then one message, with the code the villager agrees with (the pickup code comes with the goods)
    notification = Notification.objects.get()
    assert (notification.status, notification.attempts, notification.channel) == (N.PENDING, 0, "sms")
    assert (notification.recipient, notification.template, notification.reference, notification.villager) == (
        "+8613812345678",
        "order_consent",
        order.number,
        order.villager,
    )
    assert notification.payload == {
        "order": order.number,
        "code": order.consent_code,
        "station": station_a.name,
        "total": "336.00",
        "hours": 48,
        "promised": f"{order.promised_on:%m月%d日}",  # the delivery promise (logistics.promise)
    }
    assert queued == [(notification.pk,)]


@pytest.mark.parametrize(("phone", "consent"), [("+8613900001111", False), ("", True)], ids=["no-consent", "no-phone"])
def test_no_sms_without_consent_or_phone(place_at_a, fertilizer_stock, station_a, phone, consent):
    villager = VillagerFactory(service_center=station_a, phone=phone, sms_consent=consent)

    order = place_at_a((fertilizer_stock.product, 1), villager=villager).order

    assert Order.objects.filter(pk=order.pk).exists()
    assert not Notification.objects.exists()


def test_a_refused_order_writes_no_sms(place_at_a, fertilizer_stock):
    with pytest.raises(services.InsufficientStock):
        place_at_a((fertilizer_stock.product, 21))

    assert not Notification.objects.exists()


def test_arrival_at_the_station_writes_an_sms(order_placed, staff_a):
    services.confirm_payment(order=order_placed, consent_code=order_placed.consent_code, actor=staff_a)
    services.transition(order_placed, to=Order.Status.BATCHED)
    depart(order=order_placed)

    arrive(order=order_placed)

    arrived = Notification.objects.get(template="order_arrived")
    assert (arrived.reference, arrived.villager) == (order_placed.number, order_placed.villager)
    assert arrived.payload["pickup_code"] == order_placed.pickup_code
    assert Notification.objects.count() == 2  # placed, arrived


# --- sending, without a worker ----------------------------------------------------------------


@pytest.fixture(params=["update-returning", "update-then-select"])
def claim(request, monkeypatch):
    """Both ways of claiming a message: UPDATE ... RETURNING, and an UPDATE then a SELECT (SQLite < 3.35)."""
    if request.param == "update-then-select":
        monkeypatch.setattr(outbox, "update_returns_rows", lambda: False)
    return request.param


def test_sending_twice_sends_once(order_placed, settings, claim):
    # given
    settings.SMS_BACKEND = backend("RecordingBackend")
    notification = Notification.objects.get()

    # when the task is delivered twice (acks_late: a worker lost after sending, a retried message)
    outcomes = [notifications.send(notification.pk), notifications.send(notification.pk)]

    # then one SMS
    assert outcomes == [notifications.SENT, notifications.SKIPPED]
    assert len(RecordingBackend.sent) == 1
    recipient, text = RecordingBackend.sent[0]
    assert recipient == "+8613812345678"
    assert order_placed.number in text and order_placed.consent_code in text
    assert order_placed.pickup_code not in text
    notification.refresh_from_db()
    assert (notification.status, notification.attempts, notification.last_error) == (N.SENT, 1, "")
    assert notification.sent_at is not None


def test_a_failed_or_missing_message_is_skipped(order_placed, settings):
    settings.SMS_BACKEND = backend("RecordingBackend")
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(status=N.FAILED, attempts=notifications.MAX_ATTEMPTS)

    assert notifications.send(notification.pk) == notifications.SKIPPED
    assert notifications.send(notification.pk + 1000) == notifications.SKIPPED
    assert RecordingBackend.sent == []


def test_a_gateway_error_keeps_the_message_pending_until_the_last_attempt(order_placed, settings, claim):
    settings.SMS_BACKEND = backend("DownBackend")
    notification = Notification.objects.get()

    outcomes = [notifications.send(notification.pk) for _ in range(notifications.MAX_ATTEMPTS + 1)]

    assert outcomes == [notifications.RETRY] * (notifications.MAX_ATTEMPTS - 1) + [
        notifications.FAILED,
        notifications.SKIPPED,
    ]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (N.FAILED, notifications.MAX_ATTEMPTS)
    assert notification.last_error == "gateway unreachable: connection refused"
    assert notification.sent_at is None
    assert DownBackend.calls == notifications.MAX_ATTEMPTS


def test_sending_a_message_is_two_statements_and_no_transaction(order_placed, settings, django_assert_num_queries):
    settings.SMS_BACKEND = backend("RecordingBackend")
    notification = Notification.objects.get()

    # the UPDATE ... RETURNING that claims the message (committed before the gateway call), then the
    # UPDATE that records it sent: no BEGIN/COMMIT (or savepoint) around the call
    with django_assert_num_queries(2):
        assert notifications.send(notification.pk) == notifications.SENT

    # a message no longer pending costs the claim only
    with django_assert_num_queries(1):
        assert notifications.send(notification.pk) == notifications.SKIPPED


class HeldBackend:
    """A gateway that holds the first message until the test lets it go."""

    entered = threading.Event()
    release = threading.Event()
    sent: list[str] = []

    def send(self, *, recipient: str, text: str) -> None:
        type(self).entered.set()
        assert type(self).release.wait(timeout=20)
        type(self).sent.append(recipient)


@requires_postgres
def test_a_duplicate_delivery_during_the_send_skips_at_once(transactional_db, settings):
    # given a message being sent by one worker, its gateway call still running
    settings.SMS_BACKEND = backend("HeldBackend")
    HeldBackend.entered.clear(), HeldBackend.release.clear()
    HeldBackend.sent = []
    notification = Notification.objects.create(
        recipient="+8613812345678", template="order_placed", payload={"order": "A1", "pickup_code": "1", "station": "S"}
    )
    outcomes = {}

    def deliver(name: str) -> None:
        try:
            outcomes[name] = notifications.send(notification.pk)
        finally:
            connection.close()  # each thread has its own connection

    first = threading.Thread(target=deliver, args=("first",))
    first.start()
    assert HeldBackend.entered.wait(timeout=10)

    # when the same task is delivered again (acks_late: the broker thought the first worker lost)
    second = threading.Thread(target=deliver, args=("second",))
    second.start()
    second.join(timeout=10)

    # then it finds the message claimed and skips it without waiting for the first (no row lock is held)
    assert outcomes == {"second": notifications.SKIPPED}
    assert not waiting_on_a_row_lock()
    HeldBackend.release.set()
    first.join(timeout=20)
    assert outcomes == {"first": notifications.SENT, "second": notifications.SKIPPED}
    assert HeldBackend.sent == ["+8613812345678"]
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (N.SENT, 1)


def waiting_on_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_reuses_its_database_connection_between_tasks():
    # Celery's Django fixup closes the connection around every task unless told to reuse it:
    # a new PostgreSQL connection per SMS halved the outbox throughput (bench/sms.py).
    from celery.fixups.django import DjangoWorkerFixup

    assert DjangoWorkerFixup(app).db_reuse_max == 1000


def test_resending_a_failed_message_gives_it_a_new_round(order_placed, settings, django_capture_on_commit_callbacks):
    notification = Notification.objects.get()
    Notification.objects.filter(pk=notification.pk).update(status=N.FAILED, attempts=notifications.MAX_ATTEMPTS)

    with django_capture_on_commit_callbacks() as callbacks:  # not run: no message on the broker
        notifications.resend(notification)

    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == (N.PENDING, 0)
    assert len(callbacks) == 1


# --- sending on a real worker ------------------------------------------------------------------


@pytest.fixture
def celery_worker(transactional_db, monkeypatch):
    """A Celery worker thread on the configured broker; the test's rows must be committed for it to see them."""
    # Retry at once instead of after 30 s, 1 min, 2 min...
    monkeypatch.setattr(outbox, "backoff", lambda attempts: 0)
    if not django_settings.REDIS_URL:
        # The file-system broker polls its folder once a second; a retry waits for the next poll.
        options = {**app.conf.broker_transport_options, "polling_interval": 0.05}
        monkeypatch.setitem(app.conf, "broker_transport_options", options)

    with worker_thread() as worker:
        yield worker


def wait_for(notification_pk: int, status: str, timeout: float = 20) -> Notification:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        notification = Notification.objects.get(pk=notification_pk)
        if notification.status == status:
            return notification
        time.sleep(0.05)
    pytest.fail(f"notification still {notification.status} after {notification.attempts} attempts ({timeout} s)")


def test_a_worker_sends_the_sms_and_logs_only_the_masked_number(celery_worker, caplog, place_at_a, fertilizer_stock):
    caplog.set_level(logging.INFO, logger="ruralshop.sms")

    # when an order is placed (committed: transactional_db)
    order = place_at_a((fertilizer_stock.product, 2)).order

    # then the worker sends its SMS once
    notification = wait_for(Notification.objects.get(reference=order.number).pk, N.SENT)
    assert (notification.attempts, notification.last_error) == (1, "")
    assert notification.sent_at is not None
    # ... through the console backend, which never writes a whole phone number to the log
    sms_log = "\n".join(r.getMessage() for r in caplog.records if r.name == "ruralshop.sms")
    assert "138****5678" in sms_log and order.consent_code in sms_log
    assert "13812345678" not in caplog.text


def test_a_flaky_gateway_is_retried_until_it_accepts(celery_worker, settings, place_at_a, fertilizer_stock):
    settings.SMS_BACKEND = backend("FlakyBackend")

    order = place_at_a((fertilizer_stock.product, 2)).order

    notification = wait_for(Notification.objects.get(reference=order.number).pk, N.SENT)
    assert (notification.attempts, notification.last_error) == (3, "")
    assert FlakyBackend.calls == 3


def test_a_dead_gateway_fails_the_message_after_the_last_attempt_and_keeps_it(
    celery_worker, settings, place_at_a, fertilizer_stock
):
    settings.SMS_BACKEND = backend("DownBackend")

    order = place_at_a((fertilizer_stock.product, 2)).order

    notification = wait_for(Notification.objects.get(reference=order.number).pk, N.FAILED)
    assert notification.attempts == notifications.MAX_ATTEMPTS
    assert notification.last_error == "gateway unreachable: connection refused"
    assert notification.sent_at is None
    assert DownBackend.calls == notifications.MAX_ATTEMPTS
    # ... and it stays in the outbox, tied to its order, for a resend from the admin
    assert Notification.objects.filter(reference=order.number, status=N.FAILED).count() == 1
