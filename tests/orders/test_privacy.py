"""Personal data on request and by age: a villager anonymised (station and admin), old SMS scrubbed."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from notifications import services as privacy
from notifications.models import Notification
from notifications.tasks import purge_old_notification_payloads
from orders import services
from orders.models import Order
from partners.models import StationStaff
from partners.services import anonymise_villager
from tests.factories import StationStaffFactory, UserFactory


@pytest.fixture
def texted_order(villager_a, station_a, staff_a, fertilizer_stock) -> Order:
    """An order of villager A, whose placement queued an SMS to their phone (sent later by a worker)."""
    order = services.place_order(
        station=station_a,
        villager=villager_a,
        placed_by=staff_a,
        lines=[services.LineRequest(fertilizer_stock.product.sku, 1)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key="privacy-1",
    ).order
    assert Notification.objects.get(reference=order.number).recipient == "+8613812345678"
    return order


def detail_text(client, villager) -> str:
    return client.get(reverse("villager-detail", args=[villager.pk])).content.decode()


# --- anonymising a villager ----------------------------------------------------------


def test_it_erases_name_phone_and_notes_and_keeps_the_orders(villager_a, texted_order):
    # given a villager with notes and a message still waiting to be sent
    villager_a.notes = "住在村口第二家"
    villager_a.save()

    # when they ask to be forgotten
    anonymise_villager(villager=villager_a)

    # then nothing of the person is left, and the order is still theirs
    villager_a.refresh_from_db()
    assert (villager_a.phone, villager_a.sms_consent, villager_a.notes) == ("", False, "")
    assert "王建国" not in villager_a.name and str(villager_a.pk) in villager_a.name
    assert villager_a.anonymised_at is not None
    texted_order.refresh_from_db()
    assert texted_order.villager_id == villager_a.pk and texted_order.total > 0
    message = Notification.objects.get(reference=texted_order.number)
    assert (message.recipient, message.payload) == ("", {})
    assert message.status == Notification.Status.FAILED  # the pending SMS is never sent now


def test_anonymising_twice_changes_nothing(villager_a):
    first = anonymise_villager(villager=villager_a).anonymised_at

    again = anonymise_villager(villager=villager_a)

    assert again.anonymised_at == first


def test_the_partner_anonymises_from_the_villager_page(client_a, villager_a, texted_order):
    # given the page offers it
    assert reverse("villager-anonymise", args=[villager_a.pk]) in detail_text(client_a, villager_a)

    # when the partner confirms
    response = client_a.post(reverse("villager-anonymise", args=[villager_a.pk]))

    # then the villager is anonymised, the page says so, and the old name finds nobody
    assert response.status_code == 302
    villager_a.refresh_from_db()
    assert villager_a.anonymised_at is not None
    assert "王建国" not in detail_text(client_a, villager_a)
    found = client_a.get(reverse("villager-list"), {"q": "王建国"}).content.decode()
    assert reverse("villager-detail", args=[villager_a.pk]) not in found
    assert "王建国" not in client_a.get(reverse("order-receipt", args=[texted_order.number])).content.decode()


def test_an_assistant_may_not_anonymise(client, station_a, villager_a):
    assistant = StationStaffFactory(
        user=UserFactory(username="amy"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    client.force_login(assistant)
    assert reverse("villager-anonymise", args=[villager_a.pk]) not in detail_text(client, villager_a)

    response = client.post(reverse("villager-anonymise", args=[villager_a.pk]))

    assert response.status_code == 403
    villager_a.refresh_from_db()
    assert villager_a.anonymised_at is None and villager_a.name == "王建国"


def test_another_stations_villager_is_a_404_and_unchanged(client_a, villager_b):
    response = client_a.post(reverse("villager-anonymise", args=[villager_b.pk]))

    assert response.status_code == 404
    villager_b.refresh_from_db()
    assert villager_b.anonymised_at is None


def test_a_get_changes_nothing(client_a, villager_a):
    assert client_a.get(reverse("villager-anonymise", args=[villager_a.pk])).status_code == 405
    villager_a.refresh_from_db()
    assert villager_a.anonymised_at is None


def test_the_admin_anonymises_the_selected_villagers(client, admin_user, villager_a, villager_b):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:partners_villager_changelist"),
        {"action": "anonymise", "_selected_action": [villager_a.pk]},
    )

    assert response.status_code == 302
    villager_a.refresh_from_db()
    villager_b.refresh_from_db()
    assert villager_a.anonymised_at is not None and villager_a.phone == ""
    assert villager_b.anonymised_at is None and villager_b.name == "李秀英"


# --- retention of the SMS outbox -----------------------------------------------------


def _age(message: Notification, days: int, status=Notification.Status.SENT) -> None:
    Notification.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(days=days), status=status)


def test_messages_older_than_the_retention_period_lose_phone_and_text(texted_order, villager_a, staff_a):
    # given three messages: one sent long ago, one sent recently, one old but still pending
    old = Notification.objects.get(reference=texted_order.number)
    _age(old, settings.NOTIFICATION_RETENTION_DAYS + 1)
    recent = Notification.objects.create(recipient="+8613812345678", template="order_arrived", payload={"x": 1})
    _age(recent, settings.NOTIFICATION_RETENTION_DAYS - 1)
    waiting = Notification.objects.create(recipient="+8613812345678", template="order_arrived", payload={"x": 2})
    _age(waiting, settings.NOTIFICATION_RETENTION_DAYS + 5, status=Notification.Status.PENDING)

    # when the daily task runs (twice: the second finds nothing left to do)
    purged = purge_old_notification_payloads.apply().get()
    again = privacy.purge_old_payloads()

    # then only the old sent one is scrubbed, and its record stays
    assert (purged, again) == (1, 0)
    old.refresh_from_db()
    recent.refresh_from_db()
    waiting.refresh_from_db()
    assert (old.recipient, old.payload, old.status) == ("", {}, Notification.Status.SENT)
    assert recent.recipient == "+8613812345678" and recent.payload == {"x": 1}
    assert waiting.recipient == "+8613812345678" and waiting.payload == {"x": 2}


def test_a_backlog_is_purged_in_batches(db, monkeypatch):
    monkeypatch.setattr(privacy, "PURGE_BATCH", 2)
    messages = Notification.objects.bulk_create(
        Notification(recipient=f"+861381234567{n}", template="order_placed", payload={"n": n}) for n in range(5)
    )
    for message in messages:
        _age(message, 400)

    assert privacy.purge_old_payloads() == 5
    assert not Notification.objects.exclude(recipient="").exists()


def test_the_purge_is_on_the_beat_schedule():
    entry = settings.CELERY_BEAT_SCHEDULE["purge-old-notification-payloads"]
    assert entry["task"] == "notifications.tasks.purge_old_notification_payloads"
