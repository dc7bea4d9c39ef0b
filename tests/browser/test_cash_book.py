"""The cash book in a real Chromium: a partner takes a payment, closes the day a few yuan short, prints the slip
and hands the cash to the county at 360 px; the county confirms less than was handed over at 1280 px.
Only what the pages show is clicked; nothing may scroll sideways, and the partner's tap targets are 44 px.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from cashbook import services as cash
from cashbook.models import CashEntry, DayClose, Remittance
from orders import services as order_services
from orders.models import Order

from .conftest import ARTIFACTS, PASSWORD, log_in, shot
from .test_county import log_in_as_county
from .test_way_back import small_tap_targets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SLIP_PX = 80 / 25.4 * 96  # 80 mm paper at 96 dpi: 302.4 px


def with_password(user):
    user.set_password(PASSWORD)
    user.save()
    return user


def check(page, name: str) -> None:
    shot(page, name)  # fits the 360 px screen, and a screenshot
    assert not small_tap_targets(page), small_tap_targets(page)


def money(text: str) -> Decimal:
    """The first amount in ``text``: "-¥3.00 (short)" is -3.00."""
    return Decimal(re.search(r"-?\d+\.\d\d", text.replace("¥", "").replace(",", "")).group())


def test_a_partner_takes_cash_closes_the_day_short_prints_the_slip_and_hands_cash_over(phone, staff_a, order_placed):
    page = phone
    order = order_placed  # two bags of fertilizer, ¥336.00, cash at the station
    log_in(page, with_password(staff_a).username)

    # --- 1. the order page: cash received, more than due; the change to give back
    page.goto(f"/orders/{order.number}/")
    page.locator("main form.tender input[name=method][value=cash]").check()
    page.locator("main form.tender input[name=received]").fill("400")
    page.locator("main form.tender input[name=consent_code]").fill(order.consent_code)  # from the villager's SMS
    check(page, "cash-01-take-the-payment")
    page.locator("main form.tender button.primary").click()
    page.wait_for_url(f"**/orders/{order.number}/")
    assert "64.00" in page.locator(".messages .info").inner_text()
    assert Order.objects.get(pk=order.pk).status == Order.Status.CONFIRMED
    check(page, "cash-02-paid-the-change")

    # --- 2. the cash book from the nav: the drawer by the book
    page.locator("header nav a[href='/cash/']").click()
    page.wait_for_url("**/cash/")
    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/cash/"
    assert money(page.locator("[data-drawer]").inner_text()) == Decimal("336.00")
    assert page.locator("main").get_by_text(order.number).count() == 1  # the sale among the latest entries
    check(page, "cash-03-cash-book")

    # --- 3. the close, counted by notes and coins ¥3 short: the difference shown before anything is recorded
    page.locator("main a.button[href='/cash/close/']").click()
    page.wait_for_url("**/cash/close/")
    assert page.locator("main select[name=day]").input_value() == timezone.localdate().isoformat()
    page.locator("main details summary").click()
    for value, count in {"100": 3, "20": 1, "10": 1, "1": 3}.items():  # 300 + 20 + 10 + 3 = 333
        page.locator(f"main input[name='n_{value}']").fill(str(count))
    check(page, "cash-04-close-form")
    page.locator("main button[name=step][value=preview]").click()
    page.wait_for_url("**/cash/close/")
    assert money(page.locator("[data-expected]").inner_text()) == Decimal("336.00")
    assert money(page.locator("[data-counted]").inner_text()) == Decimal("333.00")
    assert money(page.locator("[data-difference]").inner_text()) == Decimal("-3.00")
    assert not DayClose.objects.exists()
    page.locator("main input[name=note]").fill("找零多给了三块")  # not required below ¥10 off, kept on the slip
    check(page, "cash-05-close-preview")
    page.locator("main button[name=step][value=confirm]").click()

    # --- 4. the slip, on screen and on 80 mm paper
    close = DayClose.objects.get()
    page.wait_for_url(f"**/cash/closes/{close.pk}/")
    assert (close.counted, close.difference, close.note) == (Decimal("333.00"), Decimal("-3.00"), "找零多给了三块")
    assert close.denominations == {"100": 3, "20": 1, "10": 1, "1": 3}
    assert page.locator(".slip").get_by_text("找零多给了三块").is_visible()
    assert page.locator(".slip tbody tr").count() == 4  # the count by notes and coins
    assert page.locator("main [data-print]").is_visible()
    check(page, "cash-06-close-slip")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator(".messages").is_visible()
    assert not page.locator("main .actions").is_visible()
    assert page.locator("button:visible, a.button:visible").count() == 0
    slip = page.locator(".slip").bounding_box()
    assert slip["width"] <= SLIP_PX + 0.5, f"the slip is {slip['width']:.0f}px wide, more than 80 mm"
    shot(page, "cash-07-close-slip-print")
    pdf = page.pdf(path=str(ARTIFACTS / "cash-07-close-slip.pdf"), width="80mm")
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1  # the whole slip on one page of the 80 mm roll
    page.emulate_media(media="screen")

    # --- 5. back to the book: today is closed; hand the cash to the county, figures first
    page.locator("main .actions a.button[href='/cash/']").click()
    page.wait_for_url("**/cash/")
    assert money(page.locator("[data-drawer]").inner_text()) == Decimal("333.00")
    assert page.locator("main a[href='/cash/close/']").count() == 0  # today is closed, and no other day is open
    assert page.locator(f"main a[href='/cash/closes/{close.pk}/']").is_visible()
    check(page, "cash-08-cash-book-closed")
    page.locator("main a.button[href='/cash/remittances/new/']").click()
    page.wait_for_url("**/cash/remittances/new/")
    page.locator("main input[name=amount]").fill("300")
    page.locator("main input[name=slip_number]").fill("JK-20261104-01")
    page.locator("main input[name=handed_to][value=driver]").check()
    page.locator("main input[name=run_code]").fill("R-01")
    check(page, "cash-09-remittance-form")
    page.locator("main button[name=step][value=preview]").click()
    page.wait_for_url("**/cash/remittances/new/")
    assert money(page.locator("[data-amount]").inner_text()) == Decimal("300.00")
    assert not Remittance.objects.exists()
    check(page, "cash-10-remittance-preview")
    page.locator("main button[name=step][value=confirm]").click()

    page.wait_for_url(re.compile(r"/cash/$"))
    remittance = Remittance.objects.get()
    assert (remittance.amount, remittance.slip_number, remittance.handed_to, remittance.run_code) == (
        Decimal("300.00"),
        "JK-20261104-01",
        "driver",
        "R-01",
    )
    assert "¥300.00" in page.locator(".messages .success").inner_text()
    assert money(page.locator("[data-drawer]").inner_text()) == Decimal("33.00")
    assert page.locator("main").get_by_text("JK-20261104-01").first.is_visible()  # waiting for the county
    check(page, "cash-11-handed-over")


def test_the_county_confirms_a_remittance_short_and_the_station_row_shows_it(
    desk, staff_a, county_manager, order_placed, station_a
):
    page = desk
    order_services.confirm_payment(
        order=order_placed, consent_code=order_placed.consent_code, actor=staff_a
    )  # ¥336.00 cash in the drawer
    remittance = cash.record_remittance(
        station=station_a, actor=staff_a, amount="336.00", slip_number="JK-77", handed_to="driver", run_code="R-02"
    )
    log_in_as_county(page, with_password(county_manager).username)

    # --- 1. from the workspace to the cash page by the nav
    page.locator("header nav a[href='/county/cash/']").click()
    page.wait_for_url(re.compile(r"/county/cash/$"))
    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/county/cash/"
    row = page.locator("main table.cash-table tbody tr", has_text=station_a.name)
    assert row.count() == 1
    assert "336.00" in row.inner_text()  # handed over, not confirmed
    waiting = page.locator("main .attention-card li", has_text="JK-77")
    assert waiting.count() == 1
    shot(page, "cash-county-01-cash-page")

    # --- 2. confirm what was counted at the county: ¥6 less
    waiting.locator(f"a.button[href='/county/remittances/{remittance.pk}/confirm/']").click()
    page.wait_for_url(f"**/county/remittances/{remittance.pk}/confirm/")
    assert page.locator("main input[name=received]").input_value() == "336.00"
    page.locator("main input[name=received]").fill("330")
    shot(page, "cash-county-02-confirm")
    page.locator("main form button.primary").click()

    page.wait_for_url(re.compile(r"/county/cash/$"))
    warning = page.locator(".messages .warning")
    assert warning.count() == 1 and "330.00" in warning.inner_text() and "336.00" in warning.inner_text()
    remittance.refresh_from_db()
    assert (remittance.status, remittance.received_amount) == ("confirmed", Decimal("330.00"))
    assert page.locator("main .attention-card").count() == 0  # nothing left to confirm
    row = page.locator("main table.cash-table tbody tr", has_text=station_a.name)
    assert "¥6.00" in row.locator(".negative").inner_text()  # the shortfall stays visible on the station's row
    shot(page, "cash-county-03-confirmed-short")
    assert CashEntry.objects.filter(station=station_a).count() == 2  # the sale and the remittance
