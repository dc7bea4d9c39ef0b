"""The villager's say in a real Chromium: the SMS code typed on the receipt, the signed slip for a villager
without a phone, a hand-over without the pickup code (360 px), and the county's review and call-backs (1280 px).

Only what the pages show is clicked (picked by URL, form action and field name: the new strings may not be
translated yet).  The test body plays the villager (it reads their SMS from the outbox) and the truck.  The
pickup code never shows on a staff page, except on the slip printed for a villager without SMS; nothing
scrolls sideways at 360 px, and what the partner taps is at least 44 px high.
"""

import re

import pytest
from django.utils import timezone

from integrity.models import CallBack, Review
from notifications.models import Notification
from orders import commissions, services
from orders.models import Order, SlipPrint
from tests.factories import VillagerFactory
from tests.order_steps import arrive, depart

from .conftest import DESK, PASSWORD, log_in, shot
from .test_county import log_in_as_county
from .test_way_back import TAP_PX

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The slip page calls window.print() once it has loaded: headless Chromium gets a stub that counts the calls.
NO_PRINT_DIALOG = "window.__prints = 0; window.print = () => { window.__prints += 1; };"


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def placed(station, villager, user, product, *, key: str, notify: bool = True) -> Order:
    """Two bags of ``product`` for ``villager``, cash at the station, placed through the service."""
    return services.place_order(
        station=station,
        villager=villager,
        placed_by=user,
        lines=[services.LineRequest(product.sku, 2)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key=key,
        notify=notify,
    ).order


def tall_enough(*locators) -> None:
    """What the partner taps is at least 44 px high."""
    for locator in locators:
        box = locator.bounding_box()
        assert box is not None, f"{locator} is not on the page"
        assert box["height"] >= TAP_PX, f"{locator}: {box['height']:.0f}px high"


def printed(page) -> None:
    """The page called window.print() (the stub's count; polled here: the CSP forbids wait_for_function's eval)."""
    for _ in range(50):
        if page.evaluate("window.__prints") >= 1:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{page.url} did not print itself")


def check(page, name: str, *taps, pickup_code: str = "") -> None:
    """A screenshot; the page fits its screen; the tapped elements are big enough; the pickup code is not shown."""
    shot(page, name)
    tall_enough(*taps)
    if pickup_code:
        assert pickup_code not in page.content(), f"{page.url} shows the pickup code"


def test_the_villager_reads_out_the_code_of_their_sms_and_the_partner_takes_the_payment(
    phone, staff_a, station_a, villager_a, fertilizer_stock
):
    page = phone
    order = placed(station_a, villager_a, staff_a, fertilizer_stock.product, key="sms-1")
    assert order.consent_via == Order.ConsentVia.SMS
    # The villager's SMS: what the outbox sends them (the test plays the villager reading it).
    sms = Notification.objects.get(reference=order.number, template="order_consent")
    assert str(sms.recipient) == "+8613812345678"
    code = sms.payload["code"]
    assert re.fullmatch(r"\d{4}", code) and code == order.consent_code
    pickup = order.pickup_code

    log_in(page, with_password(staff_a).username)
    check(page, "say-01-dashboard", pickup_code=pickup)
    page.locator(f"main a[href='/orders/{order.number}/']").first.click()
    page.wait_for_url(f"**/orders/{order.number}/")
    assert page.locator(".heading .status-placed").is_visible()
    check(page, "say-02-order-placed", page.locator("main input[name=consent_code]"), pickup_code=pickup)
    page.locator(f"main a.button[href='/orders/{order.number}/receipt/']").click()
    page.wait_for_url(f"**/orders/{order.number}/receipt/")

    # --- the receipt: the code field inside the confirm form; the pickup code is not on it
    form = page.locator(f"main form[action='/orders/{order.number}/confirm/']")
    field = form.locator("input[name=consent_code]")
    button = form.locator("button.primary")
    assert "336.00" in button.inner_text()
    assert "5678" in form.inner_text()  # "sent to 138****5678"
    check(page, "say-03-receipt-sms", field, button, pickup_code=pickup)

    # A wrong code is refused and confirms nothing
    field.fill(f"{(int(code) + 1) % 10**4:04d}")
    with page.expect_response(f"**/orders/{order.number}/confirm/") as refused:
        button.click()
    assert refused.value.status == 409
    # said on the receipt again, by the code's field, which is empty for the code asked again
    form.locator(".consent [role=alert]").wait_for()
    assert field.input_value() == ""
    assert Order.objects.get(pk=order.pk).status == Order.Status.PLACED
    check(page, "say-04-wrong-sms-code", pickup_code=pickup)

    # The right code: confirmed, paid, back on the receipt
    field.fill(code)
    button.click()
    page.wait_for_url(f"**/orders/{order.number}/receipt/")
    assert page.locator(".messages .success").count() == 1
    assert page.locator("main input[name=consent_code]").count() == 0
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED and order.paid_at is not None
    assert order.consent_evidence == Order.ConsentEvidence.CODE_AT_COUNTER and order.consent_given_at is not None
    check(page, "say-05-receipt-confirmed", page.locator("main [data-print]"), pickup_code=pickup)

    page.locator(f"main a.button[href='/orders/{order.number}/']").click()
    page.wait_for_url(f"**/orders/{order.number}/")
    assert page.locator(".heading .status-confirmed").is_visible()
    check(page, "say-06-order-confirmed", pickup_code=pickup)


def test_a_villager_without_a_phone_signs_the_printed_slip_and_the_partner_types_its_number(
    phone, staff_a, station_a, fertilizer_stock
):
    page = phone
    page.add_init_script(NO_PRINT_DIALOG)
    villager = VillagerFactory(service_center=station_a, name="赵老汉", phone="", sms_consent=False)
    order = placed(station_a, villager, staff_a, fertilizer_stock.product, key="slip-1")
    assert order.consent_via == Order.ConsentVia.SLIP
    assert not Notification.objects.filter(reference=order.number).exists()  # no SMS to send to
    log_in(page, with_password(staff_a).username)

    # --- the receipt before printing: neither the pickup code nor the slip number
    page.goto(f"/orders/{order.number}/receipt/")
    print_slip = page.locator(f"main form[action='/orders/{order.number}/slip/'] button")
    check(page, "say-11-receipt-slip-not-printed", print_slip, pickup_code=order.pickup_code)
    assert page.locator("main input[name=consent_code]").count() == 0  # the number comes with the slip
    assert order.consent_code not in page.locator("main").inner_text()

    # --- print it: the slip with the slip number to sign and the pickup code, sent to the printer at once
    print_slip.click()
    page.wait_for_url(f"**/orders/{order.number}/slip/")
    printed(page)
    slip_number = page.locator(".receipt .sign strong").inner_text().strip()
    pickup = page.locator(".receipt .pickup .code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", slip_number) and re.fullmatch(r"\d{6}", pickup)
    assert (slip_number, pickup) == (order.consent_code, order.pickup_code)
    assert page.locator(".receipt .sign-box").is_visible()  # room for the signature or the thumbprint
    assert page.locator(".receipt .pickup .qr svg").is_visible()
    check(page, "say-12-slip-printed", page.locator("main [data-print]"))
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("main .actions").is_visible()
    shot(page, "say-13-slip-print-media")
    page.emulate_media(media="screen")
    assert SlipPrint.objects.filter(order=order, reprint=False).count() == 1

    # --- back to the receipt through the links: the order page, its "the slip" button
    page.locator(f"main .actions a.button[href='/orders/{order.number}/']").click()
    page.wait_for_url(f"**/orders/{order.number}/")
    check(page, "say-14-order-slip-printed", pickup_code=pickup)
    assert slip_number not in page.locator("main").inner_text()
    page.locator(f"main a.button[href='/orders/{order.number}/receipt/']").first.click()
    page.wait_for_url(f"**/orders/{order.number}/receipt/")
    assert page.locator(".receipt .pickup .code").count() == 0
    assert slip_number not in page.locator("main").inner_text()
    form = page.locator(f"main form[action='/orders/{order.number}/confirm/']")
    field, button = form.locator("input[name=consent_code]"), form.locator("button.primary")
    check(page, "say-15-receipt-after-the-slip", field, button, pickup_code=pickup)

    # --- the slip's number typed from the signed paper: confirmed, and the code stays hidden
    field.fill(slip_number)
    button.click()
    page.wait_for_url(f"**/orders/{order.number}/receipt/")
    assert page.locator(".messages .success").count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert order.consent_evidence == Order.ConsentEvidence.SIGNED_SLIP and order.consent_given_at is not None
    assert page.locator(".receipt .pickup .code").count() == 0
    assert slip_number not in page.locator("main").inner_text()
    check(page, "say-16-receipt-slip-confirmed", pickup_code=pickup)
    assert page.evaluate("window.__prints") == 0  # this page did not print itself


def test_the_villager_lost_the_code_and_the_partner_hands_over_after_the_id_check(
    phone, staff_a, station_a, villager_a, fertilizer_stock
):
    page = phone
    order = placed(station_a, villager_a, staff_a, fertilizer_stock.product, key="lost-1", notify=False)
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    services.transition(order, to=Order.Status.BATCHED, actor=staff_a)
    depart(order=order, actor=staff_a)
    arrive(order=order, actor=staff_a, notify=False)
    pickup = order.pickup_code
    log_in(page, with_password(staff_a).username)

    page.locator(f"main a[href='/orders/{order.number}/']").first.click()
    page.wait_for_url(f"**/orders/{order.number}/")
    assert page.locator(".heading .status-at_station").is_visible()
    details = page.locator("main details.without-code")
    summary = details.locator("summary")
    check(page, "say-21-at-station", page.locator("#id_pickup_code"), summary, pickup_code=pickup)
    assert not details.locator("button").is_visible()

    summary.click()
    reason, id_check = details.locator("input[name=lost_reason]"), details.locator("input[name=id_check]")
    reason.fill("短信删了，取货码找不到")
    id_check.fill("王建国本人身份证，尾号1234")
    button = details.locator("button")
    check(page, "say-22-lost-the-code-open", button, pickup_code=pickup)
    # The two fields are measured now and judged after the hand-over, so a short field does not hide the rest.
    # (2026-12: 42px, app.css gives .consent inputs min-height:44px but not .without-code ones.)
    heights = {
        name: box["height"]
        for name, box in (("lost_reason", reason.bounding_box()), ("id_check", id_check.bounding_box()))
    }
    button.click()
    page.locator(".heading .status-collected").wait_for()
    assert page.locator(".messages .success").count() == 1
    order.refresh_from_db()
    assert order.status == Order.Status.COLLECTED and order.collected_at is not None
    assert order.collected_without_code
    assert "短信删了" in order.handover_note and "尾号1234" in order.handover_note
    check(page, "say-23-collected-without-code", pickup_code=pickup)
    short = {name: f"{h:.0f}px" for name, h in heights.items() if h < TAP_PX}
    assert not short, f"the fields of 'the villager lost the code' are lower than {TAP_PX}px: {short}"


def test_the_county_clears_a_flagged_order_and_records_a_call_back(
    desk, staff_a, county_manager, station_a, villager_a, fertilizer_stock
):
    page = desk
    # An order flagged for review (its commission held), and a slip order drawn for a call-back
    flagged = placed(station_a, villager_a, staff_a, fertilizer_stock.product, key="review-1", notify=False)
    services.confirm_payment(order=flagged, consent_code=flagged.consent_code, actor=staff_a)
    review = Review.objects.create(
        order=flagged,
        service_center=station_a,
        month=commissions.month_start(timezone.localdate()),
        signals=["outside_hours"],
    )
    commissions.hold([flagged.pk])
    no_sms = VillagerFactory(service_center=station_a, name="孙大娘", phone="+8613700001111", sms_consent=False)
    slip_order = placed(station_a, no_sms, staff_a, fertilizer_stock.product, key="call-1", notify=False)
    services.confirm_payment(order=slip_order, consent_code=slip_order.consent_code, actor=staff_a)
    CallBack.objects.filter(order=slip_order).delete()  # the random draw may have picked it already
    call_back = CallBack.objects.create(order=slip_order)

    log_in_as_county(page, with_password(county_manager).username)
    page.locator("header nav a[href='/county/review/']").click()
    page.wait_for_url("**/county/review/")
    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/county/review/"
    row = page.locator("main .decision-rows li").filter(has_text=flagged.number)
    assert row.count() == 1 and "里叶村服务站" in row.inner_text()
    shot(page, "say-31-review-queue-1280")

    # --- open it, say why, clear it: the commission goes into the next statement
    row.locator(f"a.button[href='/county/reviews/{review.pk}/']").click()
    page.wait_for_url(f"**/county/reviews/{review.pk}/")
    assert flagged.number in page.locator("main h1").inner_text()
    page.locator("main form.decision-form input[name=reason]").fill("村民本人电话确认，是晚上托站长下的单")
    shot(page, "say-32-review-detail-1280")
    page.locator("main form.decision-form button[name=decision][value=clear]").click()
    page.wait_for_url("**/county/review/")
    assert page.locator(".messages .success").count() == 1
    review.refresh_from_db()
    assert (review.status, review.decided_by, review.reason) == (
        Review.Status.CLEARED,
        county_manager,
        "村民本人电话确认，是晚上托站长下的单",
    )
    assert not Order.objects.get(pk=flagged.pk).commission_held
    assert page.locator("main .decision-rows").first.filter(has_text=flagged.number).count() == 1  # decided lately
    shot(page, "say-33-review-cleared-1280")

    # --- the call-backs: the villager confirmed on the phone
    page.locator("main .heading a.button[href='/county/call-backs/']").click()
    page.wait_for_url("**/county/call-backs/")
    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/county/review/"
    form = page.locator(f"main form[action='/county/call-backs/{call_back.pk}/']")
    assert form.count() == 1
    assert page.locator("main a[href='tel:+8613700001111']").is_visible()
    form.locator("input[name=result][value=confirmed]").check()
    form.locator("input[name=note]").fill("本人接电话，确认买了两袋复合肥")
    shot(page, "say-34-call-backs-1280")
    form.locator("button").click()
    page.wait_for_url("**/county/call-backs/")
    assert page.locator(".messages .success").count() == 1
    call_back.refresh_from_db()
    assert (call_back.result, call_back.called_by, call_back.note) == (
        CallBack.Result.CONFIRMED,
        county_manager,
        "本人接电话，确认买了两袋复合肥",
    )
    assert page.locator(f"main form[action='/county/call-backs/{call_back.pk}/']").count() == 0
    assert page.locator("main").get_by_text("孙大娘").first.is_visible()  # called lately
    shot(page, "say-35-call-back-recorded-1280")
    assert page.viewport_size == DESK
