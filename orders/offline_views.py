"""The offline counter: the new-order page that keeps working when the village link drops.

``/orders/offline/`` is a page shell: the script (``static/ruralshop/offline.js``) keeps the catalog and the
station's villagers in the browser (IndexedDB, refreshed from the station API with ETags whenever the link is
up), takes orders into a queue there with their idempotency keys and the moment they were taken, prints a
provisional slip, and sends them one by one through ``POST /api/v1/orders/`` when the link returns, showing
each one's outcome.  ``/orders/sw.js`` is the service worker (scope ``/orders/``) that keeps a copy of the
page and its static files, and answers the new-order page with that copy when the network fails: nothing
else of the site pretends to work offline.
"""

import hashlib

from django.http import HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from partners.access import station_required

# What the service worker keeps: the page and the static files it needs (hashed names in production).
ASSETS = ("ruralshop/app.css", "ruralshop/offline.js")


def _strings() -> dict:
    """The script's words, in the page's language (no inline script: a JSON data block)."""
    return {
        "offline": _("Offline: orders are kept on this device and sent when the link returns."),
        "online": _("Online."),
        "waiting": _("%(n)s order(s) waiting to be sent."),
        "sending": _("Sending the orders taken offline…"),
        "copy_age": _("Catalog and villagers as of %(when)s."),
        "no_copy": _("No copy of the catalog on this device yet: open this page once while online."),
        "placed": _("Placed: %(number)s"),
        "short": _("Stock ran out"),
        "price": _("Price changed: ¥%(old)s → ¥%(new)s"),
        "refused": _("Refused: %(reason)s"),
        "queued": _("Waiting to be sent"),
        "login": _("Log in again to send the orders (they stay on this device)."),
        "taken": _("Order taken: it is kept on this device until it is sent."),
        "need_villager": _("Choose the villager first."),
        "need_lines": _("Add at least one product."),
        "add": _("Add"),
        "remove": _("Remove"),
        "change": _("Change the order"),
        "cancel": _("Cancel it"),
        "accept": _("Accept the new total"),
        "slip": _("Print the slip"),
        "done": _("Done"),
        "available": _("%(n)s available"),
        "nothing_found": _("Nothing found."),
        "provisional": _("PROVISIONAL SLIP: not an order yet, no pickup code"),
        "reference": _("Reference"),
        "wait_for_code": _("The pickup code comes when the order is placed."),
    }


@station_required
@require_GET
def offline_counter(request):
    context = {
        "strings": _strings(),
        "api": {
            # the station API's contract (versioned paths)
            "catalog": reverse("api-catalog"),
            "villagers": reverse("api-villagers"),
            "orders": reverse("api-orders"),
            "receipt": reverse("order-receipt", args=["NUMBER"]),
        },
        "worker": reverse("order-offline-worker"),
    }
    return render(request, "orders/offline.html", context)


def _worker_source() -> str:
    page = reverse("order-offline")
    new_order = reverse("order-create")
    assets = [static(name) for name in ASSETS]
    version = hashlib.sha256("|".join([page, *assets]).encode()).hexdigest()[:12]
    urls = ", ".join(f'"{u}"' for u in [page, *assets])
    return f"""// Ruralshop's offline counter (orders/offline_views.py): keeps the page and its files, nothing else.
"use strict";
const CACHE = "ruralshop-counter-{version}";
const PAGE = "{page}";
const NEW_ORDER = "{new_order}";
const KEEP = [{urls}];
self.addEventListener("install", (event) => {{
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEEP)).then(() => self.skipWaiting()));
}});
self.addEventListener("activate", (event) => {{
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((n) => n.startsWith("ruralshop-counter-") && n !== CACHE)
      .map((n) => caches.delete(n)))).then(() => self.clients.claim())
  );
}});
self.addEventListener("fetch", (event) => {{
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && (url.pathname === PAGE || url.pathname === NEW_ORDER)) {{
    // The network first (the page of a logged-in partner, fresh); the kept copy of the counter when it fails.
    event.respondWith(
      fetch(request).then((response) => {{
        if (url.pathname === PAGE && response.ok && !response.redirected) {{
          const copy = response.clone();
          caches.open(CACHE).then((cache) => cache.put(PAGE, copy));
        }}
        return response;
      }}).catch(() => caches.match(PAGE))
    );
    return;
  }}
  if (KEEP.includes(url.pathname)) {{
    event.respondWith(caches.match(url.pathname).then((kept) => kept || fetch(request)));
  }}
}});
"""


@never_cache
@require_GET
def offline_worker(request):
    """The service worker's script (scope /orders/): public, as every script file is; it holds no data."""
    response = HttpResponse(_worker_source(), content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/orders/"
    return response
