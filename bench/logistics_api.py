"""The logistics API alone: its data, a contract snapshot, an in-process profile, and the HTTP phase of run.py.

    .venv/bin/python bench/logistics_api.py setup            # seed, plan a county's day (once)
    .venv/bin/python bench/logistics_api.py snapshot DIR     # list, manifests, parcels as JSON files
    .venv/bin/python bench/logistics_api.py profile          # queries and ms per request; cProfile to var dir
    .venv/bin/python bench/logistics_api.py http             # run.py's measure(): bare list, list, manifests

Uses run.py's environment defaults and helpers (DATABASE_URL, REDIS_URL, BENCH_PORT, BENCH_SECONDS ...).
"""

import cProfile
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")  # bench.urls: /bench/list/ in-process too
os.environ.setdefault("LOGISTICS_API_RATE", "100000000/min")  # as run.py's gunicorn: the code, not the limit
from django.conf import settings  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench import run  # noqa: E402  (sets up Django)
from logistics.clients import create_client  # noqa: E402
from logistics.models import DeliveryBatch, LogisticsClient, Parcel  # noqa: E402
from partners.models import Warehouse  # noqa: E402

CLIENT_NAME = "bench-logistics-api"
STATE = Path(os.environ.get("RURALSHOP_VAR_DIR", run.ROOT / "var")) / "logistics_api_bench.json"


def setup() -> None:
    run.prepare()
    if not DeliveryBatch.objects.filter(parcel_count__gte=400).exists():
        run.dispatch_bench(int(os.environ.get("BENCH_ORDERS", "10000")))
    warehouse = Warehouse.objects.get(code="JD-WH")
    LogisticsClient.objects.filter(name=CLIENT_NAME).delete()
    key = create_client(name=CLIENT_NAME, warehouse_codes=[warehouse.code])[1]
    batches = list(
        DeliveryBatch.objects.filter(warehouse=warehouse).order_by("-parcel_count").values_list("code", "parcel_count")
    )
    big = batches[0]
    half = min(batches, key=lambda b: abs(b[1] - 500))
    small = batches[-1]
    state = {"key": key, "big": big, "half": half, "small": small}
    STATE.write_text(json.dumps(state))
    print(state)


def state() -> dict:
    return json.loads(STATE.read_text())


def client() -> Client:
    settings.ALLOWED_HOSTS = ["*"]
    return Client(HTTP_AUTHORIZATION=f"Token {state()['key']}")


def paths() -> dict:
    s = state()
    labels = list(
        Parcel.objects.filter(batch_stop__batch__code=s["half"][0])
        .order_by("label")
        .values_list("label", flat=True)[:3]
    )
    return {
        "bare_list": "/bench/list/",
        "list": "/api/v1/batches/",
        "list_planned": "/api/v1/batches/?status=planned&page_size=200",
        "manifest_small": f"/api/v1/batches/{s['small'][0]}/",
        "manifest_half": f"/api/v1/batches/{s['half'][0]}/",
        "manifest_big": f"/api/v1/batches/{s['big'][0]}/",
        **{f"parcel_{n}": f"/api/v1/parcels/{label}/" for n, label in enumerate(labels)},
    }


def snapshot(directory: str) -> None:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    c = client()
    for name, path in paths().items():
        if name == "bare_list":
            continue
        response = c.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        (out / f"{name}.json").write_bytes(response.content)
        # the list follows its cursor to the end
        page, body = 1, response.json()
        while isinstance(body, dict) and body.get("next"):
            response = c.get(body["next"])
            (out / f"{name}.page{page}.json").write_bytes(response.content)
            page, body = page + 1, response.json()
    print(f"wrote {len(list(out.iterdir()))} files to {out}")


def profile() -> None:
    c = client()
    rounds = int(os.environ.get("ROUNDS", "30"))
    report = {}
    for name, path in paths().items():
        c.get(path)  # warm
        reset_queries()  # request_started resets the log: start from empty so the capture counts right
        with CaptureQueriesContext(connection) as queries:
            c.get(path)
        captured = list(queries.captured_queries)  # read now: the next request resets the log
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            response = c.get(path)
            times.append((time.perf_counter() - start) * 1000)
        report[name] = {
            "queries": len(captured),
            "median_ms": round(statistics.median(times), 2),
            "min_ms": round(min(times), 2),
            "bytes": len(response.content),
        }
        print(name, report[name], flush=True)
        if os.environ.get("VERBOSE"):
            for q in captured:
                print("   ", q["sql"][:300])
    if os.environ.get("CPROFILE"):
        for name in os.environ["CPROFILE"].split(","):
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(rounds):
                c.get(paths()[name])
            profiler.disable()
            print(f"--- cProfile {name} ({rounds} requests)")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(45)


def http() -> None:
    s = state()
    key = {"Authorization": f"Token {s['key']}"}
    server = run.start_gunicorn()
    results = {}
    try:
        results["bare_list"] = run.measure("bare list", run.get_request("/bench/list/"))
        results["list"] = run.measure("logistics list", run.get_request("/api/v1/batches/", key))
        for size in ("half", "big"):
            code, parcels = s[size]
            results[f"manifest_{parcels}"] = run.measure(
                f"manifest of {parcels} parcels", run.get_request(f"/api/v1/batches/{code}/", key), clients=4
            )
    finally:
        server.terminate()
        server.wait(timeout=30)
    ratio = results["list"]["per_s"]["median"] / results["bare_list"]["per_s"]["median"]
    print(f"list / bare list = {ratio:.2f}; load {os.getloadavg()}")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "snapshot":
        snapshot(sys.argv[2])
    else:
        {"setup": setup, "profile": profile, "http": http}[command]()
