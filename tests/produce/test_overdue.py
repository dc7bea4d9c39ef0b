"""Overdue lots flagged once by the daily task: accepted, not received within the kind's keeping days from ready_on;
the station's partner is texted, and the county's page shows them."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client

from notifications.models import Notification
from produce import services
from produce.models import ProduceLot


@pytest.fixture
def phoned(station_a):
    station_a.phone = "+8613800000001"
    station_a.save()
    return station_a


def test_it_flags_an_overdue_lot_once_and_not_before_its_day(phoned, accepted):
    last_day = accepted.ready_on + timedelta(days=7)  # eggs keep 7 days

    assert services.flag_overdue(today=last_day) == 0  # not before its day
    assert ProduceLot.objects.get(pk=accepted.pk).flagged_overdue_at is None

    assert services.flag_overdue(today=last_day + timedelta(days=1)) == 1
    flagged_at = ProduceLot.objects.get(pk=accepted.pk).flagged_overdue_at
    assert flagged_at is not None

    assert services.flag_overdue(today=last_day + timedelta(days=2)) == 0  # once
    assert ProduceLot.objects.get(pk=accepted.pk).flagged_overdue_at == flagged_at
    sms = Notification.objects.get(template="produce_overdue_station")
    assert sms.recipient == "+8613800000001" and accepted.number in sms.payload["lots"]
    assert sms.payload["count"] == 1


def test_a_lot_received_listed_or_of_a_longer_keeping_kind_is_not_flagged(phoned, received, list_eggs, eggs):
    listed = list_eggs()
    far = received.ready_on + timedelta(days=365)
    assert services.flag_overdue(today=far) == 0
    assert not ProduceLot.objects.filter(flagged_overdue_at__isnull=False).exists()
    assert listed.flagged_overdue_at is None


def test_the_task_flags_and_the_county_page_shows_it(phoned, accepted, county_manager, time_machine):
    from produce.tasks import flag_overdue_lots

    time_machine.move_to(accepted.ready_on + timedelta(days=9))
    assert flag_overdue_lots() == 1
    client = Client()
    client.force_login(county_manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get("/county/produce/").content.decode()
    assert "1 lot overdue" in page and "the station was told" in page and accepted.number in page


def test_the_task_is_on_the_beat_schedule_every_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["flag-overdue-produce"]
    assert entry["task"] == "produce.tasks.flag_overdue_lots"
    assert entry["schedule"].hour == {6}
