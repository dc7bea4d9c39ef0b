"""The outbox's move out of orders (notifications 0001, orders 0009) keeps every message, and 0002 gives each
its villager and reference; every villager with a phone gets the consent row of the answer they had.

A database with the demo data and messages is taken back to the previous release (orders 0008, no
notifications app), written to there through the models as they were, and brought forward again.
"""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from county.management.commands import seed_demo
from notifications import services as notifications
from notifications.models import Consent, Notification
from orders.models import Order
from partners.models import Villager

PREVIOUS_RELEASE = [("orders", "0008_catalog_moved_out"), ("notifications", None)]


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


def _messages() -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT id, recipient, template, status, attempts FROM orders_notification ORDER BY id")
        return cursor.fetchall()


@pytest.mark.django_db(transaction=True)
def test_every_message_is_kept_and_knows_its_villager_and_order_after_the_move(monkeypatch):
    # given the demo data, and messages about three orders and a run, written as this release writes them; no
    # produce: its commission entries (a kind the previous release's ledger refuses) would stop the way back
    monkeypatch.setattr(seed_demo, "seed_produce", lambda: 0)
    call_command("seed_demo", "--password", "migration-test", stdout=io.StringIO())
    Notification.objects.all().delete()  # the demo's own texts (its orders waiting for consent): only ours here
    texted = list(Order.objects.filter(villager__sms_consent=True).exclude(villager__phone="").order_by("pk")[:3])
    assert len(texted) == 3
    notifications.queue_sms(
        notifications.to_villager(o.villager, template="order_placed", payload={}, reference=o.number) for o in texted
    )
    notifications.queue_sms([notifications.Sms("+8657100000000", "batch_planned", {"batch": "R1-20261201-1"})])
    before = _messages()
    with_phone = Villager.objects.exclude(phone="").count()
    assert len(before) == 4 and with_phone
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()

    try:
        # when the database goes back to the previous release, where the outbox was in orders
        executor = _migrate(PREVIOUS_RELEASE)
        old = executor.loader.project_state(PREVIOUS_RELEASE[:1]).apps
        OldNotification = old.get_model("orders", "Notification")
        assert _messages() == before
        # the messages about orders point at them again, as that release had it
        assert sorted(OldNotification.objects.exclude(order=None).values_list("order_id", flat=True)) == [
            o.pk for o in texted
        ]
        # ...is written to there (a message about a fourth order)...
        fourth = old.get_model("orders", "Order").objects.exclude(pk__in=[o.pk for o in texted]).order_by("pk").first()
        OldNotification.objects.create(recipient="+8613800000000", template="order_arrived", order_id=fourth.pk)
    finally:
        # ...and comes forward again
        ContentType.objects.clear_cache()
        _migrate(leaves)
        ContentType.objects.clear_cache()

    # then no message was lost, and each one about an order knows its villager and the order's number
    after = _messages()
    assert after[:4] == before and len(after) == 5
    about = dict(Notification.objects.values_list("pk", "reference"))
    villagers = dict(Notification.objects.values_list("pk", "villager_id"))
    for order in [*texted, fourth]:
        pk = next(pk for pk, ref in about.items() if ref == order.number)
        assert villagers[pk] == order.villager_id
    assert Notification.objects.get(template="batch_planned").reference == "R1-20261201-1"
    # the consent record starts with the answer every villager with a phone had (the demo's, then the migration's)
    assert Consent.objects.filter(method=Consent.Method.MIGRATED).count() == with_phone
    for villager in Villager.objects.exclude(phone="")[:20]:
        assert notifications.consent_on(villager) == villager.sms_consent
    # the admin log and permissions of the outbox follow it into notifications
    assert ContentType.objects.filter(app_label="notifications", model="notification").exists()
    assert not ContentType.objects.filter(app_label="orders", model="notification").exists()
