"""The campaign pages: the partner previews then sends, follows a campaign; the county approves the big ones."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marketing import services
from marketing.models import Campaign, Recipient
from partners.models import StationStaff
from tests.factories import (
    CountyManagerFactory,
    ProductFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    UserFactory,
    VillagerFactory,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 12, 3, 10, 0, tzinfo=SHANGHAI)
S = Campaign.Status


@pytest.fixture(autouse=True)
def morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def agreed(station_a):
    return [VillagerFactory(service_center=station_a, marketing_consent=True) for _ in range(3)]


@pytest.fixture
def product(db):
    return ProductFactory(name="复合肥", price=Decimal("120.00"))


@pytest.fixture
def assistant_client(client, station_a):
    assistant = StationStaffFactory(
        user=UserFactory(username="amy"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    client.force_login(assistant)
    return client


@pytest.fixture
def county_client(client, county_manager):
    client.force_login(county_manager)
    return client


def form(**kwargs) -> dict:
    return {"promotion": "", "product": "", "body": "", "category": "", "months": "", "send_at": "", **kwargs}


def test_it_previews_the_exact_text_its_cost_and_the_audience_then_sends(client_a, station_a, agreed, product):
    # when
    preview = client_a.post("/campaigns/new/", form(product=product.pk, step="preview"))

    # then: the text written from the product, what it costs, and nothing created yet
    assert preview.status_code == 200
    body = services.draft_from(product=product).body
    text = services.texts.compose(station_name=station_a.name, body=body)
    page = preview.content.decode()
    assert text in page and preview.context["audience"] == 3
    assert preview.context["preview"].parts == services.texts.sms_parts(text)
    assert preview.context["cost"] == 3 * preview.context["preview"].parts
    assert 'value="send"' in page
    assert not Campaign.objects.exists()

    # when: confirmed, with the words as previewed
    sent = client_a.post("/campaigns/new/", form(product=product.pk, body=body, audience="3", step="send"))

    # then
    campaign = Campaign.objects.get()
    assert sent.status_code == 302 and sent["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.status == S.SCHEDULED and campaign.text == text and campaign.product == product
    assert campaign.recipients.count() == 3
    detail = client_a.get(f"/campaigns/{campaign.pk}/")
    assert detail.status_code == 200 and detail.context["counts"][Recipient.Status.PENDING] == 3
    listing = client_a.get("/campaigns/")
    assert listing.status_code == 200 and f"/campaigns/{campaign.pk}/" in listing.content.decode()


def test_a_changed_audience_is_shown_again_before_anything_is_sent(client_a, station_a, agreed):
    preview = client_a.post("/campaigns/new/", form(body="复合肥特价", step="preview"))
    assert preview.context["audience"] == 3
    VillagerFactory(service_center=station_a, marketing_consent=True)  # agreed in between

    response = client_a.post("/campaigns/new/", form(body="复合肥特价", audience="3", step="send"))

    assert response.status_code == 409 and response.context["changed"] and response.context["audience"] == 4
    assert not Campaign.objects.exists()
    sent = client_a.post("/campaigns/new/", form(body="复合肥特价", audience="4", step="send"))
    assert sent.status_code == 302 and Campaign.objects.get().recipients.count() == 4


def test_it_shows_what_was_sent_skipped_and_ordered(client_a, station_a, staff_a, agreed):
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    agreed[0].marketing_consent = False
    agreed[0].save()
    services.send_due()

    response = client_a.get(f"/campaigns/{campaign.pk}/")

    assert response.status_code == 200
    counts = response.context["counts"]
    assert counts[Recipient.Status.SENT] == 2 and counts[Recipient.Status.OPTED_OUT] == 1
    assert response.context["attributed"]["orders"] == 0
    assert "复合肥特价" in response.content.decode()


def test_a_big_campaign_waits_for_the_county_which_approves_it(
    client, client_a, station_a, agreed, county_manager, settings
):
    settings.MARKETING_APPROVAL_ABOVE = 2
    client_a.post("/campaigns/new/", form(body="冬季农资特价", step="send"))
    campaign = Campaign.objects.get()
    assert campaign.status == S.WAITING
    assert client_a.get(f"/campaigns/{campaign.pk}/").context["campaign"].status == S.WAITING

    # when: the county's manager
    client.force_login(county_manager)
    waiting = client.get("/county/campaigns/")
    assert waiting.status_code == 200 and campaign.text in waiting.content.decode()
    response = client.post(f"/county/campaigns/{campaign.pk}/", {"step": "approve"})

    # then
    assert response.status_code == 302 and response["Location"] == "/county/campaigns/"
    campaign.refresh_from_db()
    assert campaign.status == S.SCHEDULED and campaign.decided_by == county_manager
    # approved twice: refused by the conditional update, nothing changes
    client.post(f"/county/campaigns/{campaign.pk}/", {"step": "refuse", "reason": "太多"})
    campaign.refresh_from_db()
    assert campaign.status == S.SCHEDULED


def test_the_county_refuses_with_a_reason_the_partner_sees(
    client, station_a, staff_a, agreed, county_manager, settings
):
    settings.MARKETING_APPROVAL_ABOVE = 2
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="冬季农资特价")
    client.force_login(county_manager)

    client.post(f"/county/campaigns/{campaign.pk}/", {"step": "refuse", "reason": ""})  # no reason: refused
    campaign.refresh_from_db()
    assert campaign.status == S.WAITING
    client.post(f"/county/campaigns/{campaign.pk}/", {"step": "refuse", "reason": "春节前太频繁"})

    campaign.refresh_from_db()
    assert campaign.status == S.REFUSED
    client.force_login(staff_a)
    assert "春节前太频繁" in client.get(f"/campaigns/{campaign.pk}/").content.decode()


@pytest.mark.parametrize("url", ["/campaigns/", "/campaigns/new/", "/campaigns/{pk}/"])
def test_an_assistant_may_not_write_or_see_campaigns(assistant_client, station_a, staff_a, agreed, url):
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")

    response = assistant_client.get(url.format(pk=campaign.pk))

    assert response.status_code == 403
    assert "partners/not_allowed.html" in [t.name for t in response.templates]


def test_an_assistant_cannot_send_one(assistant_client, agreed):
    response = assistant_client.post("/campaigns/new/", form(body="复合肥特价", step="send"))

    assert response.status_code == 403 and not Campaign.objects.exists()


def test_another_station_s_campaign_is_a_404(client, station_a, staff_a, staff_b, agreed):
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    client.force_login(staff_b)

    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert "复合肥特价" not in client.get("/campaigns/").content.decode()


def test_another_county_s_campaign_is_a_404_to_its_manager(client, station_a, staff_a, agreed, settings):
    settings.MARKETING_APPROVAL_ABOVE = 2
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    other = ServiceCenterFactory(code="C-001")
    manager_c = CountyManagerFactory(user=UserFactory(username="cathy"), county=other.village.county).user
    client.force_login(manager_c)

    assert client.post(f"/county/campaigns/{campaign.pk}/", {"step": "approve"}).status_code == 404
    assert campaign.text not in client.get("/county/campaigns/").content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.WAITING


@pytest.mark.parametrize(
    "data",
    [
        form(body="复合肥特价", send_at="tomorrow at nine", step="preview"),
        form(body="复合肥特价", send_at="2026-12-01T10:00", step="send"),  # passed
        form(body="", step="preview"),  # no words, no source
        form(body="特" * 301, step="send"),
        form(body="复合肥特价", months="0", step="preview"),
        form(body="复合肥特价", product="999999", step="preview"),
        form(body="复合肥特价", step="oops"),
    ],
)
def test_bad_input_is_a_400_with_the_form(client_a, agreed, data):
    response = client_a.post("/campaigns/new/", data)

    assert response.status_code == 400
    assert response.context["form"].errors
    assert not Campaign.objects.exists()


def test_nobody_to_send_to_is_a_400_with_the_reason(client_a, station_a):
    VillagerFactory(service_center=station_a, marketing_consent=False)

    response = client_a.post("/campaigns/new/", form(body="复合肥特价", step="send"))

    assert response.status_code == 400 and response.context["form"].non_field_errors()
    assert not Campaign.objects.exists()


def test_a_time_in_the_quiet_hours_moves_to_eight(client_a, agreed):
    response = client_a.post("/campaigns/new/", form(body="复合肥特价", send_at="2026-12-03T22:30", step="preview"))

    assert response.status_code == 200 and response.context["moved"]
    assert response.context["send_at"] == datetime(2026, 12, 4, 8, 0, tzinfo=SHANGHAI)


def test_the_campaign_list_costs_the_same_for_many_campaigns(client_a, station_a, staff_a, agreed):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get("/campaigns/").status_code == 200
        return len(captured)

    services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    queries()  # warm the session
    one = queries()
    for _ in range(4):
        services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")

    # the session, the user, the station staff, the campaigns with their counts (one query), the session saved
    assert queries() == one


def test_the_partner_calls_a_scheduled_campaign_off_after_seeing_who_it_spares(client_a, station_a, staff_a, agreed):
    from django.conf import settings

    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    later = datetime(2026, 12, 3, 15, 0, tzinfo=SHANGHAI)
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价", send_at=later)
    detail = client_a.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert f'href="/campaigns/{campaign.pk}/cancel/"' in detail

    confirm = client_a.get(f"/campaigns/{campaign.pk}/cancel/")
    assert confirm.status_code == 200 and confirm.context["waiting"] == 3
    assert "3 villagers have not been sent it yet" in confirm.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == S.SCHEDULED  # looking is not calling off

    done = client_a.post(f"/campaigns/{campaign.pk}/cancel/", follow=True)

    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED
    page = done.content.decode()
    assert (
        "called off: 3 villagers will not get it" in page
        and 'href="/campaigns/' + str(campaign.pk) + '/cancel/"' not in page
    )


def test_calling_off_a_campaign_that_went_out_says_why_and_changes_nothing(client_a, station_a, staff_a, agreed):
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    services.send_due()
    services.send_due()

    assert client_a.get(f"/campaigns/{campaign.pk}/cancel/").status_code == 302
    response = client_a.post(f"/campaigns/{campaign.pk}/cancel/", follow=True)

    campaign.refresh_from_db()
    assert campaign.status == S.DONE
    assert {m.level_tag for m in response.context["messages"]} == {"error"}  # the GET's and the POST's
