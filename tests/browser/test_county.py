"""A county manager in a real Chromium: logs in, lands on the county workspace, goes on to the dispatch board.

At 360 px (the ``phone`` fixture) and at the county's 1280 px; nothing may scroll sideways.
"""

import re
from datetime import date
from decimal import Decimal

import pytest

from orders.models import CommissionStatement
from tests.factories import CountyManagerFactory, UserFactory

from .conftest import ARTIFACTS, PASSWORD, fits_the_screen, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def county_manager_with_work(transactional_db, station_a, warehouse_a):
    """carol, manager of 里叶村服务站's county, with a statement to approve."""
    user = UserFactory(username="carol", is_staff=True)
    user.set_password(PASSWORD)
    user.save()
    CountyManagerFactory(user=user, county=station_a.village.county)
    CommissionStatement.objects.create(service_center=station_a, month=date(2026, 10, 1), total=Decimal("12.34"))
    return user


def log_in_as_county(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button").click()
    page.wait_for_url(re.compile(r"/county/$"))


def test_a_county_manager_lands_on_the_workspace_and_goes_to_the_dispatch_board(phone, county_manager_with_work):
    page = phone

    log_in_as_county(page, "carol")

    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/county/"
    assert page.locator("main").get_by_text("里叶村服务站").count() == 1  # the statement waiting for approval
    shot(page, "county-01-workspace-360")
    page.locator("main a[href='/county/dispatch/']").first.click()
    page.wait_for_url(re.compile(r"/county/dispatch/$"))
    assert page.locator("header nav a[aria-current=page]").get_attribute("href") == "/county/dispatch/"
    shot(page, "county-02-dispatch-board-360")


def test_the_workspace_and_the_confirmation_fit_1280_and_360(phone, county_manager_with_work):
    page = phone
    log_in_as_county(page, "carol")

    page.locator("main a[href*='/approve/']").first.click()
    page.wait_for_url(re.compile(r"/approve/"))
    shot(page, "county-03-approve-confirmation-360")
    page.locator("main form button.primary").click()
    page.wait_for_url(re.compile(r"/county/$"))
    assert CommissionStatement.objects.get().status == CommissionStatement.Status.APPROVED

    page.set_viewport_size({"width": 1280, "height": 900})
    page.reload()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "county-04-workspace-1280.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    page.set_viewport_size({"width": 360, "height": 740})
    fits_the_screen(page)
