"""A villager's produce in a real Chromium: the partner lists a lot on a 360 px phone, the county manager buys,
receives and grades it at 1280 px and opens its label, the partner pays it at the counter, and the county's
figures page shows its charts.  Nothing may scroll sideways, and what a finger taps at the counter is at least
44 px high.  Every check reads ids, roles, data attributes and numbers: the pages are in Chinese by default.
"""

import re
from decimal import Decimal

import pytest

from cashbook.models import CashEntry
from produce.models import ProduceKind, ProduceLot
from tests.factories import CountyManagerFactory, UserFactory

from .conftest import PASSWORD, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP_PX = 44
# What a finger taps: buttons, button-styled links, the fields, a checkbox by its label, a disclosure's summary.
TAPPABLE = ", ".join(
    f"main {what}:visible"
    for what in (
        "button",
        "a.button",
        "input:not([type=hidden]):not([type=checkbox])",
        "select",
        "label.check",
        "summary",
    )
)


def small_tap_targets(page) -> list[str]:
    small = []
    for element in page.locator(TAPPABLE).all():
        box = element.bounding_box()
        if box and box["height"] < TAP_PX:
            small.append(f"{element.evaluate('e => e.outerHTML')[:80]}: {box['height']:.0f}px")
    return small


def check(page, name: str) -> None:
    shot(page, name)  # fits its screen, and a screenshot
    assert not small_tap_targets(page), small_tap_targets(page)


@pytest.fixture
def partner(transactional_db, staff_a):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


@pytest.fixture
def manager(transactional_db, station_a):
    user = UserFactory(username="carol", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    CountyManagerFactory(user=user, county=station_a.village.county)
    return user


@pytest.fixture
def kinds(station_a):
    county = station_a.village.county
    eggs = ProduceKind.objects.create(
        county=county,
        name="土鸡蛋",
        unit=ProduceKind.Unit.PIECE,
        grades="一级,二级",
        perishable=True,
        keeps_days=10,
        kg_per_unit=Decimal("0.06"),
        commission_rate=Decimal("3.00"),
    )
    ProduceKind.objects.create(
        county=county, name="农家腊肉", grades="一级,二级", restricted=True, needs_certificate=True, keeps_days=90
    )
    return {"eggs": eggs}


def test_a_lot_listed_at_the_counter_is_bought_graded_labelled_and_paid(
    phone, desk, partner, manager, villager_a, kinds
):
    # --- 1. the partner, on a phone: the produce page, the form, the lot listed
    log_in(phone, partner.username)
    phone.locator("main a.button[href='/produce/']").click()  # from the station's home page
    phone.wait_for_url("**/produce/")
    check(phone, "produce-01-list-empty")
    phone.locator("main a.button[href='/produce/new/']").click()
    phone.wait_for_url("**/produce/new/")
    assert phone.locator("#id_ready_on").input_value(), "the day it is ready starts filled in (today)"
    check(phone, "produce-02-new-form")
    phone.select_option("#id_villager", label=villager_a.name)
    phone.select_option("#id_kind", value=str(kinds["eggs"].pk))
    phone.locator("#id_quantity").fill("120")
    phone.locator("#id_grade").fill("一级")
    phone.locator("#id_price_asked").fill("0.90")
    check(phone, "produce-03-new-form-filled")
    phone.locator("main form button.primary").click()
    phone.wait_for_url(re.compile(r"/produce/P\d{6}-\w{6}/$"))
    lot = ProduceLot.objects.get()
    assert (lot.villager, lot.kind, lot.quantity, lot.grade_claimed) == (villager_a, kinds["eggs"], 120, "一级")
    assert phone.locator("main .heading .status-listed").is_visible()
    assert phone.locator(".messages .success").count() == 1
    check(phone, "produce-04-listed")

    # --- 2. the county manager, at the office: buys it at a price, receives and grades what the truck brought
    log_in_as_county(desk, manager.username)
    desk.goto("/county/produce/")
    row = desk.locator(f"#lot-{lot.number}")
    assert row.locator(".status-listed").is_visible()
    shot(desk, "produce-05-county-listed-1280")
    row.locator("input[name=price]").fill("0.85")
    row.locator("form:has(input[name=step][value=accept]) button").click()
    desk.wait_for_url(re.compile(r"/county/produce/$"))
    assert row.locator(".status-accepted").is_visible()
    shot(desk, "produce-06-county-accepted-1280")
    row.locator("input[name=quantity]").fill("118")
    row.locator("select[name=grade]").select_option("二级")
    row.locator("form:has(input[name=step][value=receive]) button").click()
    desk.wait_for_url(re.compile(r"/county/produce/$"))
    lot.refresh_from_db()
    assert (lot.status, lot.received_quantity, lot.received_grade, lot.value) == (
        "received",
        118,
        "二级",
        Decimal("100.30"),
    )
    assert row.locator(".status-received").is_visible()
    assert "100.30" in row.inner_text()
    shot(desk, "produce-07-county-received-1280")
    row.locator(f"a[href='/county/produce/{lot.number}/label/']").click()
    desk.wait_for_url(f"**/county/produce/{lot.number}/label/")
    assert desk.locator("main .qr svg").count() == 1
    assert lot.number in desk.locator("main .receipt").inner_text()
    shot(desk, "produce-08-label-1280")

    # --- 3. the partner pays it at the counter, after the confirmation the page asks for
    phone.goto(f"/produce/{lot.number}/")
    assert phone.locator("main .heading .status-received").is_visible()
    check(phone, "produce-09-to-pay")
    pay = phone.locator("main form:has(input[name=via][value=cash])")
    pay.locator("button.primary").click()  # not yet: the confirmation is not ticked
    lot.refresh_from_db()
    assert lot.status == "received"
    pay.locator("input[type=checkbox]").check()
    pay.locator("button.primary").click()
    phone.wait_for_url(f"**/produce/{lot.number}/")
    assert phone.locator("main .heading .status-paid").is_visible()
    lot.refresh_from_db()
    assert (lot.status, lot.paid_via, lot.paid_by) == ("paid", "cash", partner)
    assert CashEntry.objects.get(kind="produce", reference=lot.number).amount == Decimal("-100.30")
    check(phone, "produce-10-paid")
    phone.goto("/produce/")
    assert phone.locator(f"main a[href='/produce/{lot.number}/'] .status-paid").is_visible()
    check(phone, "produce-11-list-paid")

    # --- 4. the county's figures: the month's sales, in a chart and a table
    desk.goto("/county/produce/figures/")
    chart = desk.locator("main img.chart").first
    assert chart.evaluate("img => img.complete && img.naturalWidth > 0")
    assert "100.30" in desk.locator("main .money-tiles").first.inner_text()
    shot(desk, "produce-12-figures-1280")
    desk.set_viewport_size({"width": 360, "height": 740})
    shot(desk, "produce-13-figures-360")


def log_in_as_county(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button").click()
    page.wait_for_url(re.compile(r"/county/$"))
