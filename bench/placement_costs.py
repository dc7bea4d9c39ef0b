"""Queries and time per placement, per page: the figures behind the ordering issue's note.

Run against a seeded database (``python manage.py seed_demo`` first), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ruralshop RURALSHOP_ENV=development \\
        .venv/bin/python bench/placement_costs.py
It places real orders (with fresh idempotency keys) at the ``partner`` station.
Writes bench/results/placement_costs.json.  Single-threaded, in-process (Django's
test client, no HTTP server): a cost per request, not a throughput figure.
"""

import json
import os
import platform
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruralshop.settings")
os.environ.setdefault("RURALSHOP_ENV", "development")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from catalog.models import Product, Stock  # noqa: E402
from orders.models import Order  # noqa: E402
from partners.selectors import station_for_user  # noqa: E402

ROUNDS = int(os.environ.get("ROUNDS", "200"))


def main() -> None:
    settings.ALLOWED_HOSTS = ["*"]
    user = get_user_model().objects.get(username="partner")
    station = station_for_user(user)
    # One who gets an SMS: placement's full cost includes queueing it.
    villager = station.villagers.filter(sms_consent=True).exclude(phone="").first()
    skus = list(
        Product.objects.filter(stock__warehouse=station.warehouse, stock__on_hand__gt=100, price__lt=300)
        .order_by("sku")
        .values_list("sku", flat=True)[:3]
    )
    Stock.objects.filter(warehouse=station.warehouse, product__sku__in=skus).update(on_hand=10**8)
    client = Client()
    client.force_login(user)

    timings, queries, cpu = [], [], []
    for n in range(ROUNDS):
        data = {
            "villager": villager.pk,
            "sku": skus[: 1 + n % 3],
            "quantity": ["1"] * (1 + n % 3),
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
            "idempotency_key": uuid.uuid4().hex,
        }
        with CaptureQueriesContext(connection) as captured:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.post("/orders/new/", data)
            timings.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 302, response.content[:500]
        queries.append(len(captured))

    # The same through the station JSON API (what bench/run.py loads), with a token.
    token, _ = Token.objects.get_or_create(user=user)
    api = Client()  # no session cookie: a token client, as in bench/run.py
    api_timings, api_queries, api_cpu = [], [], []
    for n in range(ROUNDS):
        body = {
            "villager": villager.pk,
            "lines": [{"sku": sku, "quantity": 1} for sku in skus[: 1 + n % 3]],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        }
        with CaptureQueriesContext(connection) as captured:
            start, start_cpu = time.perf_counter(), time.process_time()
            response = api.post(
                "/api/v1/orders/",
                json.dumps(body),
                content_type="application/json",
                headers={"Authorization": f"Token {token.key}", "Idempotency-Key": uuid.uuid4().hex},
            )
            api_timings.append((time.perf_counter() - start) * 1000)
            api_cpu.append((time.process_time() - start_cpu) * 1000)
        assert response.status_code == 201, response.content[:500]
        api_queries.append(len(captured))

    pages = {}
    number = Order.objects.filter(service_center=station).values_list("number", flat=True).first()
    for url in ["/", "/orders/", f"/orders/{number}/", f"/orders/{number}/receipt/", "/villagers/", "/orders/new/"]:
        samples = []
        for _ in range(20):
            with CaptureQueriesContext(connection) as captured:
                start = time.perf_counter()
                assert client.get(url).status_code == 200
                samples.append((time.perf_counter() - start) * 1000)
        pages[url] = {"queries": len(captured), "median_ms": round(statistics.median(samples), 2)}

    result = {
        "database": connection.vendor,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "placements": ROUNDS,
        "placement_ms": {
            "min": round(min(timings), 2),
            "median": round(statistics.median(timings), 2),
            "p99": round(sorted(timings)[int(len(timings) * 0.99) - 1], 2),
            "max": round(max(timings), 2),
        },
        "placement_queries": {"min": min(queries), "max": max(queries)},
        "placement_cpu_ms_median": round(statistics.median(cpu), 2),
        "api_placement_ms": {
            "min": round(min(api_timings), 2),
            "median": round(statistics.median(api_timings), 2),
            "p99": round(sorted(api_timings)[int(len(api_timings) * 0.99) - 1], 2),
        },
        "api_placement_cpu_ms_median": round(statistics.median(api_cpu), 2),
        "api_placement_queries": {"min": min(api_queries), "max": max(api_queries)},
        "load_average": os.getloadavg()[0],
        "pages": pages,
    }
    out = Path(__file__).resolve().parent / "results" / "placement_costs.json"
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
