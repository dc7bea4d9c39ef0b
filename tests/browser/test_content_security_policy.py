"""The Content-Security-Policy breaks nothing: partner pages and the API docs render in Chromium with no violation.

Chromium reports each blocked script, style or image as a console error
("Refused to ... because it violates the following Content Security Policy
directive"); the ``phone`` fixture fails the test on any console error.  A
``securitypolicyviolation`` listener catches the ones that log nothing.
"""

import pytest

from .conftest import PASSWORD, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile + ":" + e.lineNumber);
});
"""


def violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations || []")


@pytest.fixture
def alice(transactional_db, staff_a, villager_a, fertilizer_stock):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    return staff_a


def test_partner_pages_run_under_the_policy(phone, alice):
    page = phone
    page.add_init_script(LISTEN)
    policies = []
    page.on(
        "response",
        lambda r: (
            policies.append(r.headers.get("content-security-policy")) if r.request.resource_type == "document" else None
        ),
    )

    log_in(page, alice.username)
    for path in ["/", "/orders/new/", "/villagers/", "/orders/"]:
        page.goto(path)
        assert violations(page) == [], path

    # htmx (a static file) works: searching villagers swaps in results as you type.
    page.goto("/villagers/")
    page.fill("input[name=q]", "王")
    page.locator("text=王建国").first.wait_for()
    assert violations(page) == []
    assert all(p and "script-src 'self'" in p for p in policies), policies


def test_the_api_docs_render_under_the_policy(phone, admin_user):
    page = phone
    page.add_init_script(LISTEN)
    admin_user.set_password(PASSWORD)
    admin_user.save()
    page.goto("/accounts/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button").click()
    page.wait_for_load_state()

    response = page.goto("/api/docs/")

    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.locator(".swagger-ui .info .title").wait_for()
    assert "Ruralshop API" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock").first.wait_for()  # the operations were drawn from the schema
    assert violations(page) == []


def test_the_admin_runs_under_the_policy(phone, admin_user, staff_a, villager_a):
    """Django's admin has no inline script either (its scripts carry their data in data- attributes)."""
    page = phone
    page.add_init_script(LISTEN)
    admin_user.set_password(PASSWORD)
    admin_user.save()
    page.goto("/admin/login/")
    page.fill("#id_username", admin_user.username)
    page.fill("#id_password", PASSWORD)
    page.locator("input[type=submit]").click()
    page.wait_for_url("**/admin/")

    for path in [
        "/admin/",
        "/admin/auth/user/",
        f"/admin/auth/user/{staff_a.pk}/change/",
        "/admin/partners/villager/",
        f"/admin/partners/villager/{villager_a.pk}/change/",
        "/admin/orders/order/",
    ]:
        page.goto(path)
        assert violations(page) == [], path
    # The changelist's JavaScript runs: ticking a row highlights it.
    page.goto("/admin/auth/user/")
    page.locator("input.action-select").first.check()
    assert page.locator("#result_list tr.selected").count() == 1
