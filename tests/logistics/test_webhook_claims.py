"""Webhook deliveries are claimed for the POST: a lost retry is queued again once, and no delivery is POSTed twice."""

import io
import json
import urllib.request
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from logistics import tasks, webhooks
from logistics.clients import create_client
from logistics.models import WebhookDelivery, WebhookEndpoint

D = WebhookDelivery.Status


class Answer(io.BytesIO):
    def __init__(self, status: int):
        super().__init__(b"")
        self.status = status


@pytest.fixture
def receiver(monkeypatch):
    """The logistics company's endpoint: what it received, what it answers; ``during`` runs inside the POST."""

    class Receiver:
        bodies: list[dict] = []
        answers: list[int] = []
        during = None

    def urlopen(request: urllib.request.Request, timeout: float):
        Receiver.bodies.append(json.loads(request.data))
        if Receiver.during is not None:
            Receiver.during()
        status = Receiver.answers.pop(0) if Receiver.answers else 200
        if status >= 300:
            raise urllib.error.HTTPError(request.full_url, status, "refused", {}, None)
        return Answer(status)

    monkeypatch.setattr(webhooks.urllib.request, "urlopen", urlopen)
    return Receiver


@pytest.fixture
def queued(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(tasks.deliver_webhook, "delay", lambda pk: ids.append(pk))
    return ids


@pytest.fixture
def delivery(warehouse_a):
    client, _key = create_client(name="顺丰县域", warehouse_codes=[warehouse_a.code])
    endpoint = WebhookEndpoint.objects.create(client=client, url="https://hooks.example/rs", secret="s3cret")
    return lambda: WebhookDelivery.objects.create(endpoint=endpoint, event="batch.planned", payload={"n": 1})


def resend() -> int:
    return tasks.resend_stuck_webhooks.apply().get()


def test_a_delivery_whose_retry_was_lost_is_queued_again_once_its_backoff_has_passed(delivery, receiver, queued):
    # given a delivery the receiver refused once: its retry is due in 30 s
    receiver.answers = [503]
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        lost = delivery()
        assert webhooks.deliver(lost.pk) == webhooks.RETRY

    # when beat's re-queue runs while the retry may still come, then long after, twice
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        early = resend()
    with time_machine.travel(start + timedelta(minutes=11), tick=False):
        runs = [resend(), resend()]

    # then it is queued once, and delivered by that task
    assert (early, runs, queued) == (0, [1, 0], [lost.pk])
    assert webhooks.deliver(lost.pk) == webhooks.DELIVERED
    lost.refresh_from_db()
    assert (lost.status, lost.attempts, len(receiver.bodies)) == (D.DELIVERED, 2, 2)


def test_two_resend_runs_at_once_queue_a_lost_retry_once(delivery, queued):
    lost = delivery()
    WebhookDelivery.objects.filter(pk=lost.pk).update(attempts=2, next_attempt_at=timezone.now() - timedelta(hours=1))

    seen_by_second = webhooks.stuck_ids()
    first = webhooks.requeue(webhooks.stuck_ids())
    second = webhooks.requeue(seen_by_second)

    assert (seen_by_second, first, second) == ([lost.pk], [lost.pk], [])


def test_a_duplicate_delivery_or_a_resend_during_the_post_leaves_it_alone(delivery, receiver, queued):
    # given a lost retry being POSTed at last
    lost = delivery()
    WebhookDelivery.objects.filter(pk=lost.pk).update(attempts=1, next_attempt_at=timezone.now() - timedelta(hours=1))
    meanwhile = []
    receiver.during = lambda: meanwhile.append((webhooks.deliver(lost.pk), resend()))

    # when the same task is delivered again, and the re-queue runs, while the POST is in progress
    outcome = webhooks.deliver(lost.pk)

    # then both find it claimed: one POST
    assert outcome == webhooks.DELIVERED
    assert meanwhile == [(webhooks.SKIPPED, 0)]
    assert (len(receiver.bodies), queued) == (1, [])


def test_a_retry_arriving_after_the_resend_posts_once(delivery, receiver, queued):
    lost = delivery()
    WebhookDelivery.objects.filter(pk=lost.pk).update(attempts=1, next_attempt_at=timezone.now() - timedelta(hours=1))
    assert resend() == 1

    outcomes = [webhooks.deliver(lost.pk), webhooks.deliver(queued[0])]

    assert outcomes == [webhooks.DELIVERED, webhooks.SKIPPED]
    assert len(receiver.bodies) == 1
