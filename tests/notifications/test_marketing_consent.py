"""Promotional SMS has a consent of its own (PIPL): asked apart from SMS about orders, off by default, and
withdrawn at once by a reply of 退订 or TD to ``/sms/inbound/``."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications import services as notifications
from notifications.inbound import signature
from notifications.models import Consent, InboundSms
from notifications.optout import is_stop
from partners import services as partners
from partners.forms import VillagerForm
from tests.factories import VillagerFactory

MARKETING = Consent.Purpose.MARKETING


@pytest.fixture(autouse=True)
def inbound_secret(settings):
    settings.SMS_INBOUND_SECRET = "test-secret"


def post_inbound(client, payload: dict):
    body = json.dumps(payload).encode()
    return client.post("/sms/inbound/", data=body, content_type="application/json", HTTP_X_SIGNATURE=signature(body))


def test_it_leaves_the_promotional_checkbox_off_on_a_new_villagers_form():
    form = VillagerForm()

    assert "marketing_consent" in form.fields
    assert not form["marketing_consent"].value()


def test_it_records_marketing_consent_apart_from_sms_about_orders(station_a, staff_a):
    # when the partner registers a neighbour who agrees to order SMS but not to promotions, and one who agrees to both
    orders_only = partners.register_villager(
        station=station_a, created_by=staff_a, name="王芳", phone="+8613900000001", sms_consent=True
    )
    both = partners.register_villager(
        station=station_a,
        created_by=staff_a,
        name="李强",
        phone="+8613900000002",
        sms_consent=True,
        marketing_consent=True,
    )

    # then each purpose has its own current answer and its own row in the record
    assert (orders_only.sms_consent, orders_only.marketing_consent) == (True, False)
    assert (both.sms_consent, both.marketing_consent) == (True, True)
    assert notifications.consent_on(orders_only) and not notifications.consent_on(orders_only, purpose=MARKETING)
    assert notifications.consent_on(both, purpose=MARKETING)
    row = Consent.objects.get(villager=both, purpose=MARKETING)
    assert (row.granted, row.method, row.recorded_by) == (True, Consent.Method.COUNTER, staff_a)


def test_it_needs_a_phone_for_promotional_sms(station_a, staff_a):
    form = VillagerForm({"name": "张伯", "phone": "", "marketing_consent": "on"})

    assert not form.is_valid()
    assert "marketing_consent" in form.errors
    villager = partners.register_villager(station=station_a, created_by=staff_a, name="张伯", marketing_consent=True)
    assert not villager.marketing_consent


def test_it_records_a_change_of_the_promotional_answer_on_the_partners_page(client, staff_a, villager_a):
    client.force_login(staff_a)
    data = {"name": villager_a.name, "phone": str(villager_a.phone), "sms_consent": "on"}

    client.post(reverse("villager-edit", args=[villager_a.pk]), {**data, "marketing_consent": "on"})
    villager_a.refresh_from_db()
    assert villager_a.marketing_consent and villager_a.sms_consent

    # unticking the promotional box leaves the answer to order SMS alone
    client.post(reverse("villager-edit", args=[villager_a.pk]), data)
    villager_a.refresh_from_db()
    assert villager_a.sms_consent and not villager_a.marketing_consent
    assert list(Consent.objects.filter(villager=villager_a, purpose=MARKETING).values_list("granted", flat=True)) == [
        False,
        True,
    ]
    assert Consent.objects.filter(villager=villager_a, purpose=Consent.Purpose.SMS).count() == 1


@pytest.mark.parametrize("text", ["退订", "TD", "td", "退订 ", " Td", "ＴＤ"])
def test_it_knows_a_stop_word(text):
    assert is_stop(text)


@pytest.mark.parametrize("text", ["1234", "退", "TD1234", "好的", ""])
def test_it_does_not_take_other_replies_for_a_stop(text):
    assert not is_stop(text)


def test_a_reply_of_td_opts_out_every_villager_with_that_phone_at_once(client, station_a, station_b, staff_a):
    # given one phone on a villager of station A, on one of station B, and as the family phone of a third
    phone = "+8613800001111"
    a = VillagerFactory(service_center=station_a, phone=phone, marketing_consent=True)
    b = VillagerFactory(service_center=station_b, phone=phone, marketing_consent=True)
    family = VillagerFactory(service_center=station_a, phone="", code_phone=phone, marketing_consent=True)
    other = VillagerFactory(service_center=station_a, marketing_consent=True)
    now = timezone.now()

    with time_machine.travel(now, tick=False):
        # when the gateway delivers their reply, with spaces, from the national number
        response = post_inbound(client, {"id": "gw-td-1", "from": "13800001111", "text": " 退订 "})

        # then, in the same minute, none of them may get a promotional SMS, and the record says how
        assert response.json()["outcome"] == InboundSms.Outcome.OPTED_OUT
        for villager in (a, b, family):
            villager.refresh_from_db()
            assert not villager.marketing_consent and not villager.gets_marketing
            assert not notifications.consent_on(villager, purpose=MARKETING, at=now + timedelta(seconds=59))
            row = Consent.objects.filter(villager=villager, purpose=MARKETING).first()
            assert (row.granted, row.method) == (False, Consent.Method.SMS_REPLY)
        # their SMS about orders is another purpose: untouched
        a.refresh_from_db()
        assert a.sms_consent and a.gets_sms
        other.refresh_from_db()
        assert other.marketing_consent


def test_a_redelivered_opt_out_writes_no_second_row(client, villager_a):
    partners.update_villager(
        villager=villager_a, name=villager_a.name, phone=villager_a.phone, sms_consent=True, marketing_consent=True
    )
    payload = {"id": "gw-td-2", "from": "+8613812345678", "text": "TD"}

    post_inbound(client, payload)
    post_inbound(client, payload)

    assert Consent.objects.filter(villager=villager_a, purpose=MARKETING, granted=False).count() == 1


def test_a_code_reply_is_not_an_opt_out(client, villager_a):
    villager_a.marketing_consent = True
    villager_a.save(update_fields=["marketing_consent"])

    response = post_inbound(client, {"id": "gw-code", "from": "+8613812345678", "text": "1234"})

    assert response.json()["outcome"] != InboundSms.Outcome.OPTED_OUT
    villager_a.refresh_from_db()
    assert villager_a.marketing_consent


def test_anonymising_erases_the_promotional_answer_too(villager_a):
    villager_a.marketing_consent = True
    villager_a.save(update_fields=["marketing_consent"])

    partners.anonymise_villager(villager=villager_a)

    villager_a.refresh_from_db()
    assert not villager_a.marketing_consent
