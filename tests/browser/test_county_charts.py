"""The county charts in a real Chromium at the county's 1280 px and on a phone: every pygal image is drawn
under the Content-Security-Policy, nothing scrolls sideways, and the figures' tables reach the paper."""

import pytest

from tests.county.test_charts import county_a, now, station_a2, station_a3, world  # noqa: F401

from .conftest import ARTIFACTS, PASSWORD, shot
from .test_content_security_policy import LISTEN, violations
from .test_county import log_in_as_county

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def carol(county_manager):
    county_manager.set_password(PASSWORD)
    county_manager.save()
    return county_manager


def drawn(page) -> list[bool]:
    return page.eval_on_selector_all("img.chart", "imgs => imgs.map(i => i.complete && i.naturalWidth > 0)")


@pytest.mark.usefixtures("world")
@pytest.mark.parametrize("screen", ["desk", "phone"])
def test_the_county_sees_its_charts_and_can_print_their_figures(request, screen, carol):
    page = request.getfixturevalue(screen)
    page.add_init_script(LISTEN)
    log_in_as_county(page, carol.username)

    page.set_default_timeout(30_000)  # seven charts drawn on a shared machine
    page.goto("/county/charts/")

    assert drawn(page) == [True] * 8
    assert violations(page) == []
    assert page.locator(".chart-figures").first.bounding_box()["height"] <= 1  # for screen readers only
    shot(page, f"county-charts-weeks-{screen}")

    page.check("input[value=months]")
    page.select_option("#chart-station", "A-002")
    page.locator("form.chart-filter button").click()
    page.wait_for_url("**/county/charts/?period=months&station=A-002")
    assert drawn(page) == [True] * 8
    shot(page, f"county-charts-months-station-{screen}")

    page.emulate_media(media="print")
    assert page.locator(".chart-figures").first.bounding_box()["height"] > 100  # the table is on paper
    page.screenshot(path=str(ARTIFACTS / f"county-charts-print-{screen}.png"), full_page=True)  # paper is wider
    assert violations(page) == []
