"""The consent record: every answer a villager gives to SMS is a row, newest first, never changed."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications import services as notifications
from notifications.models import Consent
from partners import services as partners
from ruralshop.ledgers import LedgerIsAppendOnly
from tests.factories import VillagerFactory


def test_registering_a_villager_with_a_phone_records_their_answer(station_a, staff_a):
    # when the partner registers two neighbours: one agrees to SMS, one does not
    yes = partners.register_villager(
        station=station_a, created_by=staff_a, name="王芳", phone="+8613900000001", sms_consent=True
    )
    no = partners.register_villager(station=station_a, created_by=staff_a, name="李强", phone="+8613900000002")

    # then each answer is a row: who, how, by whom
    rows = {c.villager_id: c for c in Consent.objects.all()}
    assert (rows[yes.pk].granted, rows[no.pk].granted) == (True, False)
    assert {c.method for c in rows.values()} == {Consent.Method.COUNTER}
    assert {c.recorded_by for c in rows.values()} == {staff_a}


def test_a_villager_without_a_phone_has_nothing_to_answer(station_a, staff_a):
    partners.register_villager(station=station_a, created_by=staff_a, name="张伯", phone="", sms_consent=True)

    assert not Consent.objects.exists()


def test_a_change_of_mind_is_a_new_row_and_the_record_says_what_held_on_each_day(villager_a, staff_a):
    # given a villager who agreed when registered
    start = timezone.now()
    assert notifications.consent_on(villager_a)

    # when, a week later, they say no at the counter, and nothing else changes the next day
    with time_machine.travel(start + timedelta(days=7)):
        partners.update_villager(villager=villager_a, name=villager_a.name, phone=villager_a.phone, actor=staff_a)
    with time_machine.travel(start + timedelta(days=8)):
        partners.update_villager(villager=villager_a, name="王建国", phone=villager_a.phone, actor=staff_a)

    # then two rows (the unchanged answer wrote none), and on each day the answer that held then
    assert list(Consent.objects.filter(villager=villager_a).values_list("granted", flat=True)) == [False, True]
    assert notifications.consent_on(villager_a, at=start + timedelta(days=1))
    assert not notifications.consent_on(villager_a, at=start + timedelta(days=7, minutes=1))
    assert not notifications.consent_on(villager_a, at=start + timedelta(days=9))


def test_the_partners_page_records_who_changed_the_answer(client, staff_a, villager_a):
    client.force_login(staff_a)

    response = client.post(
        reverse("villager-edit", args=[villager_a.pk]), {"name": villager_a.name, "phone": str(villager_a.phone)}
    )

    assert response.status_code == 302
    latest = Consent.objects.filter(villager=villager_a).first()
    assert (latest.granted, latest.recorded_by) == (False, staff_a)


def test_the_record_is_never_changed(db):
    row = Consent.objects.get(villager=VillagerFactory())

    with pytest.raises(LedgerIsAppendOnly):
        row.save()
    with pytest.raises(LedgerIsAppendOnly):
        Consent.objects.filter(pk=row.pk).update(granted=False)
    with pytest.raises(LedgerIsAppendOnly):
        Consent.objects.all().delete()


def test_no_sms_is_queued_for_a_villager_who_said_no(villager_a):
    partners.update_villager(villager=villager_a, name=villager_a.name, phone=villager_a.phone)

    assert notifications.to_villager(villager_a, template="order_placed", payload={}) is None
