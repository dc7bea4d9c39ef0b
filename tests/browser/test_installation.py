"""A home installation in a real Chromium at 360 px: the partner books the time, the installer installs it.

The order (an air conditioner to install) is placed, paid and carried to the station through the services.  In
the browser the partner books the first free time from the order's page; the installer (another phone, their
own login) finds the appointment the next day, takes the goods, and hands the order over at the villager's home
with the pickup code the villager tells them: a wrong code first is refused and changes nothing.  The UI is in
Chinese, as the other browser tests see it: the test reads the msgids through ``zh``.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext

from installations.models import Appointment, Installer
from orders import services
from orders.models import CommissionEntry, Order
from tests.factories import ProductFactory, StockFactory, UserFactory, VillagerFactory
from tests.order_steps import arrive, depart

from .conftest import PASSWORD, PHONE, _watched_page, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TAP = 44  # px: the smallest target a thumb hits on a cheap phone


def zh(message: str, **values) -> str:
    """What the page says in Chinese (the page's language), so the test reads the msgids."""
    with translation.override("zh-hans"):
        text = gettext(message)
    return text % values if values else text


def tall_enough(locator) -> None:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not shown"
    assert box["height"] >= TAP, f"{locator} is {box['height']:.0f}px tall"


@pytest.fixture
def installer_phone(request, browser, live_server):
    """The installer's own phone: a second 360 px context, watched like ``phone``."""
    yield from _watched_page(request, browser, live_server, PHONE)


def test_the_partner_books_the_installation_and_the_installer_installs_and_hands_over(
    phone, installer_phone, staff_a, station_a, warehouse_a
):
    # --- the world: an air conditioner in stock at the county warehouse, a villager at home, the county's installer
    staff_a.set_password(PASSWORD)
    staff_a.save()
    aircon = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True)
    StockFactory(product=aircon, warehouse=warehouse_a, on_hand=5)
    # No SMS consent: booking the time queues no message on the real broker.
    villager = VillagerFactory(service_center=station_a, name="王秀英", address="三组 12 号", sms_consent=False)
    installer_user = UserFactory(username="zhang")
    installer_user.set_password(PASSWORD)
    installer_user.save()
    installer = Installer.objects.create(
        county=station_a.village.county, name="张师傅", capacity=2, work_weekdays="1234567", user=installer_user
    )

    # --- the order: placed, paid at the station, batched, carried there
    order = services.place_order(
        station=station_a,
        villager=villager,
        placed_by=staff_a,
        lines=[services.LineRequest(aircon.sku, 1)],
        delivery_method="home_installation",
        payment_method="cash_at_station",
        idempotency_key="install-1",
        notify=False,
    ).order
    order = services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    services.transition(order, to="batched", actor=staff_a)
    depart(order=order, actor=staff_a)
    arrive(order=order, actor=staff_a, notify=False)
    number = order.number

    # --- 1. the partner: the order's page says the installer installs it, and leads to the appointment
    page = phone
    log_in(page, staff_a.username)
    page.goto(f"/orders/{number}/")
    assert page.locator(".heading .status-at_station").is_visible()
    main = page.locator("main")
    assert main.get_by_role("heading", name=zh("Next: the installer installs it at the villager's home")).is_visible()
    main.get_by_role("link", name=zh("Installation appointment")).click()
    page.wait_for_url(f"**/orders/{number}/installation/")
    first = page.locator("input[name=slot]").first
    assert first.is_checked()  # the first free time is chosen already
    tomorrow = timezone.localdate() + timedelta(days=1)
    assert first.get_attribute("value") == f"{tomorrow.isoformat()}|am"  # at the station: tomorrow at the earliest
    book = page.get_by_role("button", name=zh("Book this time"), exact=True)
    tall_enough(book)
    shot(page, "install-01-book")
    book.click()
    page.wait_for_url(f"**/orders/{number}/")
    assert page.locator(".messages .success").count() == 1
    appointment = Appointment.objects.get(order=order)
    assert (appointment.installer, appointment.day, appointment.half_day, appointment.status) == (
        installer,
        tomorrow,
        "am",
        "booked",
    )
    assert appointment.booked_by == staff_a

    # --- 2. the installer: their login lands on today's appointments; tomorrow's is a tap away
    page = installer_phone
    page.goto("/accounts/login/")
    page.fill("#id_username", "zhang")
    page.fill("#id_password", PASSWORD)
    page.locator("main form button").click()
    page.wait_for_url(re.compile(r"/installer/$"))
    assert page.locator("main h1").inner_text() == zh("Today's appointments")
    assert page.locator("ol.visits li").count() == 0
    after = page.get_by_role("link", name=f"{zh('Day after')} →")
    tall_enough(after)
    after.click()
    page.wait_for_url(f"**/installer/?day={tomorrow.isoformat()}")
    card = page.locator("ol.visits li.card")
    assert card.count() == 1
    text = card.inner_text()
    assert "三组 12 号" in text and number in text and "空调 1 匹 × 1" in text
    assert "王秀英" not in page.content()  # the villager's name is masked on the installer's page
    start = card.get_by_role("link", name=zh("Start this visit"))
    tall_enough(start)
    shot(page, "install-02-installer-day")
    start.click()

    # --- 3. the visit: the goods taken from the station, on the way
    page.wait_for_url(f"**/installer/appointments/{appointment.pk}/")
    on_the_way = page.get_by_role("button", name=zh("I have the goods: on the way"))
    tall_enough(on_the_way)
    tall_enough(page.get_by_role("button", name=zh("Installed: hand over")))
    tall_enough(page.get_by_label(zh("Pickup code the villager tells you")))
    tall_enough(page.get_by_role("button", name=zh("Installation failed")))
    shot(page, "install-03-visit")
    on_the_way.click()
    page.wait_for_url(f"**/installer/?day={tomorrow.isoformat()}")
    assert page.locator(".messages .success").count() == 1
    appointment.refresh_from_db()
    assert appointment.status == "on_the_way"
    card = page.locator("ol.visits li.card")
    assert card.locator(".status-on_the_way").is_visible()
    fits_the_screen(page)
    card.get_by_role("link", name=zh("Installed or failed")).click()
    page.wait_for_url(f"**/installer/appointments/{appointment.pk}/")
    assert page.get_by_role("button", name=zh("I have the goods: on the way")).count() == 0

    # --- 4. a wrong code is refused on the visit page and changes nothing
    code = page.get_by_label(zh("Pickup code the villager tells you"))
    wrong = f"{(int(order.pickup_code) + 1) % 10**6:06d}"
    code.fill(wrong)
    with page.expect_response(f"**/installer/appointments/{appointment.pk}/") as refused:
        page.get_by_role("button", name=zh("Installed: hand over")).click()
    assert refused.value.status == 400
    alert = page.locator("main [role=alert]")
    alert.wait_for()
    assert alert.inner_text() == zh("The pickup code does not match this order.")
    shot(page, "install-04-wrong-code")
    order.refresh_from_db()
    appointment.refresh_from_db()
    assert (order.status, order.collected_at, appointment.status) == ("at_station", None, "on_the_way")
    assert not CommissionEntry.objects.filter(order=order).exists()

    # --- 5. the villager's code: installed, handed over, the commission earned now
    code = page.get_by_label(zh("Pickup code the villager tells you"))
    code.fill(order.pickup_code)
    page.get_by_role("button", name=zh("Installed: hand over")).click()
    page.wait_for_url(f"**/installer/?day={tomorrow.isoformat()}")
    success = page.locator(".messages .success")
    assert success.count() == 1
    assert success.inner_text() == zh("Installed: order %(number)s is handed over.", number=number)
    card = page.locator("ol.visits li.card")
    assert card.locator(".status-installed").is_visible()
    assert card.get_by_role("link").count() == 0  # nothing more to do on this visit
    shot(page, "install-05-installed")
    order.refresh_from_db()
    appointment.refresh_from_db()
    assert order.status == Order.Status.COLLECTED and order.collected_at is not None
    assert appointment.status == "installed" and appointment.done_at is not None
    accrual = CommissionEntry.objects.get(order=order, kind="accrual")
    assert accrual.created_by == installer_user and accrual.service_center == station_a
