"""Real-browser tests: Playwright's sync API drives Debian's headless Chromium against pytest-django's live server.

Run them alone with ``pytest tests/browser`` (or ``-m browser``).  Screenshots of
every step go to ``test-artifacts/browser/`` for a person to look at.
"""

import os
import re
from pathlib import Path

import pytest

# The dispatch tests' county (a route through stations A and A2, a truck, bags of fertilizer, the way back):
# the browser tests of deliveries and pickups use the same world.
from tests.logistics.conftest import bag, big_truck, confirm, route, station_a2, way_back  # noqa: F401

# The cash book's tests take the payment of the orders tests' placed order (two bags of fertilizer, 336.00).
from tests.orders.conftest import order_placed, place_at_a  # noqa: F401

# Playwright's sync API runs an asyncio event loop in the main thread, and Django
# then refuses every ORM call from that thread ("SynchronousOnlyOperation: You
# cannot call this from an async context").  Nothing here is really async: the
# test body reads and writes the database only between browser steps, while the
# live server answers the browser's requests in its own thread, so the guard is
# a false alarm and is turned off for these tests.  Set before Django runs a query.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 900}
PASSWORD = "pw-for-the-browser"
TIMEOUT_MS = 10_000  # a step that takes longer than this on localhost is a failure, not slowness


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for all the tests of this package; each test gets its own context.

    Package scope, not session: only one sync Playwright can run in a thread at
    a time, and tests/e2e starts its own, so ours must be stopped when the last
    test of tests/browser is done.  (pytest runs tests/browser before tests/e2e.)
    """
    if not CHROMIUM.exists():
        pytest.skip(f"needs Debian's Chromium at {CHROMIUM} (apt-get install chromium); Playwright cannot download one")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


def _watched_page(request, browser, live_server, viewport: dict):
    """A fresh browser context of ``viewport`` on the live server, with its page (a generator for a fixture).

    The page collects JavaScript errors, failed static files and server errors;
    the test fails on any of them.  On failure a screenshot of the last page is kept.
    """
    context = browser.new_context(viewport=viewport, base_url=live_server.url, locale="zh-CN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    # Chromium also logs "Failed to load resource" for a deliberate 4xx page (a refused pickup
    # code is a 409); such responses are judged by the response handler below instead.
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console error: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 500 or (r.status >= 400 and "/static/" in r.url)
            else None
        ),
    )
    yield page
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"\W+", "-", request.node.name)
        suffix = "" if viewport == PHONE else f"-{viewport['width']}"
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}{suffix}.png"), full_page=True)
    context.close()
    assert not problems, problems


@pytest.fixture
def phone(request, browser, live_server):
    """A fresh 360x740 browser context (a cheap phone) on the live server, with its page."""
    yield from _watched_page(request, browser, live_server, PHONE)


@pytest.fixture
def desk(request, browser, live_server):
    """A fresh 1280x900 browser context (the county's office screen), watched like ``phone``."""
    yield from _watched_page(request, browser, live_server, DESK)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so ``phone`` knows whether the test failed."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def fits_the_screen(page) -> None:
    """Nothing may scroll sideways: on a 360 px phone, or on whatever screen the page has."""
    screen = page.viewport_size["width"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= screen, f"{page.url} is {width}px wide on a {screen}px screen"


def shot(page, name: str) -> None:
    """Check the page fits its screen (the phone's, or the desk's) and keep a full-page screenshot of it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    fits_the_screen(page)


def log_in(page, username: str, password: str = PASSWORD, screenshot: str = "") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if screenshot:
        shot(page, screenshot)
    page.locator("main form button").click()
    page.wait_for_url(re.compile(r"^[^?]*://[^/]+/$"))
