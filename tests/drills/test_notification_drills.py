"""Fault drill of the SMS outbox: a Celery worker SIGKILLed in the middle of a batch of sends.

A real ``celery worker`` process on a private redis-server and the test
database, sending through a slow gateway stub (tests/drills/sms_stub.py) that
writes each accepted SMS to a file: the file is what villagers' phones would
have received.  On PostgreSQL only (the worker must see committed rows).
"""

import os
import signal
from collections import Counter
from datetime import timedelta

import pytest
from django.db.models import F

from notifications.models import Notification
from tests.conftest import requires_postgres

from . import sms_stub
from .conftest import child_env, wait_until

pytestmark = [requires_postgres, pytest.mark.postgres]

N = Notification.Status
MESSAGES = 10

QUEUE = """
from notifications.tasks import send_notification
for pk in sys.argv[1:]:
    send_notification.delay(int(pk))
"""
REQUEUE = """
from notifications.tasks import resend_stuck_notifications
print(resend_stuck_notifications.apply().get())
"""
# What the broker does once the visibility timeout (an hour) has passed: hand unacknowledged
# messages out again.  acks_late keeps a killed worker's message there.
REDELIVER = """
from ruralshop.celery import app
app.conf.broker_transport_options = {**app.conf.broker_transport_options, "visibility_timeout": 0}
with app.connection_for_write() as conn:
    conn.default_channel.qos.restore_visible(num=100)
"""


def test_a_worker_killed_mid_batch_loses_no_sms_and_sends_none_twice(children, tmp_path):
    # given ten SMS in the outbox, queued on a private Redis, and a gateway that takes 0.3 s per message
    rows = Notification.objects.bulk_create(
        Notification(
            recipient=f"+86138000000{i:02d}",
            template="order_placed",
            payload={"order": f"DRILL{i:02d}", "pickup_code": "123456", "station": "里叶村服务站"},
        )
        for i in range(MESSAGES)
    )
    redis = children.private_redis(6392)
    sms_log = tmp_path / "sms.log"
    env = child_env(
        REDIS_URL=redis.url,
        SMS_BACKEND="tests.drills.sms_stub.FileGatewayBackend",
        DRILL_SMS_LOG=str(sms_log),
        DRILL_SMS_DELAY="0.3",
    )
    children.python(QUEUE, *(row.pk for row in rows), env=env)
    assert redis.queued() == MESSAGES

    # when a worker is SIGKILLed while the gateway is taking its fourth message
    worker = children.celery_worker(env=env, log=tmp_path / "worker-1.log")
    wait_until(lambda: sms_stub.starts(sms_log) >= 4, timeout=30, what="the fourth send to begin")
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)

    # then three were sent and recorded; the fourth is still pending, claimed by the dead worker until its
    # claim lapses (no transaction was open to roll back: the claim was committed before the gateway call)
    assert len(sms_stub.sends(sms_log)) == 3
    assert Notification.objects.filter(status=N.SENT).count() == 3
    assert Notification.objects.filter(status=N.PENDING, attempts=0).count() == MESSAGES - 4
    killed = Notification.objects.get(status=N.PENDING, attempts=1)
    assert killed.claimed_until is not None

    # when the worker is restarted
    children.celery_worker(env=env, log=tmp_path / "worker-2.log")

    # then it sends the six still queued; the killed one's message waits, unacknowledged, on the broker
    wait_until(lambda: len(sms_stub.sends(sms_log)) >= MESSAGES - 1, timeout=30, what="the queue to drain")
    stuck = Notification.objects.filter(status=N.PENDING)
    wait_until(lambda: stuck.count() == 1, timeout=10, what="the outbox to show one pending")

    # when beat's re-queue task runs once the dead worker's claim has lapsed and ten minutes more have passed
    # (the times moved back), and later the broker hands the killed worker's unacknowledged message out again
    # (visibility timeout)
    earlier = timedelta(minutes=13)
    Notification.objects.update(
        created_at=F("created_at") - earlier,
        claimed_until=F("claimed_until") - earlier,
        next_attempt_at=F("next_attempt_at") - earlier,
    )
    assert children.python(REQUEUE, env=env).stdout.strip() == "1"
    wait_until(lambda: not stuck.exists(), timeout=20, what="the stuck SMS to be sent")
    children.python(REDELIVER, env=env)
    wait_until(lambda: redis.queued() == 0, timeout=20, what="the redelivered message to be consumed")

    # then every SMS was sent exactly once: the redelivery found it sent and skipped it
    wait_until(lambda: "skipped" in (tmp_path / "worker-2.log").read_text(), timeout=10, what="a skipped task")
    assert Counter(sms_stub.sends(sms_log)) == {f"DRILL{i:02d}": 1 for i in range(MESSAGES)}
    assert Notification.objects.filter(status=N.SENT).count() == MESSAGES
    assert Notification.objects.filter(status=N.SENT, attempts=1).count() == MESSAGES - 1
    assert Notification.objects.get(pk=killed.pk).attempts == 2  # the killed attempt, then the one that sent it
