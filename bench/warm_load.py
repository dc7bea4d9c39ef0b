"""A partner's page loaded cold and warm in Debian's Chromium: requests, bytes and time.

Run against `make run` (or any served Ruralshop with the demo):

    .venv/bin/python bench/warm_load.py [http://127.0.0.1:8000] [path ...]

It logs in as the demo partner (password from var/demo-password), opens each page once with an
empty cache (cold) and again in the same tab (warm, the browser's cache as a partner's phone keeps
it), and prints, per load, the requests that reached the server (a file the browser's cache answered
does not count), the static ones among them, and the bytes received (compressed, as on the wire).  With hashed static names (STATIC_HASHED, the
default of `make run` and production) a warm load fetches no static file.
"""

import sys
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
PAGES = sys.argv[2:] or ["/", "/orders/new/", "/cash/"]
PASSWORD = Path("var/demo-password").read_text().strip()


def load(page, cdp, url: str) -> dict:
    """One navigation: what reached the server (a file from the browser's cache does not)."""
    sent, cached = {}, set()

    def request(event):
        sent[event["requestId"]] = event["request"]["url"]

    def from_cache(event):
        cached.add(event["requestId"])

    def response(event):
        if event["response"].get("fromDiskCache") or event["response"].get("fromPrefetchCache"):
            cached.add(event["requestId"])

    received = {}

    def finished(event):
        received[event["requestId"]] = event["encodedDataLength"]

    cdp.on("Network.requestWillBeSent", request)
    cdp.on("Network.requestServedFromCache", from_cache)
    cdp.on("Network.responseReceived", response)
    cdp.on("Network.loadingFinished", finished)
    started = time.perf_counter()
    page.goto(url, wait_until="load")
    page.wait_for_timeout(300)  # the last loadingFinished events
    elapsed = time.perf_counter() - started
    for event, handler in [
        ("Network.requestWillBeSent", request),
        ("Network.requestServedFromCache", from_cache),
        ("Network.responseReceived", response),
        ("Network.loadingFinished", finished),
    ]:
        cdp.remove_listener(event, handler)
    to_server = [rid for rid in sent if rid not in cached]
    return {
        "requests": len(to_server),
        "static": sum(1 for rid in to_server if "/static/" in sent[rid]),
        "bytes": sum(received.get(rid, 0) for rid in to_server),
        "ms": round(elapsed * 1000),
    }


def main() -> None:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium")
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.goto(f"{BASE}/accounts/login/")
        page.fill("#id_username", "partner")
        page.fill("#id_password", PASSWORD)
        page.locator("main form button").click()
        page.wait_for_url(f"{BASE}/")
        print(f"{'page':<16} {'load':<5} {'requests':>8} {'static':>7} {'bytes':>8} {'ms':>6}")
        for path in PAGES:
            # A new context per page: the first load is cold (empty cache), the second warm.
            cold_context = browser.new_context(
                viewport={"width": 360, "height": 740}, storage_state=context.storage_state()
            )
            tab = cold_context.new_page()
            cdp = cold_context.new_cdp_session(tab)
            cdp.send("Network.enable")
            for kind in ("cold", "warm"):
                figures = load(tab, cdp, f"{BASE}{path}")
                print(
                    f"{path:<16} {kind:<5} {figures['requests']:>8} {figures['static']:>7} {figures['bytes']:>8} {figures['ms']:>6}"
                )
            cold_context.close()
        browser.close()


if __name__ == "__main__":
    main()
