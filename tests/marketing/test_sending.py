"""Sending a campaign: through the outbox in batches of claimed recipients, each texted once; the weekly cap,
the quiet hours and an opt-out checked at send time; the county approves a campaign above the size."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from marketing import selectors, services
from marketing.models import Campaign, Recipient
from notifications import services as notifications
from notifications.inbound import receive, signature
from notifications.models import Notification
from tests.conftest import requires_postgres
from tests.factories import ProductFactory, VillagerFactory
from tests.orders.test_concurrency import at_once

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
S, R = Campaign.Status, Recipient.Status


@pytest.fixture
def agreed(station_a):
    return [VillagerFactory(service_center=station_a, marketing_consent=True) for _ in range(3)]


def campaign(station, user, *, at=MORNING, **kwargs) -> Campaign:
    with time_machine.travel(at, tick=False):
        return services.create_campaign(station=station, actor=user, body="复合肥特价", **kwargs)


def promotional(villager) -> list[Notification]:
    return list(Notification.objects.filter(villager=villager, template=services.TEMPLATE))


def send_due(at=MORNING, **kwargs) -> int:
    with time_machine.travel(at, tick=False):
        return services.send_due(**kwargs)


def test_it_texts_the_audience_through_the_outbox_with_the_station_and_the_way_to_stop(station_a, staff_a, agreed):
    order_sms_only = VillagerFactory(service_center=station_a, marketing_consent=False)
    c = campaign(station_a, staff_a)

    assert send_due() == 3

    for villager in agreed:
        (sms,) = promotional(villager)
        assert (
            sms.payload["text"] == c.text and station_a.name in c.text and c.text.endswith(services.texts.stop_line())
        )
    assert promotional(order_sms_only) == []  # consent to order SMS is no consent to promotions
    c.refresh_from_db()
    send_due()
    c.refresh_from_db()
    assert c.status == S.DONE


def test_running_the_send_twice_or_in_small_batches_texts_each_recipient_once(station_a, staff_a, agreed):
    campaign(station_a, staff_a)

    # when a first run handles one batch of two, and then the task runs twice more
    with time_machine.travel(MORNING, tick=False):
        c_id = services.due_campaign_ids()[0]
        assert services.send_batch(c_id, size=2) == 2
    send_due()
    send_due()

    # then everyone got exactly one text
    assert [len(promotional(v)) for v in agreed] == [1, 1, 1]
    assert Notification.objects.filter(template=services.TEMPLATE).count() == 3


def test_it_sends_at_most_the_weekly_cap_to_a_villager(station_a, staff_a, agreed, settings):
    settings.MARKETING_SMS_PER_WEEK = 2
    for day in range(2):
        campaign(station_a, staff_a, at=MORNING + timedelta(days=day))
        send_due(MORNING + timedelta(days=day))

    # the third campaign of the week skips them all; a week after the first, one may go again
    third = campaign(station_a, staff_a, at=MORNING + timedelta(days=3))
    send_due(MORNING + timedelta(days=3))
    assert set(third.recipients.values_list("status", flat=True)) == {R.CAPPED}
    later = campaign(station_a, staff_a, at=MORNING + timedelta(days=7, hours=1))
    send_due(MORNING + timedelta(days=7, hours=1))
    assert set(later.recipients.values_list("status", flat=True)) == {R.SENT}


def test_nothing_goes_out_in_the_quiet_hours_a_send_due_then_waits_until_eight(station_a, staff_a, agreed):
    evening = datetime(2026, 12, 3, 21, 30, tzinfo=SHANGHAI)
    c = campaign(station_a, staff_a, at=evening)

    assert c.send_at == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
    assert send_due(evening) == 0
    assert send_due(datetime(2026, 12, 4, 7, 59, tzinfo=SHANGHAI)) == 0
    assert Notification.objects.filter(template=services.TEMPLATE).count() == 0
    assert send_due(datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)) == 3


def test_a_campaign_scheduled_for_later_waits_for_its_time(station_a, staff_a, agreed):
    campaign(station_a, staff_a, send_at=MORNING + timedelta(hours=3))

    assert send_due(MORNING + timedelta(hours=2)) == 0
    assert send_due(MORNING + timedelta(hours=3)) == 3


def test_an_opt_out_by_reply_is_honoured_within_the_same_minute(client, station_a, staff_a, agreed, settings):
    # given a campaign chosen with everyone, and one of them replying TD a few seconds before it goes
    settings.SMS_INBOUND_SECRET = "test-secret"
    c = campaign(station_a, staff_a)
    leaver = agreed[0]
    body = json.dumps({"id": "gw-1", "from": str(leaver.phone), "text": "TD"}).encode()
    with time_machine.travel(MORNING + timedelta(seconds=10), tick=False):
        client.post("/sms/inbound/", data=body, content_type="application/json", HTTP_X_SIGNATURE=signature(body))

    # when the campaign is sent in that same minute
    send_due(MORNING + timedelta(seconds=30))

    # then the leaver is skipped, the others texted
    assert promotional(leaver) == []
    assert c.recipients.get(villager=leaver).status == R.OPTED_OUT
    assert all(len(promotional(v)) == 1 for v in agreed[1:])


# --- the outbox sends later than the batch wrote (found by tests/test_stateful.py) -----------------------
# A broker outage leaves the batch's SMS in the outbox for the re-queue task, a failing gateway for its retries:
# the villager's consent and the hour are asked again just before the gateway call.


def test_an_sms_left_in_the_outbox_is_not_sent_after_the_villager_replied_td(station_a, staff_a, agreed):
    # given a campaign whose SMS the outbox has not sent yet (the broker was down when the batch committed)
    c = campaign(station_a, staff_a)
    send_due()
    leaver = agreed[0]
    (sms,) = promotional(leaver)
    # when the villager replies TD, and the re-queue task sends the SMS an hour later
    with time_machine.travel(MORNING + timedelta(minutes=5), tick=False):
        receive(gateway_id="gw-1", sender=str(leaver.phone), text="TD")
    with time_machine.travel(MORNING + timedelta(hours=1), tick=False):
        outcome = notifications.send(sms.pk)
        notifications.send(promotional(agreed[1])[0].pk)

    # then theirs never leaves and they count as opted out; the others' go
    sms.refresh_from_db()
    assert (outcome, sms.status, sms.sent_at) == ("failed", Notification.Status.FAILED, None)
    assert c.recipients.get(villager=leaver).status == R.OPTED_OUT
    assert promotional(agreed[1])[0].status == Notification.Status.SENT
    assert selectors.recipient_counts(c)[R.OPTED_OUT] == 1


def test_an_sms_left_in_the_outbox_waits_out_the_quiet_hours(station_a, staff_a, agreed):
    # given a campaign written to the outbox at 20:50, whose SMS the re-queue task finds at 21:30
    evening = datetime(2026, 12, 3, 20, 50, tzinfo=SHANGHAI)
    campaign(station_a, staff_a, at=evening)
    send_due(evening)
    (sms,) = promotional(agreed[0])
    with time_machine.travel(evening + timedelta(minutes=40), tick=False):
        assert notifications.send(sms.pk) == "skipped"

    # then it waits, pending, its attempt given back, until 08:00; the re-queue task sends it then
    sms.refresh_from_db()
    eight = datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)
    assert (sms.status, sms.attempts, sms.next_attempt_at) == (Notification.Status.PENDING, 0, eight)
    with time_machine.travel(eight - timedelta(minutes=1), tick=False):
        assert sms.pk not in notifications.stuck_ids()
    with time_machine.travel(eight + timedelta(minutes=11), tick=False):
        assert sms.pk in notifications.stuck_ids()
        assert notifications.send(sms.pk) == "sent"


def test_the_county_approves_a_campaign_above_the_size(station_a, staff_a, county_manager, agreed, settings):
    settings.MARKETING_APPROVAL_ABOVE = 2
    c = campaign(station_a, staff_a)
    assert c.status == S.WAITING
    assert send_due() == 0

    with time_machine.travel(MORNING + timedelta(hours=1), tick=False):
        services.approve(campaign=c, actor=county_manager)
    assert send_due(MORNING + timedelta(hours=1)) == 3
    with pytest.raises(services.CampaignError):
        services.refuse(campaign=c, actor=county_manager, reason="太多")


def test_a_refused_campaign_is_never_sent_and_keeps_the_reason(station_a, staff_a, county_manager, agreed, settings):
    settings.MARKETING_APPROVAL_ABOVE = 2
    c = campaign(station_a, staff_a)
    with pytest.raises(services.CampaignError):
        services.refuse(campaign=c, actor=county_manager, reason=" ")

    services.refuse(campaign=c, actor=county_manager, reason="内容不合适")

    assert (c.status, c.refusal_reason) == (S.REFUSED, "内容不合适")
    assert send_due() == 0
    assert set(c.recipients.values_list("status", flat=True)) == {R.CANCELLED}  # every recipient ends


def test_a_campaign_up_to_the_size_needs_no_approval(station_a, staff_a, agreed, settings):
    settings.MARKETING_APPROVAL_ABOVE = 3

    assert campaign(station_a, staff_a).status == S.SCHEDULED


def test_no_campaign_without_an_audience(station_a, staff_a):
    VillagerFactory(service_center=station_a, marketing_consent=False)

    with pytest.raises(services.CampaignError):
        campaign(station_a, staff_a)


def test_the_draft_fills_in_a_products_name_and_price(db):
    product = ProductFactory(name="复合肥 50kg")

    draft = services.draft_from(product=product)

    assert "复合肥 50kg" in draft.body and f"{product.price:.2f}" in draft.body


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_campaign_at_once_text_each_recipient_once(station_a, staff_a):
    assert connection.vendor == "postgresql"
    villagers = [VillagerFactory(service_center=station_a, marketing_consent=True) for _ in range(12)]
    c = campaign(station_a, staff_a)

    # when four workers run batches of three of the same campaign at the same moment, twice over
    def worker(_i):
        with time_machine.travel(MORNING, tick=False):
            while services.send_batch(c.pk, size=3):
                pass
            return True

    at_once(worker, n=4)
    at_once(worker, n=2)

    # then every villager has exactly one promotional SMS, and every recipient left pending once
    assert sorted(len(promotional(v)) for v in villagers) == [1] * 12
    assert set(c.recipients.values_list("status", flat=True)) == {R.SENT}


# --- calling a campaign off ---------------------------------------------------------------------------------


def test_a_scheduled_campaign_called_off_sends_nothing_and_every_recipient_ends(station_a, staff_a, agreed):
    c = campaign(station_a, staff_a, send_at=MORNING + timedelta(hours=3))

    assert services.cancel(campaign=c) == 3

    assert c.status == S.CANCELLED
    assert send_due(at=MORNING + timedelta(hours=4)) == 0
    assert all(promotional(v) == [] for v in agreed)
    assert set(c.recipients.values_list("status", flat=True)) == {R.CANCELLED}


def test_a_campaign_called_off_between_batches_keeps_what_went_out_and_sends_no_more(station_a, staff_a, agreed):
    c = campaign(station_a, staff_a)
    with time_machine.travel(MORNING, tick=False):
        assert services.send_batch(c.pk, size=1) == 1

    assert services.cancel(campaign=c) == 2

    assert send_due() == 0
    statuses = sorted(c.recipients.values_list("status", flat=True))
    assert statuses == sorted([R.SENT, R.CANCELLED, R.CANCELLED])
    assert sum(len(promotional(v)) for v in agreed) == 1


def test_a_campaign_waiting_for_the_county_can_be_called_off_and_the_county_then_decides_nothing(
    station_a, staff_a, county_manager, agreed, settings
):
    settings.MARKETING_APPROVAL_ABOVE = 2
    c = campaign(station_a, staff_a)
    services.cancel(campaign=c)

    with pytest.raises(services.CampaignError):
        services.approve(campaign=c, actor=county_manager)


@pytest.mark.parametrize("end", ["sent", "refused", "cancelled"])
def test_a_campaign_that_has_ended_cannot_be_called_off(station_a, staff_a, county_manager, agreed, settings, end):
    settings.MARKETING_APPROVAL_ABOVE = 2 if end == "refused" else 200
    c = campaign(station_a, staff_a)
    if end == "sent":
        send_due()
        send_due()  # the last, empty batch marks it done
    elif end == "refused":
        services.refuse(campaign=c, actor=county_manager, reason="内容不合适")
    else:
        services.cancel(campaign=c)

    with pytest.raises(services.CampaignError):
        services.cancel(campaign=c)
    c.refresh_from_db()
    assert c.status == {"sent": S.DONE, "refused": S.REFUSED, "cancelled": S.CANCELLED}[end]


def test_a_batch_costs_the_same_queries_for_two_recipients_or_eight(station_a, staff_a):
    from django.test.utils import CaptureQueriesContext

    for _ in range(10):
        VillagerFactory(service_center=station_a, marketing_consent=True)
    small, big = campaign(station_a, staff_a), campaign(station_a, staff_a)

    counts = []
    for c, size in ((small, 2), (big, 8)):
        with time_machine.travel(MORNING, tick=False), CaptureQueriesContext(connection) as queries:
            assert services.send_batch(c.pk, size=size) == size
        counts.append(len(queries))

    assert counts[0] == counts[1], counts
    assert Recipient.objects.filter(status=R.SENT).count() == 10
