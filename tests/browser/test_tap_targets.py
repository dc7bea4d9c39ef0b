"""Every partner page at 360 px: each thing a finger taps is at least 44 x 44 px, and nothing scrolls sideways.

One browser, one login, the seeded demo (orders in every state, a closed day, produce lots, installations,
a campaign): the pages linked from the navigation and the dashboard, and the pages one step further that a
partner works on (an order, its receipt, a lot, a statement, the villager step of a new order).
"""

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from cashbook.models import DayClose
from logistics.models import BatchStop
from marketing.models import Campaign
from orders.models import CommissionStatement, Order, Refund
from partners.models import StationStaff
from produce.models import ProduceLot

from .conftest import ARTIFACTS, PASSWORD, fits_the_screen, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN = 44  # px, both ways: WCAG 2.5.5 (AAA), and what a thumb at the counter needs

# What a finger taps.  A checkbox or radio button is measured with its label (the label is its target);
# a label of its own is measured when it holds or names a checkbox or radio; a text field's label is
# not a target (its field is, and is measured).
OFFENDERS_JS = """
(min) => {
  const seen = new Set(), out = [];
  const visible = (el) => {
    const s = getComputedStyle(el);
    if (s.visibility === "hidden" || el.getClientRects().length === 0) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;  // .visually-hidden is 1 x 1: for screen readers, not fingers
  };
  const toggle = (el) => el && el.tagName === "INPUT" && (el.type === "checkbox" || el.type === "radio");
  const sel = 'a[href], button, input:not([type=hidden]), select, textarea, summary, label';
  for (let el of document.querySelectorAll(sel)) {
    if (el.tagName === "LABEL" && !toggle(el.control)) continue;
    if (toggle(el) && el.labels && el.labels.length) el = el.labels[0];
    if (seen.has(el) || !visible(el)) continue;
    seen.add(el);
    const r = el.getBoundingClientRect();
    if (r.width < min - 0.5 || r.height < min - 0.5) {
      const text = (el.innerText || el.value || el.getAttribute("aria-label") || el.name || "").trim();
      out.push(`<${el.tagName.toLowerCase()}> "${text.slice(0, 40)}" ${Math.round(r.width)}x${Math.round(r.height)}`);
    }
  }
  return out;
}
"""
# Never visited: they log out, change the language, download a file, or are not a partner's page.
NOT_A_PAGE = re.compile(r"^/(accounts/logout|logout|i18n|admin|api)/|\.csv$|/csv/$|^/(parcel|produce)-photos/")


# pages kept as screenshots in test-artifacts/browser/ for a person to look at
SHOTS = {
    "/": "dashboard",
    "/cash/": "cash-book",
    "/commissions/": "commissions",
    "/villagers/new/": "villager-form",
    "/orders/*/": "order",
    "/orders/*/receipt/": "receipt",
}


def offenders(page) -> list[str]:
    return page.evaluate(OFFENDERS_JS, MIN)


def links_on(page) -> set[str]:
    hrefs = page.eval_on_selector_all("header a[href], main a[href]", "els => els.map(a => a.href)")
    paths = set()
    for href in hrefs:
        url = urlsplit(href)
        if url.netloc == urlsplit(page.url).netloc and not NOT_A_PAGE.search(url.path):
            paths.add(url.path + (f"?{url.query}" if url.query else ""))
    return paths


@pytest.fixture
def demo():
    """The demo, seeded once (tens of seconds): its partner's station and the pages one step further in."""
    call_command("seed_demo", "--password", PASSWORD, stdout=StringIO())
    station = StationStaff.objects.select_related("service_center").get(user__username="partner").service_center
    orders = Order.objects.filter(service_center=station).order_by("-pk")
    deeper = [
        "/orders/offline/",
        "/cash/close/",
        "/cash/remittances/new/",
        "/villagers/new/",
        "/produce/new/",
        "/installations/",
        "/going-back/",
        "/campaigns/new/",
    ]
    if stop := BatchStop.objects.filter(service_center=station, batch__status="in_transit").first():
        deeper.append(f"/deliveries/{stop.pk}/receive/")
    for status in ("placed", "confirmed", "at_station", "collected", "returned"):
        if order := orders.filter(status=status).first():
            deeper.append(f"/orders/{order.number}/")
    if order := orders.filter(status="collected").first():
        deeper.append(f"/orders/{order.number}/receipt/")
    if refund := Refund.objects.filter(order__service_center=station, paid_at=None).first():
        deeper.append(f"/refunds/{refund.pk}/pay/")
    if close := DayClose.objects.filter(station=station).first():
        deeper.append(f"/cash/closes/{close.pk}/")
    if statement := CommissionStatement.objects.filter(service_center=station).first():
        deeper.append(f"/commissions/{statement.pk}/")
    for status in ProduceLot.objects.filter(station=station).values_list("status", flat=True).distinct():
        lot = ProduceLot.objects.filter(station=station, status=status).first()
        deeper.append(f"/produce/{lot.number}/")
    if campaign := Campaign.objects.filter(service_center=station).first():
        deeper.append(f"/campaigns/{campaign.pk}/")
    villager = station.villagers.order_by("pk").first()
    deeper += [f"/villagers/{villager.pk}/", f"/villagers/{villager.pk}/edit/"]
    return station, villager, deeper


def shape(path: str) -> str:
    """/orders/261204-GQEZK-FSA6T/ and /orders/261201-763RC-BUF4H/ are one page to look at: /orders/*/."""
    return re.sub(r"/[^/]*\d[^/]*/", "/*/", path.split("?")[0])


def test_it_gives_every_partner_page_44px_targets_and_no_sideways_scroll(phone, demo):
    station, villager, deeper = demo
    page = phone
    log_in(page, "partner")
    found: dict[str, list[str]] = {}
    wide: list[str] = []
    seen: set[str] = set()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def check(label: str, screenshot: str = "") -> None:
        if bad := offenders(page):
            found[label] = bad
        if screenshot:
            page.screenshot(path=str(ARTIFACTS / f"tap-targets-{screenshot}.png"), full_page=True)
        try:
            fits_the_screen(page)
        except AssertionError as e:
            wide.append(str(e))

    def visit(path: str) -> None:
        response = page.goto(path)
        assert response.ok, f"{path}: {response.status}"
        page.wait_for_load_state("networkidle")  # the dashboard's tiles come by htmx
        check(path, SHOTS.get(shape(path), ""))

    # given the dashboard, and every page its links and the navigation lead to (one of each shape)
    visit("/")
    seen.add("/")
    for path in sorted(links_on(page)) + deeper:
        if shape(path) not in seen or path in deeper:
            seen.add(shape(path))
            visit(path)
    # and the new order's villager step once a villager is chosen, with its 更换 (Change) link
    page.goto("/orders/new/")
    page.fill("#villager-q", villager.name)
    page.locator("#villager-choices a", has_text=villager.name).first.click()
    page.locator("[data-change-villager]").wait_for()
    check("/orders/new/ (a villager chosen)", "order-form")
    # and a few pages in English, whose words are longer: the navigation and buttons wrap, nothing scrolls
    page.locator("header button[name=language][value=en]").click()
    page.wait_for_load_state("networkidle")
    for path in ("/", "/cash/", "/orders/new/"):
        page.goto(path)
        page.wait_for_load_state("networkidle")
        check(f"{path} (English)", "dashboard-en" if path == "/" else "")

    report = "\n".join(f"{path}:\n  " + "\n  ".join(bad) for path, bad in found.items())
    assert not found, f"targets under {MIN} x {MIN} px:\n{report}"
    assert not wide, wide
    assert {"/orders/new/", "/cash/", "/insights/", "/campaigns/", "/installations/", "/refunds/"} <= seen, seen
    print(f"{len(seen)} pages:", " ".join(sorted(seen)))
