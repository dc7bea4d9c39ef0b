"""Promotional SMS in a real Chromium: the partner, on a 360 px phone, writes a campaign from a product,
previews the exact text, schedules it for tomorrow and calls it off; at the county's 1280 px the manager
refuses one big campaign with a reason and approves another, and the partner reads the reason.

Everything is reached by tapping what the page shows (only the login is typed as a URL).  Nothing may
scroll sideways, and what a finger taps is at least 44 px.  Checks read hrefs, names, values, data
attributes and the database: the pages are in Chinese by default.
"""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from marketing import services, texts
from marketing.models import Campaign, Recipient
from tests.factories import ProductFactory, VillagerFactory

from .conftest import PASSWORD, log_in, shot
from .test_county import log_in_as_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP_PX = 44
S = Campaign.Status


def tap(locator) -> None:
    """Click ``locator`` after checking a finger can: at least 44 x 44 px."""
    box = locator.bounding_box()
    assert box, f"{locator} is not on the page"
    assert box["height"] >= TAP_PX - 0.5 and box["width"] >= TAP_PX - 0.5, (
        f"{locator.evaluate('e => e.outerHTML')[:80]}: {box['width']:.0f}x{box['height']:.0f}px"
    )
    locator.click()


def tomorrow_at_ten() -> datetime:
    """Tomorrow 10:00 local time: later than now, and outside the quiet hours (21:00–08:00)."""
    day = timezone.localdate() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, time(10, 0)))


@pytest.fixture
def partner(staff_a):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


@pytest.fixture
def carol(county_manager):
    county_manager.set_password(PASSWORD)
    county_manager.save()
    return county_manager


@pytest.fixture
def agreed(station_a):
    """Three villagers of station A who agreed to promotional SMS, and one who did not."""
    VillagerFactory(service_center=station_a, marketing_consent=False)
    return [VillagerFactory(service_center=station_a, marketing_consent=True) for _ in range(3)]


@pytest.fixture
def fertilizer(db):
    return ProductFactory(name="复合肥", price=Decimal("120.00"))


def test_a_partner_writes_previews_schedules_and_calls_off_a_campaign(phone, partner, station_a, agreed, fertilizer):
    page = phone
    log_in(page, partner.username)

    # the dashboard's button, then the list's
    tap(page.locator("main a.button[href='/campaigns/']"))
    page.wait_for_url("**/campaigns/")
    shot(page, "campaigns-01-list-empty")
    tap(page.locator("main a.button[href='/campaigns/new/']"))
    page.wait_for_url("**/campaigns/new/")
    shot(page, "campaigns-02-new-form")

    # the words written from a product, for tomorrow morning
    send_at = tomorrow_at_ten()
    page.select_option("#id_product", value=str(fertilizer.pk))
    page.locator("#id_send_at").fill(f"{timezone.localtime(send_at):%Y-%m-%dT%H:%M}")
    shot(page, "campaigns-03-new-form-filled")
    tap(page.locator("main form button[name=step][value=preview]"))
    page.wait_for_selector("#preview")

    # the preview: the exact text (signature, station, words, how to stop), its length and parts, who gets it
    body = services.draft_from(product=fertilizer).body
    expected = texts.preview(station_name=station_a.name, body=body)
    preview = page.locator("#preview")
    sms = preview.locator(".sms-text").inner_text()
    assert sms == expected.text
    assert station_a.name in sms and sms.endswith(texts.stop_line())
    facts = preview.locator(".facts dd").all_inner_texts()
    assert str(expected.length) in facts[0] and facts[1] == str(expected.parts)
    assert facts[2] == "3"  # the villager who did not agree is not counted
    assert timezone.localtime(send_at).strftime("%Y-%m-%d %H:%M") in facts[4]
    assert page.locator("#id_body").input_value() == body  # the words to change or confirm
    assert not Campaign.objects.exists()
    shot(page, "campaigns-04-preview")

    # sent, from the button under the preview (the form's own is a screen further down): scheduled for tomorrow
    assert page.locator("main form#campaign-form button[name=step][value=send]").count() == 1
    tap(preview.locator("button[form=campaign-form][name=step][value=send]"))
    page.wait_for_url(re.compile(r"/campaigns/\d+/$"))
    campaign = Campaign.objects.get()
    assert page.url.endswith(f"/campaigns/{campaign.pk}/")
    assert (campaign.status, campaign.send_at, campaign.text) == (S.SCHEDULED, send_at, expected.text)
    assert campaign.recipients.filter(status=Recipient.Status.PENDING).count() == 3
    assert page.locator("main .heading .status-scheduled").is_visible()
    assert page.locator(".messages .success").count() == 1
    assert page.locator("main .sms-text").inner_text() == expected.text
    shot(page, "campaigns-05-scheduled")

    # called off: the button, the confirmation page, the campaign's page again
    tap(page.locator("main a.button[data-cancel]"))
    page.wait_for_url(f"**/campaigns/{campaign.pk}/cancel/")
    assert page.locator(f"main a.button[href='/campaigns/{campaign.pk}/']").is_visible()  # keep it
    shot(page, "campaigns-06-cancel-confirmation")
    tap(page.locator("main form button[data-confirm-cancel]"))
    page.wait_for_url(f"**/campaigns/{campaign.pk}/")
    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED
    assert campaign.recipients.filter(status=Recipient.Status.CANCELLED).count() == 3
    assert page.locator("main .heading .status-cancelled").is_visible()
    assert page.locator("main a[data-cancel]").count() == 0  # nothing more to call off
    assert page.locator(".messages .success").count() == 1
    shot(page, "campaigns-07-called-off")

    # the list shows it called off
    tap(page.locator("main a[href='/campaigns/']"))  # the back link
    page.wait_for_url("**/campaigns/")
    assert page.locator(f"main a[href='/campaigns/{campaign.pk}/'] .status-cancelled").is_visible()
    shot(page, "campaigns-08-list-called-off")


def test_the_county_refuses_a_big_campaign_with_a_reason_the_partner_reads(
    desk, phone, settings, partner, carol, station_a, agreed
):
    # given: with the approval threshold lowered, two campaigns of 3 villagers wait for the county
    settings.MARKETING_APPROVAL_ABOVE = 2
    first = services.create_campaign(station=station_a, actor=partner, body="冬季农资特价，化肥九折")
    second = services.create_campaign(station=station_a, actor=partner, body="新到玉米种子")
    assert first.status == second.status == S.WAITING
    reason = "一周内已发过两次，请下周再发"

    # the county manager, from the workspace
    log_in_as_county(desk, carol.username)
    tap(desk.locator("main a.button[href='/county/campaigns/']"))
    desk.wait_for_url("**/county/campaigns/")
    assert desk.locator(f"#campaign-{first.pk}").is_visible() and desk.locator(f"#campaign-{second.pk}").is_visible()
    shot(desk, "campaigns-11-county-waiting-1280")

    # refuses the first: a reason is asked for
    card = desk.locator(f"section[aria-labelledby=campaign-{first.pk}]")
    tap(card.locator("summary"))
    card.locator(f"#reason-{first.pk}").fill(reason)
    shot(desk, "campaigns-12-county-refusing-1280")
    tap(card.locator("button[name=step][value=refuse]"))
    desk.wait_for_url("**/county/campaigns/")
    assert desk.locator(".messages .success").count() == 1
    assert desk.locator(f"#campaign-{first.pk}").count() == 0

    # approves the second
    card = desk.locator(f"section[aria-labelledby=campaign-{second.pk}]")
    tap(card.locator("button[name=step][value=approve]"))
    desk.wait_for_url("**/county/campaigns/")
    assert desk.locator(f"#campaign-{second.pk}").count() == 0
    shot(desk, "campaigns-13-county-decided-1280")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.refusal_reason, first.decided_by) == (S.REFUSED, reason, carol)
    assert (second.status, second.decided_by) == (S.SCHEDULED, carol)

    # the partner, on the phone: the list, the refused campaign, the reason
    log_in(phone, partner.username)
    tap(phone.locator("main a.button[href='/campaigns/']"))
    phone.wait_for_url("**/campaigns/")
    assert phone.locator(f"main a[href='/campaigns/{first.pk}/'] .status-refused").is_visible()
    assert phone.locator(f"main a[href='/campaigns/{second.pk}/'] .status-scheduled").is_visible()
    shot(phone, "campaigns-14-list-refused")
    tap(phone.locator(f"main a[href='/campaigns/{first.pk}/']"))
    phone.wait_for_url(f"**/campaigns/{first.pk}/")
    assert phone.locator("main .heading .status-refused").is_visible()
    assert reason in phone.locator("main [role=alert]").inner_text()
    assert phone.locator("main a[data-cancel]").count() == 0
    shot(phone, "campaigns-15-refused-reason")
