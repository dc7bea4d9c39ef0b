"""make bench: Ruralshop's headline figures, each as a ratio against a ceiling measured in the same run.

Against PostgreSQL and Redis (DATABASE_URL / REDIS_URL, default: this machine's,
database ``ruralshop_bench``), behind gunicorn, never the development server.

1. placement: POST /api/v1/orders/ from 16 concurrent clients vs a bare DRF one-row INSERT
2. partner pages: dashboard, order list, villager search, order detail (latency over HTTP)
3. dispatch: a county's day of 10,000 confirmed orders vs the set-based UPDATE floor, without and with
   1,000 goods returns waiting at its stations (the return leg), and with 2,000 produce lots bought there
4. logistics API: GET /api/v1/batches/ vs a bare DRF list of 50 rows; a large manifest
5. SMS outbox: messages/s through a real Celery worker at concurrency 1 and 2 (bench/sms.py)

Writes bench/results/bench-<timestamp>.json and the tables of docs/PERFORMANCE.md
(between the BENCH markers).  Settings: BENCH_SECONDS (per phase, default 20),
BENCH_REPEATS (default 3), BENCH_CLIENTS (default 16), BENCH_ORDERS (dispatch, default 10000),
BENCH_GOODS (goods waiting on the dispatch day, default 1000), BENCH_LOTS (produce lots ready on the
dispatch day, default 2000), BENCH_SMS (messages, default 5000).
BENCH_ONLY=dispatch runs the dispatch phase alone (bench/results/dispatch-<timestamp>.json and the
dispatch block of docs/PERFORMANCE.md).
"""

import asyncio
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ruralshop_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("RURALSHOP_ENV", "development")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")  # serves bench.urls
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not how it runs

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import httpx  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import F, Sum  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.sms import sms_bench  # noqa: E402
from catalog.models import Product, Stock  # noqa: E402
from logistics import services as dispatch  # noqa: E402
from logistics.clients import create_client  # noqa: E402
from logistics.models import DeliveryBatch, Pickup, Route, Vehicle  # noqa: E402
from orders.models import GoodsReturn, Order  # noqa: E402
from partners.models import ServiceCenter, Warehouse  # noqa: E402
from partners.selectors import station_for_user  # noqa: E402
from produce.models import ProduceKind, ProduceLot  # noqa: E402

SECONDS = float(os.environ.get("BENCH_SECONDS", "20"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
DISPATCH_ORDERS = int(os.environ.get("BENCH_ORDERS", "10000"))
DISPATCH_GOODS = int(os.environ.get("BENCH_GOODS", "1000"))  # goods returns waiting at the county's stations
DISPATCH_LOTS = int(os.environ.get("BENCH_LOTS", "2000"))  # produce lots bought and ready at the county's stations
ONLY = os.environ.get("BENCH_ONLY", "")  # "dispatch": that phase alone (about a minute)
SMS_MESSAGES = int(os.environ.get("BENCH_SMS", "5000"))
PORT = int(os.environ.get("BENCH_PORT", "8765"))
PROVINCE = os.environ.get("BENCH_PROVINCE", "1") != "0"  # the province phases (bench/province.py)
PROVINCE_SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PROVINCE_SECONDS = float(os.environ.get("BENCH_PROVINCE_SECONDS", str(min(SECONDS, 10))))
BASE = f"http://127.0.0.1:{PORT}"
HOT_STOCK = 300  # the contended product: every client wants it, only this many exist


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def spread(values: list[float]) -> dict:
    return {"min": round(min(values), 1), "median": round(statistics.median(values), 1), "max": round(max(values), 1)}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


# --- preparation ------------------------------------------------------------------------


def prepare() -> dict:
    call_command("migrate", verbosity=0)
    if not ServiceCenter.objects.exists():
        log("seeding the demo network, catalog and orders")
        call_command("seed_demo", "--password", "bench-password", stdout=open(os.devnull, "w"))  # noqa: SIM115
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_row (id bigserial PRIMARY KEY, name text, value int)")
        cursor.execute("SELECT count(*) FROM bench_row")
        if cursor.fetchone()[0] < 50:
            cursor.execute("INSERT INTO bench_row (name, value) SELECT 'row', g FROM generate_series(1, 50) g")
    user = get_user_model().objects.get(username="partner")
    station = station_for_user(user)
    token, _ = Token.objects.get_or_create(user=user)
    skus = list(
        Product.objects.filter(price__lt=300, is_active=True).order_by("sku").values_list("sku", flat=True)[:30]
    )
    hot = skus.pop()
    Stock.objects.filter(warehouse=station.warehouse, product__sku__in=skus).update(on_hand=F("reserved") + 10**7)
    Stock.objects.filter(warehouse=station.warehouse, product__sku=hot).update(on_hand=F("reserved") + HOT_STOCK)
    villagers = list(station.villagers.values_list("pk", flat=True))
    session = Client()
    session.force_login(user)
    key = create_client(name=f"bench-{uuid.uuid4().hex[:6]}", warehouse_codes=[station.warehouse.code])[1]
    return {
        "token": token.key,
        "station": station,
        "skus": skus,
        "hot": hot,
        "villagers": villagers,
        "session": session.cookies["sessionid"].value,
        "logistics_key": key,
    }


# --- the server -------------------------------------------------------------------------------


def start_gunicorn(extra_env: dict | None = None) -> subprocess.Popen:
    # The per-client throttle would cap the logistics phase: measure the code, not the limit.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",  # bench.urls: the reference endpoints too
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "LOGISTICS_API_RATE": "100000000/min",
    }
    env.update(extra_env or {})  # the province phase serves another database
    workers = os.environ.get("BENCH_WORKERS", str((os.cpu_count() or 2) * 2))
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "ruralshop.wsgi:application", "-b", f"127.0.0.1:{PORT}", "-w", workers],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            if httpx.get(f"{BASE}/healthz/", timeout=1).status_code in (200, 503):
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


# --- load ----------------------------------------------------------------------------------------


async def hammer(make_request, seconds: float, clients: int) -> dict:
    """``clients`` concurrent loops calling ``make_request(client)`` for ``seconds``; latencies in ms by status."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds

    async def loop():
        async with httpx.AsyncClient(base_url=BASE, timeout=30) as client:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await make_request(client)
                    code = response.status_code
                except httpx.HTTPError:
                    code = 599
                latencies.append((time.perf_counter() - start) * 1000)
                statuses[code] = statuses.get(code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 0.50),
        "p99_ms": percentile(latencies, 0.99),
        "statuses": statuses,
    }


def placement_request(ctx: dict):
    rng = random.Random()
    headers = {"Authorization": f"Token {ctx['token']}"}

    async def request(client):
        skus = rng.sample(ctx["skus"], k=rng.choice([1, 2, 3]))
        if rng.random() < 0.2:
            skus[0] = ctx["hot"]  # contention on one product: nothing may be oversold
        body = {
            "villager": rng.choice(ctx["villagers"]),
            "lines": [{"sku": sku, "quantity": rng.choice([1, 1, 2])} for sku in skus],
            "delivery_method": "station_pickup",
            "payment_method": "cash_at_station",
        }
        return await client.post("/api/v1/orders/", json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex})

    return request


def get_request(path: str, headers: dict | None = None):
    async def request(client):
        return await client.get(path, headers=headers or {})

    return request


def post_request(path: str):
    async def request(client):
        return await client.post(path)

    return request


def measure(name: str, make_request, *, clients: int = CLIENTS, seconds: float | None = None) -> dict:
    runs = []
    for n in range(REPEATS):
        result = asyncio.run(hammer(make_request, seconds or SECONDS, clients))
        log(
            f"{name} run {n + 1}: {result['per_s']:.0f}/s p50 {result['p50_ms']:.1f} ms p99 {result['p99_ms']:.1f} ms {result['statuses']}"
        )
        runs.append(result)
    errors = sum(count for run in runs for code, count in run["statuses"].items() if code >= 500)
    return {
        "per_s": spread([r["per_s"] for r in runs]),
        "p50_ms": spread([r["p50_ms"] for r in runs]),
        "p99_ms": spread([r["p99_ms"] for r in runs]),
        "requests": sum(r["requests"] for r in runs),
        "errors_5xx": errors,
        "statuses": {
            str(k): sum(r["statuses"].get(k, 0) for r in runs) for k in {c for r in runs for c in r["statuses"]}
        },
    }


def hot_stock(ctx: dict) -> Stock:
    return Stock.objects.get(warehouse=ctx["station"].warehouse, product__sku=ctx["hot"])


def stock_conservation(ctx: dict, before: Stock, since) -> dict:
    """The hot product's new reservations equal what the orders placed in the run hold, and never exceed its stock."""
    after = hot_stock(ctx)
    held = (
        Order.objects.filter(
            warehouse=ctx["station"].warehouse, created_at__gte=since, lines__product__sku=ctx["hot"]
        ).aggregate(q=Sum("lines__quantity"))["q"]
        or 0
    )
    return {
        "hot_on_hand": after.on_hand,
        "hot_reserved_in_run": after.reserved - before.reserved,
        "held_by_orders_of_the_run": held,
        "oversold": max(0, after.reserved - after.on_hand),
        "conserved": after.reserved - before.reserved == held,
    }


# --- dispatch -------------------------------------------------------------------------------------


def _county(warehouse: Warehouse) -> list[int]:
    """Every route leaves every day with 40 big vehicles; the county's stations on a route (ids).

    All but the ``partner`` station, whose pages the HTTP phases measure: 80,000 orders a run would
    otherwise pile up there run after run (the pages against a million orders: the province phases).
    """
    routes = list(Route.objects.filter(warehouse=warehouse))
    for route in routes:
        route.departure_weekdays = "1234567"
        route.save()
    while Vehicle.objects.filter(warehouse=warehouse, plate__startswith="BENCH").count() < 40:
        n = Vehicle.objects.filter(plate__startswith="BENCH").count()
        vehicle = Vehicle.objects.create(warehouse=warehouse, plate=f"BENCH{n:03d}", capacity_kg=15000, capacity_m3=60)
        routes[n % len(routes)].vehicles.add(vehicle)
    pages = station_for_user(get_user_model().objects.get(username="partner"))
    return list(
        ServiceCenter.objects.filter(village__county=warehouse.county, route_stop__isnull=False)
        .exclude(pk=pages.pk)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _free_day(warehouse: Warehouse) -> date:
    """A day ahead with no run of the warehouse yet: every vehicle free (earlier runs planned other days)."""
    while True:
        day = timezone.localdate() + timedelta(days=30 + random.randrange(3000))
        if not DeliveryBatch.objects.filter(warehouse=warehouse, dispatch_date=day).exists():
            return day


def _insert_orders(warehouse: Warehouse, stations: list[int], day: date, n_orders: int) -> list[int]:
    """n confirmed orders spread over the stations, confirmed the day before ``day``; their ids."""
    user_id = get_user_model().objects.get(username="partner").pk
    confirmed_at = datetime.combine(day - timedelta(days=1), datetime.min.time())
    tag = uuid.uuid4().hex[:8]
    with connection.cursor() as cursor:
        # Set-based generation: one INSERT ... SELECT for all orders (no ORM call per row).
        cursor.execute(
            """
            INSERT INTO orders_order (number, service_center_id, villager_id, placed_by_id, warehouse_id, status,
                delivery_method, payment_method, total, commission_total, item_count, weight_kg, volume_m3,
                pickup_code, idempotency_key, request_hash, notes, created_at, updated_at, confirmed_at)
            SELECT 'B' || %(tag)s || '-' || g, s.id, v.id, %(user)s, %(warehouse)s, 'confirmed',
                'station_pickup', 'cash_at_station', 100, 3, 1, 5 + (g %% 60), 0.01 + (g %% 50) / 1000.0,
                lpad((g %% 1000000)::text, 6, '0'), 'bench-' || %(tag)s || '-' || g, '', '', now(), now(),
                %(confirmed_at)s
            FROM generate_series(1, %(n)s) g
            JOIN LATERAL (SELECT id FROM unnest(%(stations)s::bigint[]) WITH ORDINALITY AS t(id, i)
                          WHERE i = 1 + g %% %(n_stations)s) s ON true
            JOIN LATERAL (SELECT id FROM partners_villager WHERE service_center_id = s.id LIMIT 1) v ON true
            """,
            {
                "tag": tag,
                "user": user_id,
                "warehouse": warehouse.pk,
                "n": n_orders,
                "stations": stations,
                "n_stations": len(stations),
                "confirmed_at": timezone.make_aware(confirmed_at),
            },
        )
    return list(Order.objects.filter(number__startswith=f"B{tag}-").values_list("pk", flat=True))


BENCH_GOODS = "bench goods"  # the reason on the goods returns the bench makes (to find its leftovers)


def _clear_bench_goods(warehouse: Warehouse) -> int:
    """The goods earlier bench runs left at the stations: gone, so each day plans exactly its own goods.

    Only the bench's own rows, still waiting: left for no room, or loaded on a pickup of a bench day
    (its runs never leave, so in a real county those goods would be on their way by now).  Their
    pickups go with them.
    """
    leftovers = GoodsReturn.objects.filter(
        reason__startswith=BENCH_GOODS, status=GoodsReturn.Status.WAITING, order__warehouse=warehouse
    )
    Pickup.objects.filter(goods_return__in=leftovers).delete()
    return leftovers.delete()[1].get("orders.GoodsReturn", 0)


def _insert_goods(warehouse: Warehouse, stations: list[int], n_goods: int) -> list[int]:
    """n goods returns waiting at the stations, as the way back makes them, in one statement; their ids.

    Each on an earlier order of 1-2 lines of real products (one unit each): 6 in 10 returned by the
    villager (the order ``returned``, refund and commission of the lines taken back), 2 refused and 1
    not collected (the order ``going_back``), 1 damaged (the order an ``exception``).  Weight and volume
    are the products', as ``returns._set_size`` sets them.
    """
    user_id = get_user_model().objects.get(username="partner").pk
    products = list(Product.objects.filter(is_active=True).order_by("pk").values_list("pk", flat=True))
    tag = uuid.uuid4().hex[:8]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH picks AS (
                SELECT g, k, p.id AS product_id, p.price, p.weight_kg, p.volume_m3,
                       CASE WHEN g %% 10 < 6 THEN 'return' WHEN g %% 10 < 8 THEN 'refused'
                            WHEN g %% 10 = 8 THEN 'uncollected' ELSE 'damaged' END AS kind
                FROM generate_series(1, %(n)s) g
                CROSS JOIN LATERAL generate_series(1, 1 + g %% 2) k
                JOIN LATERAL (SELECT id FROM unnest(%(products)s::bigint[]) WITH ORDINALITY AS t(id, i)
                              WHERE i = 1 + (g * 7 + k * 13) %% %(n_products)s) pick ON true
                JOIN orders_product p ON p.id = pick.id
            ), per_order AS (
                SELECT g, min(kind) AS kind, sum(price) AS total, round(sum(price) * 0.03, 2) AS commission,
                       count(*) AS items, sum(weight_kg) AS kg, sum(volume_m3) AS m3
                FROM picks GROUP BY g
            ), o AS (
                INSERT INTO orders_order (number, service_center_id, villager_id, placed_by_id, warehouse_id, status,
                    delivery_method, payment_method, total, commission_total, item_count, weight_kg, volume_m3,
                    pickup_code, idempotency_key, request_hash, notes, created_at, updated_at, confirmed_at,
                    collected_at, paid_at)
                SELECT 'G' || %(tag)s || '-' || g, s.id, v.id, %(user)s, %(warehouse)s,
                    CASE kind WHEN 'return' THEN 'returned' WHEN 'damaged' THEN 'exception' ELSE 'going_back' END,
                    'station_pickup', 'cash_at_station', total, commission, items, kg, m3,
                    lpad((g %% 1000000)::text, 6, '0'), 'bench-goods-' || %(tag)s || '-' || g, '', '',
                    now() - interval '5 days', now(), now() - interval '4 days',
                    CASE kind WHEN 'return' THEN now() - interval '2 days' END,
                    CASE kind WHEN 'return' THEN now() - interval '2 days' END
                FROM per_order
                JOIN LATERAL (SELECT id FROM unnest(%(stations)s::bigint[]) WITH ORDINALITY AS t(id, i)
                              WHERE i = 1 + g %% %(n_stations)s) s ON true
                JOIN LATERAL (SELECT id FROM partners_villager WHERE service_center_id = s.id LIMIT 1) v ON true
                RETURNING id, number
            ), o_g AS (
                SELECT id, split_part(number, '-', 2)::int AS g FROM o
            ), l AS (
                INSERT INTO orders_orderline (order_id, product_id, quantity, unit_price, line_total,
                    commission_rate, commission_amount, returned_quantity)
                SELECT o_g.id, picks.product_id, 1, picks.price, picks.price, 3, round(picks.price * 0.03, 2),
                    CASE picks.kind WHEN 'return' THEN 1 ELSE 0 END
                FROM picks JOIN o_g USING (g)
                RETURNING id, order_id, line_total, commission_amount
            ), r AS (
                INSERT INTO orders_goodsreturn (order_id, kind, status, reason, weight_kg, volume_m3,
                    waiting_reason, created_by_id, created_at)
                SELECT o_g.id, per_order.kind, 'waiting', %(reason)s, per_order.kg, per_order.m3, '', %(user)s,
                    now() - interval '1 day'
                FROM per_order JOIN o_g USING (g)
                RETURNING id, order_id, kind
            )
            INSERT INTO orders_goodsreturnline (goods_return_id, order_line_id, quantity, reason, commission_back,
                refund_back, sellable_quantity, damaged_quantity)
            SELECT r.id, l.id, 1, CASE r.kind WHEN 'return' THEN 'not_wanted' ELSE '' END,
                CASE r.kind WHEN 'return' THEN l.commission_amount ELSE 0 END,
                CASE r.kind WHEN 'return' THEN l.line_total ELSE 0 END, 0, 0
            FROM l JOIN r USING (order_id)
            """,
            {
                "tag": tag,
                "user": user_id,
                "warehouse": warehouse.pk,
                "n": n_goods,
                "products": products,
                "n_products": len(products),
                "stations": stations,
                "n_stations": len(stations),
                "reason": f"{BENCH_GOODS} {tag}",
            },
        )
    return list(GoodsReturn.objects.filter(reason=f"{BENCH_GOODS} {tag}").values_list("pk", flat=True))


BENCH_LOT = "BL"  # the number prefix of the produce lots the bench makes (to find its leftovers)
# The kinds the bench buys (its own, by name, in the county): name, unit, kg and m³ per unit, perishable, keeps
# (days), and the lots' quantities (from, span): eggs by the piece (3.6-18 kg a lot), tofu (3-15 kg), and
# potatoes and dried corn, which keep (10-40 kg).  Mean about 17.5 kg a lot; half of the lots perishable.
BENCH_KINDS = (
    ("bench 鸡蛋", "piece", "0.060", "0.0001", True, 7, 60, 241),
    ("bench 豆腐", "kg", "1.000", "0.0012", True, 2, 3, 13),
    ("bench 土豆", "kg", "1.000", "0.0015", False, 30, 10, 31),
    ("bench 玉米", "kg", "1.000", "0.0016", False, 90, 10, 31),
)


def _clear_bench_lots(warehouse: Warehouse) -> int:
    """The lots earlier bench days left bought at the county's stations (and their pickups: the runs never leave)."""
    leftovers = ProduceLot.objects.filter(
        number__startswith=BENCH_LOT, status=ProduceLot.Status.ACCEPTED, station__village__county=warehouse.county
    )
    Pickup.objects.filter(lot_number__in=leftovers.values("number")).delete()
    return leftovers.delete()[1].get("produce.ProduceLot", 0)


def _bench_kinds(warehouse: Warehouse) -> list[ProduceKind]:
    kinds = []
    for name, unit, kg, m3, perishable, keeps, _lo, _span in BENCH_KINDS:
        kind, _ = ProduceKind.objects.update_or_create(
            county=warehouse.county,
            name=name,
            defaults={
                "unit": unit,
                "kg_per_unit": kg,
                "m3_per_unit": m3,
                "perishable": perishable,
                "keeps_days": keeps,
                "commission_rate": "2.00",
            },
        )
        kinds.append(kind)
    return kinds


def _insert_lots(warehouse: Warehouse, stations: list[int], day: date, n_lots: int) -> list[int]:
    """n produce lots bought by the county (accepted at a price), ready at the stations by ``day``; their ids.

    One statement.  Round the kinds (two perishable, two that keep), the stations (a villager of each) and
    the days they got ready (``day`` and the six before it), as a county's week of buying leaves them.
    """
    user_id = get_user_model().objects.get(username="partner").pk
    kinds = _bench_kinds(warehouse)
    tag = uuid.uuid4().hex[:8]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO produce_producelot (number, station_id, villager_id, kind_id, quantity, grade_claimed,
                price_asked, ready_on, certificate_no, photo, photo_thumbnail, status, price, decline_reason,
                received_grade, commission_rate, listed_by_id, decided_by_id, created_at, decided_at, paid_via,
                payment_reference, no_room_run)
            SELECT %(prefix)s || %(tag)s || '-' || g, s.id, v.id, k.id, k.lo + (g * 37) %% k.span, '一级', 1.00,
                %(day)s::date - (g * 3) %% 7, '', '', '', 'accepted', 0.80, '', '', 2.00, %(user)s, %(user)s,
                now() - interval '8 days', now() - interval '7 days', '', '', ''
            FROM generate_series(1, %(n)s) g
            JOIN LATERAL (SELECT id FROM unnest(%(stations)s::bigint[]) WITH ORDINALITY AS t(id, i)
                          WHERE i = 1 + g %% %(n_stations)s) s ON true
            JOIN LATERAL (SELECT id FROM partners_villager WHERE service_center_id = s.id LIMIT 1) v ON true
            JOIN LATERAL (SELECT id, lo, span FROM unnest(%(kinds)s::bigint[], %(lo)s::int[], %(span)s::int[])
                              WITH ORDINALITY AS t(id, lo, span, i)
                          WHERE i = 1 + g %% %(n_kinds)s) k ON true
            """,
            {
                "prefix": BENCH_LOT,
                "tag": tag,
                "user": user_id,
                "day": day,
                "n": n_lots,
                "stations": stations,
                "n_stations": len(stations),
                "kinds": [kind.pk for kind in kinds],
                "lo": [spec[6] for spec in BENCH_KINDS],
                "span": [spec[7] for spec in BENCH_KINDS],
                "n_kinds": len(kinds),
            },
        )
    return list(ProduceLot.objects.filter(number__startswith=f"{BENCH_LOT}{tag}-").values_list("pk", flat=True))


def _update_floor(ids: list[int], tries: int = 3) -> float:
    """The floor: the one UPDATE every plan must at least do, rolled back; the best of ``tries``.

    One try swings by 2x from one day to the next on this machine (0.33-0.62 s for the same 10,000 rows).
    """
    best = float("inf")
    for _ in range(tries):
        start = time.perf_counter()
        with transaction.atomic():
            Order.objects.filter(pk__in=ids, status="confirmed").update(status="batched", updated_at=timezone.now())
            best = min(best, time.perf_counter() - start)
            transaction.set_rollback(True)
    return best


# What a plan reads and writes.  This machine's PostgreSQL runs with autovacuum off (SHOW autovacuum),
# so nothing would ever refresh their statistics: on a fresh or grown database the planner then picks
# sequential scans (the parcels of 400 orders: 100 ms instead of 3).  In production autovacuum analyzes a
# table once a tenth of it changed; the bench does it explicitly, outside the timing.
PLANNED_TABLES = (
    "orders_order",
    "orders_orderevent",
    "orders_goodsreturn",
    "logistics_parcel",
    "logistics_pickup",
    "logistics_batchstop",
    "logistics_deliverybatch",
    "logistics_unplannedorder",
    "produce_producelot",
)


def _analyze(*tables: str, vacuum: bool = False) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"{'VACUUM ' if vacuum else ''}ANALYZE {', '.join(tables)}")


def _backend_cpu() -> float:
    """CPU seconds the connection's PostgreSQL backend has used (/proc: the server runs on this machine)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _county_day(
    warehouse: Warehouse, stations: list[int], n_orders: int, n_goods: int, *, n_lots: int = 0, count: bool
) -> dict:
    """One county's day (``n_goods`` goods returns waiting, ``n_lots`` produce lots ready), planned in-process and
    committed, as in production.

    Timed against its UPDATE floor; or (``count``) its queries counted, with what runs after each
    run's commit (the SMS and webhook outbox), as the fault drills count them.
    """
    _clear_bench_goods(warehouse)  # exactly this day's goods and lots wait
    _clear_bench_lots(warehouse)
    day = _free_day(warehouse)
    out: dict = {"load": round(os.getloadavg()[0], 1)}
    ids = _insert_orders(warehouse, stations, day, n_orders)
    goods = _insert_goods(warehouse, stations, n_goods) if n_goods else []
    lots = _insert_lots(warehouse, stations, day, n_lots) if n_lots else []
    _analyze(*PLANNED_TABLES)
    if count:
        with CaptureQueriesContext(connection) as queries:
            report = dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=day)
        out["queries"] = len(queries)
    else:
        out["update_floor_s"] = _update_floor(ids)
        backend = _backend_cpu()
        start, cpu = time.perf_counter(), time.process_time()
        report = dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=day)
        out["plan_s"] = time.perf_counter() - start
        out["cpu_s"] = time.process_time() - cpu
        out["pg_cpu_s"] = _backend_cpu() - backend
    batches = DeliveryBatch.objects.filter(warehouse=warehouse, dispatch_date=day)
    on_runs = Pickup.objects.filter(batch_stop__batch__in=batches)
    loaded = on_runs.filter(goods_return__isnull=False)
    waiting = GoodsReturn.objects.filter(pk__in=goods, status=GoodsReturn.Status.WAITING).exclude(
        pk__in=loaded.values("goods_return_id")
    )
    lots_of_day = ProduceLot.objects.filter(pk__in=lots)
    lots_on = lots_of_day.filter(number__in=on_runs.exclude(lot_number="").values("lot_number"))
    lots_left = lots_of_day.exclude(pk__in=lots_on.values("pk"))
    lot_kg = F("quantity") * F("kind__kg_per_unit")
    out.update(
        {
            "day": day.isoformat(),
            "orders": len(ids),
            "planned": Order.objects.filter(pk__in=ids, status="batched").count(),
            "batches": len(report.batches),
            "pickup_only_runs": batches.filter(parcel_count=0).count(),
            "unplanned": {str(k): v for k, v in report.unplanned.items()},
            "goods": len(goods),
            "goods_kg": float(GoodsReturn.objects.filter(pk__in=goods).aggregate(kg=Sum("weight_kg"))["kg"] or 0),
            "pickups_loaded": loaded.count(),
            "pickups_kg": float(loaded.aggregate(kg=Sum("weight_kg"))["kg"] or 0),
            "goods_left_with_reason": waiting.exclude(waiting_reason="").count(),
            "goods_left_without_reason": waiting.filter(waiting_reason="").count(),
            "left_reasons": sorted({r.split(" run ")[0] for r in waiting.values_list("waiting_reason", flat=True)}),
            # The produce lots of the day: how many rode back, how many the runs had no room for (a lot has
            # no waiting reason: it simply waits, still bought, for the next run).
            "lots": len(lots),
            "lots_perishable": lots_of_day.filter(kind__perishable=True).count(),
            "lots_kg": float(lots_of_day.aggregate(kg=Sum(lot_kg))["kg"] or 0),
            "lots_loaded": lots_on.count(),
            "lots_loaded_perishable": lots_on.filter(kind__perishable=True).count(),
            "lots_loaded_kg": float(on_runs.exclude(lot_number="").aggregate(kg=Sum("weight_kg"))["kg"] or 0),
            "lots_no_room": lots_left.count(),
            "lots_no_room_perishable": lots_left.filter(kind__perishable=True).count(),
            "lot_runs": on_runs.exclude(lot_number="").values("batch_stop__batch_id").distinct().count(),
        }
    )
    return out


def _timed_summary(runs: list[dict]) -> dict:
    """The median run's figures (by plan time), with the spread of every run."""
    ordered = sorted(runs, key=lambda r: r["plan_s"])
    median = ordered[len(ordered) // 2]
    return {
        **{k: v for k, v in median.items() if k not in ("plan_s", "update_floor_s", "cpu_s", "pg_cpu_s")},
        "plan_s": round(median["plan_s"], 2),
        "update_floor_s": round(statistics.median(r["update_floor_s"] for r in runs), 3),
        # What the plan costs the two processes that do the work, whatever else the cores run meanwhile.
        "cpu_s": round(statistics.median(r["cpu_s"] for r in runs), 2),
        "pg_cpu_s": round(statistics.median(r["pg_cpu_s"] for r in runs), 2),
        "orders_per_s": round(median["planned"] / median["plan_s"]),
        "ratio_to_floor": round(statistics.median(r["plan_s"] / r["update_floor_s"] for r in runs), 1),
        "runs": [
            {
                "plan_s": round(r["plan_s"], 2),
                "update_floor_s": round(r["update_floor_s"], 3),
                "ratio_to_floor": round(r["plan_s"] / r["update_floor_s"], 1),
                "cpu_s": round(r["cpu_s"], 2),
                "pg_cpu_s": round(r["pg_cpu_s"], 2),
                "load": r["load"],
            }
            for r in runs
        ],
    }


def dispatch_bench(
    n_orders: int, n_goods: int = DISPATCH_GOODS, n_lots: int = DISPATCH_LOTS, repeats: int = REPEATS
) -> tuple[dict, dict, dict]:
    """A county's day: n confirmed orders at one warehouse planned in-process, vs one set-based UPDATE.

    Three times per round, on fresh days: with nothing waiting to come back, with ``n_goods`` goods returns
    waiting at its stations (the return leg, issue #14; ceiling 2 s), and with ``n_lots`` produce lots bought
    and ready there, no goods (issue #19; ceiling 2 s); ``repeats`` rounds, the median reported.  Then the
    days with goods and with lots are planned twice more each, their queries counted: with all of them and
    with ten times fewer (queries must follow the runs, not the goods or the lots).  Returns (plain day,
    day with goods, day with lots).
    """
    warehouse = Warehouse.objects.get(code="JD-WH")
    stations = _county(warehouse)
    _analyze(*PLANNED_TABLES, vacuum=True)  # the dead rows of earlier runs, as autovacuum would have
    plain, with_goods, with_lots = [], [], []
    for _ in range(repeats):  # alternately, so that all see the same load on the machine
        plain.append(_county_day(warehouse, stations, n_orders, 0, count=False))
        with_goods.append(_county_day(warehouse, stations, n_orders, n_goods, count=False))
        if n_lots:
            with_lots.append(_county_day(warehouse, stations, n_orders, 0, n_lots=n_lots, count=False))
    counted = _county_day(warehouse, stations, n_orders, n_goods, count=True)
    fewer = _county_day(warehouse, stations, n_orders, max(1, n_goods // 10), count=True)
    if n_lots:
        counted_lots = _county_day(warehouse, stations, n_orders, 0, n_lots=n_lots, count=True)
        fewer_lots = _county_day(warehouse, stations, n_orders, 0, n_lots=max(1, n_lots // 10), count=True)
    _clear_bench_goods(warehouse)  # the next phases see no bench goods or lots waiting
    _clear_bench_lots(warehouse)
    out = _timed_summary(plain)
    day = date.fromisoformat(plain[-1]["day"])
    biggest = DeliveryBatch.objects.filter(warehouse=warehouse, dispatch_date=day).order_by("-parcel_count").first()
    # The manifest target is for 500 parcels: the batch nearest to that, beside the biggest.
    near_500 = min(
        DeliveryBatch.objects.filter(warehouse=warehouse, dispatch_date=day),
        key=lambda b: abs(b.parcel_count - 500),
        default=None,
    )
    out.update(
        {
            "stations": len(stations),
            "routes": Route.objects.filter(warehouse=warehouse).count(),
            "biggest_batch": biggest.code if biggest else None,
            "biggest_batch_parcels": biggest.parcel_count if biggest else 0,
            "batch_near_500": near_500.code if near_500 else None,
            "batch_near_500_parcels": near_500.parcel_count if near_500 else 0,
        }
    )
    pickups = _timed_summary(with_goods)
    pickups.update(
        {
            "ceiling_s": 2.0,
            "within_ceiling": pickups["plan_s"] < 2.0,
            # Round by round (each pair ran back to back, under the same load): what the goods add.
            "vs_plain": round(
                statistics.median(g["plan_s"] / p["plan_s"] for p, g in zip(plain, with_goods, strict=True)), 2
            ),
            "queries": counted["queries"],
            "queries_batches": counted["batches"],
            "queries_fewer_goods": {k: fewer[k] for k in ("goods", "queries", "batches", "pickups_loaded")},
        }
    )
    produce = {}
    if n_lots:
        produce = _timed_summary(with_lots)
        produce.update(
            {
                "ceiling_s": 2.0,
                "within_ceiling": produce["plan_s"] < 2.0,
                "vs_plain": round(
                    statistics.median(x["plan_s"] / p["plan_s"] for p, x in zip(plain, with_lots, strict=True)), 2
                ),
                "queries": counted_lots["queries"],
                "queries_batches": counted_lots["batches"],
                "queries_lots_loaded": counted_lots["lots_loaded"],
                "queries_fewer_lots": {
                    k: fewer_lots[k] for k in ("lots", "queries", "batches", "lots_loaded", "lots_no_room")
                },
            }
        )
    return out, pickups, produce


def dispatch_doc_lines(r: dict) -> list[str]:
    """The dispatch block of docs/PERFORMANCE.md, from a full run or ``BENCH_ONLY=dispatch``."""
    d, p, lots = r["dispatch"], r["dispatch_pickups"], r.get("dispatch_produce") or {}
    fewer = p["queries_fewer_goods"]
    loads = [run["load"] for run in d["runs"] + p["runs"] + lots.get("runs", [])]

    def span(x, key, digits):
        values = [run[key] for run in x["runs"]]
        return f"{min(values):.{digits}f}–{max(values):.{digits}f}"

    def row(name, x, extra):
        return (
            f"| {name} | **{x['plan_s']}** ({span(x, 'plan_s', 2)}) | {x['cpu_s']} + {x['pg_cpu_s']} "
            f"= {x['cpu_s'] + x['pg_cpu_s']:.2f} | {x['update_floor_s']} | **{x['ratio_to_floor']} ×** "
            f"({span(x, 'ratio_to_floor', 1)}) | {x['batches']} | {extra} |"
        )

    reasons = ", ".join(f"“{reason} run …”" for reason in p["left_reasons"]) or "—"
    holds = p["plan_s"] < p["ceiling_s"]
    cpu = p["cpu_s"] + p["pg_cpu_s"]
    lines = [
        "<!-- BENCH:DISPATCH:BEGIN (written by bench/run.py) -->",
        f"Run of {r['date']} on {r['machine']['cpus']} cores: `{r['command']}` (database {r['database']}). "
        f"A county's day planned in-process: warehouse JD-WH, {d['stations']} stations on {d['routes']} routes "
        "(all but the partner's, whose pages the HTTP phases measure), "
        f"40 vehicles of 15 t / 60 m³ besides the demo's; {d['orders']:,} confirmed orders of 5–64 kg inserted "
        f"by SQL on a fresh day, once with no goods waiting and once with {p['goods']:,} goods returns waiting "
        f"at the stations ({p['goods_kg']:,.0f} kg: 1–2 lines of real products each; 6 in 10 returned by the "
        f"villager, 3 refused or not collected, 1 damaged)"
        + (
            f", and once with {lots['lots']:,} produce lots bought and ready at the stations, no goods "
            f"({lots['lots_kg']:,.0f} kg: eggs and tofu, perishable, potatoes and dried corn; ready on the day "
            "or the six before)"
            if lots
            else ""
        )
        + f", alternately, {len(d['runs'])} rounds, median "
        "(min–max). The floor is the set-based UPDATE of the same day's orders (rolled back; the best of 3), "
        "measured just before each plan. CPU (medians): the planner's process and its PostgreSQL backend during the plan, less "
        f"swayed than the wall time by what else runs on the cores (load average {min(loads)}–{max(loads)}).",
        "",
        "| county's day | plan s | CPU s: planner + PostgreSQL | UPDATE floor s | × floor (each round's) | runs | return leg |",
        "|---|---|---|---|---|---|---|",
        row(f"{d['orders']:,} orders", d, "—"),
        row(
            f"{p['orders']:,} orders, {p['goods']:,} goods waiting",
            p,
            f"{p['pickups_loaded']} pickups loaded ({p['pickups_kg']:,.0f} kg); {p['goods_left_with_reason']} "
            f"goods left with the reason ({reasons}), {p['goods_left_without_reason']} without one; "
            f"{p['pickup_only_runs']} pickup-only runs",
        ),
    ]
    if lots:
        lines.append(
            row(
                f"{lots['orders']:,} orders, {lots['lots']:,} produce lots ready",
                lots,
                f"{lots['lots_loaded']:,} lots loaded ({lots['lots_loaded_kg']:,.0f} kg of {lots['lots_kg']:,.0f}; "
                f"{lots['lots_loaded_perishable']:,} of the {lots['lots_perishable']:,} perishable) on "
                f"{lots['lot_runs']} runs; {lots['lots_no_room']:,} had no room "
                f"({lots['lots_no_room_perishable']} perishable); {lots['pickup_only_runs']} pickup-only runs",
            )
        )
    lines += [
        "",
        f"With the goods a plan takes **{p['vs_plain']} ×** the plain day's wall time (median of the rounds, "
        "each pair back to back). The issue's ceiling "
        f"of {p['ceiling_s']:g} s {'**holds**' if holds else '**is not met**'} in this run (median "
        f"{p['plan_s']} s wall; {cpu:.2f} s of CPU). Queries, each counted on a day of its own: "
        f"{p['queries']} with {p['goods']:,} goods waiting ({p['queries_batches']} runs), {fewer['queries']} "
        f"with {fewer['goods']:,} ({fewer['batches']} runs, {fewer['pickups_loaded']} pickups): they follow the "
        "runs, not the goods. Orders left unplanned on each day: "
        + (", ".join(f"{k}: {v}" for k, v in d["unplanned"].items()) or "none")
        + ".",
    ]
    if lots:
        fewer_lots = lots["queries_fewer_lots"]
        lots_cpu = lots["cpu_s"] + lots["pg_cpu_s"]
        lines += [
            "",
            f"Produce on the way back (issue #19): with {lots['lots']:,} lots ready a plan takes **{lots['plan_s']} s** "
            f"(median wall time; {lots_cpu:.2f} s of CPU) against the issue's ceiling of {lots['ceiling_s']:g} s, "
            f"which {'**holds**' if lots['within_ceiling'] else '**is not met**'} in this run; "
            f"**{lots['ratio_to_floor']} ×** the UPDATE floor and **{lots['vs_plain']} ×** the plain day's wall time "
            f"(each round's, back to back). Queries, each counted on a day of its own: {lots['queries']} with "
            f"{lots['lots']:,} lots ready ({lots['queries_batches']} runs, {lots['queries_lots_loaded']:,} lots "
            f"loaded), {fewer_lots['queries']} with {fewer_lots['lots']:,} ({fewer_lots['batches']} runs, "
            f"{fewer_lots['lots_loaded']:,} loaded): they follow the runs, not the lots.",
        ]
    lines.append("<!-- BENCH:DISPATCH:END -->")
    return lines


# --- a province (bench/province.py) ------------------------------------------------------------------


def province_placement(scale: float) -> dict:
    """POST /api/v1/orders/ from CLIENTS clients against a clone of the province at ``scale``; stock checked after."""
    from bench import province

    database = province.clone_for_pages(scale)
    try:
        setup = province.placement_setup(database["database"])
        server = start_gunicorn({"DATABASE_URL": database["url"]})
        try:
            started = province.now_in(database["database"])
            result = measure(f"province {scale:g} placement", placement_request(setup), seconds=PROVINCE_SECONDS)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        result["stock"] = province.hot_stock_check(database["database"], setup, since=started)
        result["orders_stored"] = setup["orders_stored"]
        result["scale"] = scale
        return result
    finally:
        province.drop(database["database"])


def province_bench() -> dict:
    """Build the province, measure the partner pages against its orders, plan its day on 1 and 2 workers, 10x less."""
    from bench import province

    small = PROVINCE_SCALE / 10
    out = {"scale": PROVINCE_SCALE, "build": province.build(PROVINCE_SCALE)}
    pages_db = province.clone_for_pages(PROVINCE_SCALE)
    try:
        setup = province.page_setup(pages_db["database"])
        cookie = {"Cookie": f"sessionid={setup['session']}"}
        server = start_gunicorn({"DATABASE_URL": pages_db["url"]})
        try:
            out["pages_load"] = os.getloadavg()
            out["pages"] = {
                name: {
                    **measure(
                        f"province page {name}", get_request(page["path"], cookie), clients=4, seconds=PROVINCE_SECONDS
                    ),
                    "queries": page["queries"],
                }
                for name, page in setup["pages"].items()
            }
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        # What sells against the same million orders (after the pages: it adds last year's copy to the clone).
        out["insights"] = province.insight_bench(pages_db["database"])
    finally:
        province.drop(pages_db["database"])
    out["pages_setup"], out["pages_seconds"] = setup, PROVINCE_SECONDS
    # Placement against the province's 1M orders and against 10x less: does the cost per order stay flat?
    out["placement"] = [province_placement(PROVINCE_SCALE), province_placement(small)]
    out["dispatch"] = [province.dispatch_province(PROVINCE_SCALE, workers) for workers in (1, 2)]
    out["dispatch_small"] = [province.dispatch_province(small, workers) for workers in (1, 2)]
    return out


# --- main ---------------------------------------------------------------------------------------------


def machine() -> dict:
    """Cores, memory and the versions of everything in the measured path."""
    import celery
    import redis
    import rest_framework

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0].split()[0]
    memory_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")
    )
    redis_version = redis.Redis.from_url(os.environ["REDIS_URL"]).info("server")["redis_version"]
    gunicorn = (
        subprocess.run([sys.executable, "-m", "gunicorn", "--version"], capture_output=True, text=True, check=False)
        .stdout.split()[-1]
        .strip("()")
    )
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kb / 2**20, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": {
            "django": django.get_version(),
            "djangorestframework": rest_framework.VERSION,
            "celery": celery.__version__,
            "gunicorn": gunicorn,
            "postgresql": postgres,
            "redis": redis_version,
        },
    }


def main() -> None:
    log(
        f"database {settings.DATABASES['default']['NAME']} on {connection.vendor}; {SECONDS:.0f} s x {REPEATS} per phase"
    )
    ctx = prepare()
    results: dict = {
        "date": datetime.now().isoformat(timespec="seconds"),  # noqa: DTZ005 - the machine's clock, for the record
        "machine": machine(),
        "settings": {"seconds": SECONDS, "repeats": REPEATS, "clients": CLIENTS},
        "command": command(),
        "database": settings.DATABASES["default"]["NAME"],
    }
    if ONLY not in ("", "dispatch"):
        raise SystemExit(f"BENCH_ONLY={ONLY}: only 'dispatch' runs alone")
    log(
        f"dispatch: {DISPATCH_ORDERS} confirmed orders of one county, without and with {DISPATCH_GOODS} goods "
        f"waiting, and with {DISPATCH_LOTS} produce lots ready, {REPEATS} rounds"
    )
    results["dispatch"], results["dispatch_pickups"], results["dispatch_produce"] = dispatch_bench(
        DISPATCH_ORDERS, DISPATCH_GOODS, DISPATCH_LOTS
    )
    log(f"dispatch: {results['dispatch']}")
    log(f"dispatch with goods waiting: {results['dispatch_pickups']}")
    log(f"dispatch with produce lots ready: {results['dispatch_produce']}")
    if ONLY == "dispatch":
        write_results(results, "dispatch")
        write_dispatch_doc(results)
        return
    server = start_gunicorn()
    try:
        results["bare_insert"] = measure("bare insert", post_request("/bench/insert/"))
        since, before = timezone.now(), hot_stock(ctx)
        results["placement"] = measure("placement", placement_request(ctx))
        results["placement"]["stock"] = stock_conservation(ctx, before, since)
        results["placement"]["ratio_to_bare_insert"] = round(
            results["placement"]["per_s"]["median"] / results["bare_insert"]["per_s"]["median"], 2
        )
        results["bare_list"] = measure("bare list", get_request("/bench/list/"))
        key = {"Authorization": f"Token {ctx['logistics_key']}"}
        results["logistics_list"] = measure("logistics list", get_request("/api/v1/batches/", key))
        results["logistics_list"]["ratio_to_bare_list"] = round(
            results["logistics_list"]["per_s"]["median"] / results["bare_list"]["per_s"]["median"], 2
        )
        code = results["dispatch"]["biggest_batch"]
        DeliveryBatch.objects.filter(code=code).update(warehouse=ctx["station"].warehouse)
        results["manifest"] = measure(
            f"manifest of {results['dispatch']['biggest_batch_parcels']} parcels",
            get_request(f"/api/v1/batches/{code}/", key),
            clients=4,
        )
        code = results["dispatch"]["batch_near_500"]
        DeliveryBatch.objects.filter(code=code).update(warehouse=ctx["station"].warehouse)
        results["manifest_500"] = measure(
            f"manifest of {results['dispatch']['batch_near_500_parcels']} parcels",
            get_request(f"/api/v1/batches/{code}/", key),
            clients=4,
        )
        cookie = {"Cookie": f"sessionid={ctx['session']}"}
        number = Order.objects.filter(service_center=ctx["station"]).values_list("number", flat=True).first()
        pages = {}
        for name, path in [
            ("dashboard", "/"),
            ("order list", "/orders/"),
            ("villager search", "/villagers/?q=1"),
            ("order detail", f"/orders/{number}/"),
        ]:
            pages[name] = measure(f"page {name}", get_request(path, cookie), clients=4)
        results["pages"] = pages
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    # After gunicorn stopped: the worker gets the cores (and the placement phase's SMS tasks are purged).
    log(f"sms: {SMS_MESSAGES} messages through a real Celery worker, concurrency 1 and 2")
    results["sms"] = sms_bench(SMS_MESSAGES)
    if PROVINCE:
        log(f"province at scale {PROVINCE_SCALE:g}: build, pages, dispatch on 1 and 2 Celery workers, and at 10x less")
        results["province"] = province_bench()
    write_results(results, "bench")
    write_performance_doc(results)
    write_dispatch_doc(results)


def command() -> str:
    """How this run was started, for the record: the BENCH_ settings changed from their defaults and `make bench`."""
    return " ".join([*(f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("BENCH_")), "make bench"])


def write_results(results: dict, name: str) -> None:
    out = ROOT / "bench" / "results" / f"{name}-{date.today():%Y%m%d}-{int(time.time())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    log(f"wrote {out.relative_to(ROOT)}")


def write_dispatch_doc(r: dict) -> None:
    """Replace the dispatch block of docs/PERFORMANCE.md (its own markers: ``BENCH_ONLY=dispatch`` writes it alone)."""
    doc = ROOT / "docs" / "PERFORMANCE.md"
    text = doc.read_text()
    block = "\n".join(dispatch_doc_lines(r))
    if "<!-- BENCH:DISPATCH:BEGIN" in text:
        head, rest = text.split("<!-- BENCH:DISPATCH:BEGIN", 1)
        text = head + block + rest.split("<!-- BENCH:DISPATCH:END -->", 1)[1]
    else:
        text = text.rstrip() + "\n\n## Dispatch: a county's day (`make bench`)\n\n" + block + "\n"
    doc.write_text(text)
    log("updated the dispatch figures in docs/PERFORMANCE.md")


def write_performance_doc(r: dict) -> None:
    p, b, d = r["placement"], r["bare_insert"], r["dispatch"]

    def row(name, m, extra=""):
        return (
            f"| {name} | {m['per_s']['median']:.0f} ({m['per_s']['min']:.0f}–{m['per_s']['max']:.0f}) "
            f"| {m['p50_ms']['median']:.1f} | {m['p99_ms']['median']:.1f} ({m['p99_ms']['min']:.1f}–{m['p99_ms']['max']:.1f}) "
            f"| {m['errors_5xx']} | {extra} |"
        )

    lines = [
        "<!-- BENCH:BEGIN (written by bench/run.py) -->",
        f"Run of {r['date']} on {r['machine']['cpus']} cores, {r['machine'].get('memory_gib', '?')} GiB, Python {r['machine']['python']}"
        + "".join(f", {k} {v}" for k, v in r["machine"].get("versions", {}).items())
        + "; "
        f"{r['settings']['clients']} concurrent clients, {r['settings']['seconds']:.0f} s per run, "
        f"{r['settings']['repeats']} runs per figure (median, with min–max). gunicorn, PostgreSQL, Redis on this machine; "
        "the load generator shares the two cores.",
        "",
        "| phase | req/s | p50 ms | p99 ms | 5xx | notes |",
        "|---|---|---|---|---|---|",
        row("bare DRF one-row INSERT (ceiling)", b),
        row(
            "place an order, POST /api/v1/orders/",
            p,
            f"**{p['ratio_to_bare_insert']} × ceiling**; 409 refusals (hot product sold out): {p['statuses'].get('409', 0)}; "
            f"hot product: {p['stock']['hot_reserved_in_run']} units reserved in the run, {p['stock']['held_by_orders_of_the_run']} held by its orders, oversold {p['stock']['oversold']}, "
            f"conserved {p['stock']['conserved']}",
        ),
        row("bare DRF list of 50 rows (ceiling)", r["bare_list"]),
        row("GET /api/v1/batches/", r["logistics_list"], f"**{r['logistics_list']['ratio_to_bare_list']} × ceiling**"),
        row(f"manifest of {d['biggest_batch_parcels']} parcels (4 clients)", r["manifest"]),
    ]
    if "manifest_500" in r:
        lines.append(row(f"manifest of {d['batch_near_500_parcels']} parcels (4 clients)", r["manifest_500"]))
    for name, m in r["pages"].items():
        lines.append(row(f"partner page: {name} (4 clients)", m))
    lines += [
        "",
        f"Dispatch, one county's day: {d['orders']} confirmed orders planned into {d['batches']} batches in "
        f"**{d['plan_s']} s** ({d['orders_per_s']} orders/s, median of {len(d['runs'])}); the set-based UPDATE floor "
        f"of the same rows took {d['update_floor_s']} s, so planning costs **{d['ratio_to_floor']} × the floor**; "
        f"with {r['dispatch_pickups']['goods']:,} goods waiting to come back **{r['dispatch_pickups']['plan_s']} s**, "
        f"{r['dispatch_pickups']['ratio_to_floor']} × the floor"
        + (
            f"; with {r['dispatch_produce']['lots']:,} produce lots ready **{r['dispatch_produce']['plan_s']} s**, "
            f"{r['dispatch_produce']['ratio_to_floor']} × the floor"
            if r.get("dispatch_produce")
            else ""
        )
        + " (the table in «Dispatch: a county's day», same run).",
    ]
    if "sms" in r:
        s = r["sms"]
        by = {run["concurrency"]: run for run in s["runs"]}
        lines += [
            "",
            f"SMS outbox: {s['messages']} messages through a real Celery worker (prefork, console backend, acks_late, "
            f"prefetch {s['runs'][0]['prefetch_multiplier']}), queued as the product queues them (`delay_on_commit`): "
            + ", ".join(
                f"**{run['messages_per_s']} messages/s** end to end at concurrency {c} (enqueue alone {run['enqueue_per_s']}/s)"
                for c, run in by.items()
            )
            + f"; {s['queries']} queries per message ({', '.join(q.split(' ', 1)[0] for q in s['statements'])}); "
            f"exactly once (each console line seen once, attempts = 1 on every row, none pending, queue empty): "
            f"{all(run['exactly_once'] for run in s['runs'])}; load average "
            f"{min(run['load_before'][0] for run in s['runs'])}–{max(run['load_after'][0] for run in s['runs'])}.",
        ]
    lines += [
        "",
        "Command: `make bench` (BENCH_SECONDS, BENCH_REPEATS, BENCH_CLIENTS, BENCH_ORDERS, BENCH_SMS to change the run).",
        "<!-- BENCH:END -->",
    ]
    if "province" in r:
        from bench.province import doc_lines

        lines[-1:-1] = doc_lines(r["province"])  # inside the BENCH markers
    doc = ROOT / "docs" / "PERFORMANCE.md"
    text = doc.read_text() if doc.exists() else "# Performance\n"
    block = "\n".join(lines)
    if "<!-- BENCH:BEGIN" in text:
        head, rest = text.split("<!-- BENCH:BEGIN", 1)
        tail = rest.split("<!-- BENCH:END -->", 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n## Headline figures (`make bench`)\n\n" + block + "\n"
    doc.write_text(text)
    log("updated docs/PERFORMANCE.md")


if __name__ == "__main__":
    main()
