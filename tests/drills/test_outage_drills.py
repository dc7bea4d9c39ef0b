"""Fault drills of placement against real processes: Redis dies, the database connection dies.

Both drive gunicorn over real HTTP, started with the settings production
uses (``DATABASE_URL`` on the test database, ``REDIS_URL`` on a private
redis-server): an in-process client would share the test's connection and
its Celery app, and could neither lose Redis for real nor have its database
backend killed without killing the test's own.  On PostgreSQL only
(``pg_terminate_backend``, and committed rows the server can see).
"""

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from django.db import connection
from django.db.models import F
from rest_framework.authtoken.models import Token

from catalog.models import Stock
from notifications.models import Notification
from orders.models import Order, OrderEvent, OrderLine
from tests.conftest import requires_postgres

from . import sms_stub
from .conftest import child_env, wait_until

pytestmark = [requires_postgres, pytest.mark.postgres]

N = Notification.Status
STUB = "tests.drills.sms_stub.FileGatewayBackend"


def post_order(base: str, token: str, *, key: str, villager_pk: int, quantity: int = 1) -> tuple[int, object]:
    """POST one order of FERT-50 to the station API: ``(status, JSON body or raw text)``."""
    body = {
        "villager": villager_pk,
        "lines": [{"sku": "FERT-50", "quantity": quantity}],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
    }
    request = urllib.request.Request(  # noqa: S310 - our own gunicorn
        f"{base}/api/v1/orders/",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Token {token}", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - as above
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        raw = error.read().decode(errors="replace")
        is_json = error.headers.get("Content-Type", "").startswith("application/json")
        return error.code, json.loads(raw) if is_json else raw


# --- drill 1: Redis stopped while orders are placed ------------------------------------------------------

REQUEUE = """
from notifications.tasks import resend_stuck_notifications
print(resend_stuck_notifications.apply().get())
"""


def test_orders_placed_while_redis_is_down_are_placed_and_their_sms_sent_once_it_is_back(
    children, tmp_path, staff_a, villager_a, fertilizer_stock
):
    # given gunicorn on a private Redis (broker and cache), a gateway stub that records every SMS
    token = Token.objects.create(user=staff_a).key
    redis = children.private_redis(6391)
    sms_log = tmp_path / "sms.log"
    env = child_env(REDIS_URL=redis.url, SMS_BACKEND=STUB, DRILL_SMS_LOG=str(sms_log))
    base = children.gunicorn(env=env, log=tmp_path / "gunicorn.log")
    status, first = post_order(base, token, key="before", villager_pk=villager_a.pk)
    assert status == 201, first
    assert redis.queued() == 1, "the first order's SMS should be waiting on the broker"

    # when Redis dies (taking that message with it: no persistence) and five more orders come in
    redis.stop()
    outcomes = [post_order(base, token, key=f"down-{i}", villager_pk=villager_a.pk) for i in range(5)]

    # then every one is placed, no 500: the SMS wait in the outbox in PostgreSQL
    assert [status for status, _ in outcomes] == [201] * 5, outcomes
    assert Order.objects.count() == 6
    assert Notification.objects.filter(status=N.PENDING).count() == 6
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 6

    # when Redis is back (empty), a worker runs, and beat's re-queue task finds the stuck messages
    redis.start()
    worker = children.celery_worker(env=env, log=tmp_path / "worker.log")
    Notification.objects.update(created_at=F("created_at") - timedelta(minutes=11))  # its 10 minutes have passed
    assert children.python(REQUEUE, env=env).stdout.strip() == "6"

    # then every SMS is sent, each exactly once
    wait_until(lambda: len(sms_stub.sends(sms_log)) >= 6, timeout=30, what="six SMS")
    assert worker.poll() is None
    wait_until(lambda: not Notification.objects.exclude(status=N.SENT).exists(), timeout=10, what="the outbox")
    # and a second run of the re-queue task has nothing left to do
    assert children.python(REQUEUE, env=env).stdout.strip() == "0"
    numbers = set(Order.objects.values_list("number", flat=True))
    assert Counter(sms_stub.sends(sms_log)) == dict.fromkeys(numbers, 1)
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


# --- drill 2: the database connection lost during a placement ---------------------------------------------


def placement_waiting_on_a_lock() -> int | None:
    """The pid of the PostgreSQL backend of gunicorn, blocked on the stock row the drill holds."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        rows = cursor.fetchall()
    return rows[0][0] if rows else None


def test_a_placement_whose_database_connection_dies_fails_cleanly_and_its_retry_places_it_once(
    children, tmp_path, staff_a, villager_a, fertilizer_stock
):
    # given gunicorn as in production, and the drill holding the stock row's lock from its own connection
    token = Token.objects.create(user=staff_a).key
    redis = children.private_redis(6391)
    env = child_env(REDIS_URL=redis.url, SMS_BACKEND=STUB, DRILL_SMS_LOG=str(tmp_path / "sms.log"))
    base = children.gunicorn(env=env, log=tmp_path / "gunicorn.log")
    db = connection.settings_dict
    holder = psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"] or None,
    )
    outcome: list = []
    try:
        lock = f"SELECT 1 FROM {Stock._meta.db_table} WHERE id = %s FOR UPDATE"  # noqa: S608 - a table name
        holder.execute(lock, [fertilizer_stock.pk])

        # when a placement has written its order, lines, event and SMS and waits to reserve the stock...
        client = threading.Thread(
            target=lambda: outcome.append(post_order(base, token, key="flaky", villager_pk=villager_a.pk, quantity=3))
        )
        client.start()
        wait_until(lambda: placement_waiting_on_a_lock() is not None, timeout=15, what="the placement to block")
        # ...its database connection is killed (a PostgreSQL restart, a failover, a dropped link)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [placement_waiting_on_a_lock()])
        client.join(timeout=30)
    finally:
        holder.rollback()
        holder.close()
    assert not client.is_alive(), "the request never answered"

    # then the client gets a proper error answer, not a dropped connection nor a hang
    [(status, body)] = outcome
    print(f"\n  placement with its connection killed: HTTP {status}: {str(body)[:200]!r}")
    assert status == 503 and "Idempotency-Key" in body["detail"], body
    # and nothing of it was written
    assert not Order.objects.exists()
    assert not (OrderLine.objects.exists() or OrderEvent.objects.exists() or Notification.objects.exists())
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 0

    # when the client retries with the same key (gunicorn's next request opens a new connection)
    retried = post_order(base, token, key="flaky", villager_pk=villager_a.pk, quantity=3)
    again = post_order(base, token, key="flaky", villager_pk=villager_a.pk, quantity=3)

    # then it is placed once, and a further retry returns the same order
    assert retried[0] == 201, retried
    assert again[0] == 200 and again[1]["number"] == retried[1]["number"]
    assert Order.objects.count() == 1
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 3
    assert Notification.objects.count() == 1
