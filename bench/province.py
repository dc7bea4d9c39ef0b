"""A province at scale: set-based generation, and dispatch planning on real Celery workers.

    .venv/bin/python bench/province.py [--scale 0.1] [--workers 1,2] [--force] [--no-dispatch]

1. ``build(scale)``: a template database ``ruralshop_province_tpl_<scale>``,
   migrated and filled by set-based SQL (bench/province_sql.py): 100 counties
   with a warehouse, 3,000 stations on 600 routes, 4,800 vehicles, 3,000
   products with stock everywhere, 300,000·scale villagers and 1,000,000·scale
   historical orders with lines, events, parcels in batches and the commission
   ledger.  It is rebuilt only when the migrations or the generator changed
   (a signature kept in the template's ``bench_province_meta`` table);
   every run works on a clone (``CREATE DATABASE ... TEMPLATE``).
2. ``dispatch_province(scale, workers)``: on a fresh clone, 1,000,000·scale
   confirmed orders spread over the 100 warehouses for the next day; the
   set-based UPDATE floor of the same rows (rolled back); then one
   ``logistics.tasks.plan_warehouse`` task per warehouse queued to ``workers``
   real Celery worker processes (``celery worker -c 1`` each) on Redis; wall
   clock until the last task reported; then the exactly-once check in SQL.
3. ``page_setup(database)``: a logged-in session of the ``partner`` user
   (station 1 of the province) and the queries of each partner page, counted
   in-process; bench/run.py measures the pages over HTTP with it.
4. ``insight_bench(database)``: the "what sells" page (orders.insights) of that
   partner, its server time over BENCH_INSIGHT_REQUESTS (30) requests in-process,
   median and p95 against a 200 ms ceiling, after copying the county's last 120
   days of collected orders 52 weeks back (the history is one year long, so
   "the same weeks last year" would otherwise be nearly empty).  Standalone:
   ``bench/province.py --no-dispatch --insights``.

The functions return plain dicts (bench/run.py writes them to its JSON).
Parts that need Django against a clone run as a subprocess of this file
(``_users``, ``_pages``, ``_dispatch``) so that the caller's own Django
connection is never redirected.  Settings: ``REDIS_URL`` (broker of the
workers), ``DATABASE_URL`` (only its server is used), ``BENCH_PROVINCE_KEEP=1``
keeps the dispatch clone for inspection.
"""

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import province_sql as gen  # noqa: E402

DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
PAGES_DB = "ruralshop_province_pages"
DISPATCH_DB = "ruralshop_province_dispatch"
PASSWORD = "bench-password"  # noqa: S105 - the bench users of a throwaway database
HISTORY_ORDERS = 1_000_000
DISPATCH_ORDERS = 1_000_000
VILLAGERS = 300_000
PLAN_TIMEOUT_S = 3600
GENERATOR = 3  # bump when the generation code of this file changes (province_sql.py is hashed itself)


def log(message: str) -> None:
    print(f"[province {time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- databases ----------------------------------------------------------------------------------


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith(("postgres://", "postgresql://")):
        return url.rsplit("/", 1)[0]
    return DEFAULT_SERVER


def db_url(name: str) -> str:
    return f"{server_url()}/{name}"


def connect(name: str, **kwargs) -> psycopg.Connection:
    return psycopg.connect(db_url(name), **kwargs)


def scale_tag(scale: float) -> str:
    return f"{scale:g}".replace(".", "_")


def template_name(scale: float) -> str:
    return f"ruralshop_province_tpl_{scale_tag(scale)}"


def sizes(scale: float) -> dict:
    return {
        "villagers": max(gen.STATIONS, round(VILLAGERS * scale)),
        "orders": max(1, round(HISTORY_ORDERS * scale)),
        "dispatch_orders": max(1, round(DISPATCH_ORDERS * scale)),
    }


def signature(scale: float) -> str:
    """What the template depends on: the migrations on disk, the generator (its SQL and GENERATOR), the scale."""
    digest = hashlib.sha256(f"scale={scale:g} generator={GENERATOR}".encode())
    for path in sorted(ROOT.glob("*/migrations/0*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
    digest.update((ROOT / "bench" / "province_sql.py").read_bytes())
    return digest.hexdigest()[:16]


def _exists(name: str) -> bool:
    with connect("postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _drop(name: str) -> None:
    assert name.startswith("ruralshop_province"), name  # only ever our own databases
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clone(template: str, name: str) -> float:
    """A fresh copy of ``template`` named ``name`` (a file copy: seconds, not a regeneration)."""
    assert name.startswith("ruralshop_province"), name
    _drop(name)
    start = time.perf_counter()
    with connect("postgres", autocommit=True) as conn:
        for attempt in range(20):
            # Nobody else may be connected to a template being copied (an autovacuum worker, say).
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [template])
            try:
                # FILE_COPY: copy the files (and checkpoint) instead of writing gigabytes through the WAL.
                strategy = " STRATEGY = FILE_COPY" if conn.info.server_version >= 150000 else ""
                conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 19:
                    raise
                time.sleep(0.5)
    return round(time.perf_counter() - start, 1)


def read_meta(name: str) -> dict | None:
    if not _exists(name):
        return None
    with connect(name) as conn:
        exists = conn.execute("SELECT to_regclass('bench_province_meta')").fetchone()[0]
        if not exists:
            return None
        row = conn.execute("SELECT value FROM bench_province_meta WHERE key = 'build'").fetchone()
    return row[0] if row else None


def django_env(database: str, **extra) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": db_url(database),
        "RURALSHOP_ENV": os.environ.get("RURALSHOP_ENV", "development"),
        "DEBUG": "false",
        "DJANGO_SETTINGS_MODULE": "ruralshop.settings",
        **extra,
    }


def _run_self(command: str, database: str, *args: str, env_extra: dict | None = None) -> dict:
    """Run an internal subcommand of this file against ``database``; its JSON answer."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as handle:
        out = Path(handle.name)
    try:
        subprocess.run(
            [sys.executable, __file__, command, "--db", database, "--out", str(out), *args],
            cwd=ROOT,
            env=django_env(database, **(env_extra or {})),
            check=True,
        )
        return json.loads(out.read_text())
    finally:
        out.unlink(missing_ok=True)


# --- 1. the province ------------------------------------------------------------------------------


def build(scale: float = 1.0, *, force: bool = False) -> dict:
    """Make sure the template of this scale exists and is current; timings and row counts."""
    template = template_name(scale)
    sig = signature(scale)
    meta = read_meta(template)
    if meta and meta.get("signature") == sig and not force:
        log(f"template {template} is current (built {meta['built_at']} in {meta['generate_s']} s): reused")
        return {**meta, "reused": True}
    counts = sizes(scale)
    log(
        f"building {template}: {counts['villagers']} villagers, {counts['orders']} orders "
        f"(scale {scale:g}; migrations or generator changed, or asked to)"
    )
    started = time.perf_counter()
    _drop(template)
    with connect("postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{template}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=django_env(template), check=True)
    migrate_s = time.perf_counter() - started
    log(f"migrated in {migrate_s:.1f} s; generating")
    steps, generate_s = _generate(template, counts)
    users = _run_self("_users", template)
    start = time.perf_counter()
    with connect(template, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    vacuum_s = time.perf_counter() - start
    log(f"VACUUM ANALYZE in {vacuum_s:.1f} s")
    rows = _row_counts(template)
    today = date.fromisoformat(steps.pop("today"))
    meta = {
        "template": template,
        "scale": scale,
        "signature": sig,
        "built_at": datetime.now().isoformat(timespec="seconds"),
        "today": today.isoformat(),
        "dispatch_date": (today + timedelta(days=1)).isoformat(),
        "sizes": counts,
        "migrate_s": round(migrate_s, 1),
        "generate_s": round(generate_s, 1),
        "vacuum_analyze_s": round(vacuum_s, 1),
        "total_s": round(time.perf_counter() - started, 1),
        "steps_s": steps,
        "rows": rows,
        "users": users,
        "database_mb": _size_mb(template),
    }
    with connect(template) as conn:
        conn.execute("CREATE TABLE bench_province_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
        conn.execute("INSERT INTO bench_province_meta VALUES ('build', %s)", [json.dumps(meta)])
    log(
        f"built {template} in {meta['total_s']} s (generation {meta['generate_s']} s, "
        f"{meta['database_mb']} MB): {rows['orders_order']} orders, {rows['orders_orderline']} lines, "
        f"{rows['orders_orderevent']} events"
    )
    return {**meta, "reused": False}


BULK_TABLES = [
    "partners_villager",
    "orders_order",
    "orders_orderline",
    "orders_orderevent",
    "orders_commissionentry",
    "orders_stock",
    "logistics_deliverybatch",
    "logistics_batchstop",
    "logistics_parcel",
]


def _set_aside_keys(conn, tables: list[str], *, indexes: bool = True) -> list[str]:
    """Drop the foreign keys (and, with ``indexes``, every index but the primary key) of ``tables``.

    Returns the statements that put them back.  Loading millions of rows into
    a table without its indexes, then building each index once by sorting, is
    several times faster than maintaining them row by row; and a foreign key
    added back is validated by one join instead of one deferred trigger call
    per row at COMMIT.  The rebuild checks everything again: a duplicate or a
    dangling reference fails the build, so no constraint is skipped.
    """
    foreign = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[]) AND contype = 'f'",
        [tables],
    ).fetchall()
    unique, plain = [], []
    if indexes:
        unique = conn.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = ANY(%s::regclass[]) AND contype = 'u'",
            [tables],
        ).fetchall()
        plain = conn.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x'))",
            [tables],
        ).fetchall()
    for table, name, _ in foreign + unique:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in plain:
        conn.execute(f"DROP INDEX {name}")
    return (
        [definition for _, definition in plain]
        + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in unique]
        + [f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}' for table, name, definition in foreign]
    )


def _restore_keys(conn, statements: list[str], steps: dict) -> None:
    start = time.perf_counter()
    for statement in statements:
        one = time.perf_counter()
        conn.execute(statement)
        if time.perf_counter() - one > 1:
            log(f"    {time.perf_counter() - one:.1f} s: {statement[:110]}")
    steps["indexes and keys rebuilt (and checked)"] = round(time.perf_counter() - start, 2)
    log(
        f"  {len(statements)} indexes and constraints rebuilt and checked: {steps['indexes and keys rebuilt (and checked)']} s"
    )


def _bulk_session(conn) -> None:
    conn.execute("SET synchronous_commit = off")
    conn.execute("SET temp_buffers = '1GB'")
    conn.execute("SET work_mem = '256MB'")
    conn.execute("SET maintenance_work_mem = '1GB'")


def _generate(database: str, counts: dict) -> tuple[dict, float]:
    """Run the generator's statements in one transaction; seconds per step."""
    steps: dict = {}
    started = time.perf_counter()
    with connect(database) as conn:
        _bulk_session(conn)
        row = conn.execute("SELECT now(), (now() AT TIME ZONE %s)::date", [gen.TZ]).fetchone()
        now = f"'{row[0].isoformat()}'"
        steps["today"] = row[1].isoformat()
        restore = _set_aside_keys(conn, BULK_TABLES)
        plan = [
            ("functions", gen.functions()),
            ("network and catalog", gen.network()),
            ("villagers", gen.villagers(counts["villagers"], now)),
            ("orders, lines, events, batches, parcels, ledger, stock", None),
            ("sequences", gen.finish()),
        ]
        for name, statements in plan:
            if statements is None:
                version = conn.execute(
                    "SELECT 1 FROM information_schema.columns "
                    "WHERE table_name = 'logistics_deliverybatch' AND column_name = 'version'"
                ).fetchone()
                for statement in gen.orders(counts["orders"], counts["villagers"], now, batch_version=bool(version)):
                    label = " ".join(statement.split()[:4])[:60]
                    _timed(conn, statement, steps, label)
                continue
            start = time.perf_counter()
            for statement in statements:
                conn.execute(statement)
            steps[name] = round(time.perf_counter() - start, 2)
            log(f"  {name}: {steps[name]} s")
        _restore_keys(conn, restore, steps)
        start = time.perf_counter()
        conn.commit()
        steps["commit"] = round(time.perf_counter() - start, 2)
        log(f"  commit: {steps['commit']} s")
    return steps, time.perf_counter() - started


def _timed(conn, statement: str, steps: dict, label: str) -> None:
    start = time.perf_counter()
    cursor = conn.execute(statement)
    seconds = round(time.perf_counter() - start, 2)
    steps[label] = round(steps.get(label, 0) + seconds, 2)
    log(f"  {label}: {seconds} s ({cursor.rowcount} rows)")


def _row_counts(database: str) -> dict:
    tables = [
        "partners_county",
        "partners_warehouse",
        "partners_servicecenter",
        "partners_villager",
        "logistics_route",
        "logistics_routestop",
        "logistics_vehicle",
        "orders_product",
        "orders_stock",
        "orders_order",
        "orders_orderline",
        "orders_orderevent",
        "orders_commissionentry",
        "logistics_deliverybatch",
        "logistics_batchstop",
        "logistics_parcel",
    ]
    with connect(database) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        counts["orders_by_status"] = dict(
            conn.execute("SELECT status, count(*) FROM orders_order GROUP BY 1 ORDER BY 1").fetchall()
        )
    return counts


def _size_mb(database: str) -> int:
    with connect("postgres") as conn:
        return round(conn.execute("SELECT pg_database_size(%s)", [database]).fetchone()[0] / 2**20)


# --- 2. dispatch on real workers -------------------------------------------------------------------


def dispatch_template(scale: float = 1.0) -> dict:
    """The province plus the day's confirmed orders, once per template: each dispatch run clones it."""
    meta = build(scale)
    name = meta["template"].replace("_tpl_", "_dispatch_tpl_")
    current = read_meta(name)
    if current and current.get("signature") == meta["signature"] and current.get("built_at") == meta["built_at"]:
        return current
    count = meta["sizes"]["dispatch_orders"]
    day = date.fromisoformat(meta["dispatch_date"])
    log(f"building {name}: {count} confirmed orders for {day} on a copy of {meta['template']}")
    clone(meta["template"], name)
    confirmed_at = f"'{day - timedelta(days=1)} 10:00 {gen.TZ}'"
    steps: dict = {}
    start = time.perf_counter()
    with connect(name) as conn:
        _bulk_session(conn)
        first = conn.execute("SELECT max(id) + 1 FROM orders_order").fetchone()[0]
        restore = _set_aside_keys(conn, ["orders_order", "orders_orderline", "orders_orderevent"])
        for statement in gen.dispatch_orders(first, count, confirmed_at, meta["sizes"]["villagers"]):
            _timed(conn, statement, steps, " ".join(statement.split()[:4])[:60])
        _restore_keys(conn, restore, steps)
        # Every confirmed order is the planner's to place, the history's own confirmed ones of today too.
        conn.execute(
            "CREATE TABLE bench_province_dispatch AS SELECT id AS order_id, warehouse_id FROM orders_order "
            "WHERE status = 'confirmed'"
        )
        conn.execute("ALTER TABLE bench_province_dispatch ADD PRIMARY KEY (order_id)")
        orders = conn.execute("SELECT count(*) FROM bench_province_dispatch").fetchone()[0]
    with connect(name, autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    current = {
        **meta,
        "template": name,
        "dispatch_orders_added": count,
        "dispatch_orders": orders,
        "dispatch_setup_s": round(time.perf_counter() - start, 1),
        "dispatch_steps_s": steps,
    }
    with connect(name) as conn:
        conn.execute("UPDATE bench_province_meta SET value = %s WHERE key = 'build'", [json.dumps(current)])
    log(f"{name}: {orders} confirmed orders ready in {current['dispatch_setup_s']} s")
    return current


_FLOORS: dict[str, float] = {}  # template build -> UPDATE floor seconds, measured once per process


def dispatch_province(scale: float = 1.0, workers: int = 2) -> dict:
    """Plan 1,000,000·scale confirmed orders of the 100 warehouses with ``workers`` Celery worker processes.

    The UPDATE floor is the same rows of the same copy each time: it is timed on
    the first run of a template in this process and reused by the next ones
    (at full scale it costs a minute a run).
    """
    meta = dispatch_template(scale)
    floor_key = f"{meta['template']}@{meta['built_at']}"
    database = f"{DISPATCH_DB}_{scale_tag(scale)}"
    log(f"dispatch, scale {scale:g}, {workers} worker(s): cloning {meta['template']}")
    clone_s = clone(meta["template"], database)
    try:
        args = ["--workers", str(workers), "--date", meta["dispatch_date"]]
        if floor_key in _FLOORS:
            args += ["--floor", str(_FLOORS[floor_key])]
        result = _run_self("_dispatch", database, *args)
        _FLOORS.setdefault(floor_key, result["update_floor_s"])
    finally:
        if os.environ.get("BENCH_PROVINCE_KEEP") != "1":
            _drop(database)
    result.update(
        {
            "scale": scale,
            "clone_s": clone_s,
            "new_confirmed_orders": meta["dispatch_orders_added"],
            "setup_s": meta["dispatch_setup_s"],
        }
    )
    return result


def _dispatch(database: str, *, workers: int, day: date, floor: float | None = None) -> dict:
    """In a subprocess with Django set up on the clone: time the floor, plan on real workers, verify."""
    import django

    django.setup()
    from django.db import connection

    from logistics.tasks import plan_warehouse
    from partners.models import Warehouse
    from ruralshop.celery import app

    result: dict = {"workers": workers, "dispatch_date": day.isoformat()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bench_province_dispatch")
        result["orders"] = cursor.fetchone()[0]

    # The floor: the one UPDATE any plan must at least do, on the same rows, rolled back.
    result["update_floor_measured_here"] = floor is None
    if floor is not None:
        result["update_floor_s"] = floor
        log(f"UPDATE floor: {floor} s, as timed on the first run of this template")
    else:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN")
            start = time.perf_counter()
            cursor.execute(
                "UPDATE orders_order o SET status = 'batched', updated_at = now() FROM bench_province_dispatch d "
                "WHERE o.id = d.order_id AND o.status = 'confirmed'"
            )
            result["update_floor_s"] = round(time.perf_counter() - start, 2)
            cursor.execute("ROLLBACK")
        log(f"UPDATE floor: {result['orders']} rows in {result['update_floor_s']} s (rolled back)")
        _vacuum(["orders_order"])  # the rolled-back versions would otherwise slow the planner down

    warehouses = list(Warehouse.objects.order_by("pk").values_list("pk", flat=True))
    connection.close()  # the workers and the verification use their own connections
    app.control.purge()
    processes = _start_workers(database, workers)
    try:
        _wait_for_workers(app, workers)
        log(f"{workers} worker(s) ready; queueing {len(warehouses)} plan_warehouse tasks for {day}")
        start = time.perf_counter()
        tasks = [plan_warehouse.apply_async((pk, day.isoformat())) for pk in warehouses]
        last_log = start
        while not all(task.ready() for task in tasks):
            time.sleep(0.5)
            if time.perf_counter() - last_log >= 10:
                last_log = time.perf_counter()
                done = sum(task.ready() for task in tasks)
                log(f"  {time.perf_counter() - start:.0f} s: {done}/{len(tasks)} warehouses planned")
            if time.perf_counter() - start > PLAN_TIMEOUT_S:
                raise SystemExit("planning did not finish in time")
        plan_s = time.perf_counter() - start
        summaries = [task.get(propagate=False) for task in tasks]
    finally:
        _stop_workers(processes)
        app.control.purge()  # the stations' SMS queued by the planner: not part of this measurement
    failures = [s for s in summaries if not isinstance(s, dict)]
    check = _exactly_once(day)
    result.update(
        {
            "plan_s": round(plan_s, 1),
            "orders_per_s": round(check["batched"] / plan_s),
            "ratio_to_floor": round(plan_s / result["update_floor_s"], 1),
            "tasks": len(tasks),
            "task_failures": [repr(f) for f in failures][:5],
            "lost_races": sum(s.get("lost_races", 0) for s in summaries if isinstance(s, dict)),
            "busy_retries": sum(1 for s in summaries if isinstance(s, dict) and s.get("busy")),
            "check": check,
            "load_average": os.getloadavg(),
        }
    )
    log(
        f"planned {check['batched']} of {result['orders']} orders into {check['batches']} batches in "
        f"{result['plan_s']} s ({result['orders_per_s']} orders/s, {result['ratio_to_floor']} x floor); "
        f"exactly once: {check['exactly_once']}"
    )
    return result


def _vacuum(tables: list[str]) -> None:
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        start = time.perf_counter()
        conn.execute(f"VACUUM (ANALYZE) {', '.join(tables)}")
        log(f"VACUUM ANALYZE {', '.join(tables)}: {time.perf_counter() - start:.1f} s")


def _start_workers(database: str, n: int) -> list[subprocess.Popen]:
    """``n`` worker processes, each ``celery worker -c 1``: one planner process per (would-be) host."""
    log_dir = Path(os.environ.get("RURALSHOP_VAR_DIR", tempfile.gettempdir()))
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = []
    for i in range(n):
        command = [sys.executable, "-m", "celery", "-A", "ruralshop", "worker", "-c", "1", "-n", f"province{i}@%h"]
        command += ["-l", "WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
        with open(log_dir / f"province-worker-{i}.log", "w") as out:  # noqa: SIM115 - the child keeps it
            processes.append(
                subprocess.Popen(command, cwd=ROOT, env=django_env(database), stdout=out, stderr=subprocess.STDOUT)
            )
    return processes


def _wait_for_workers(app, n: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if len(app.control.ping(timeout=1.0)) >= n:
            return
    raise SystemExit(f"{n} Celery workers did not answer within 60 s")


def _stop_workers(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exactly_once(day: date) -> dict:
    """Every order of the day is in exactly one batch (one parcel) or still confirmed with a reason."""
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        orders = conn.execute(
            """SELECT count(*),
                      count(*) FILTER (WHERE o.status = 'batched'),
                      count(*) FILTER (WHERE o.status = 'confirmed'),
                      count(*) FILTER (WHERE o.status NOT IN ('batched', 'confirmed')),
                      count(*) FILTER (WHERE o.status = 'batched' AND p.id IS NULL),
                      count(*) FILTER (WHERE o.status = 'confirmed' AND p.id IS NOT NULL),
                      count(*) FILTER (WHERE o.status = 'confirmed' AND u.id IS NULL),
                      count(*) FILTER (WHERE o.status = 'batched' AND u.id IS NOT NULL)
               FROM bench_province_dispatch d JOIN orders_order o ON o.id = d.order_id
               LEFT JOIN logistics_parcel p ON p.order_id = o.id
               LEFT JOIN logistics_unplannedorder u ON u.order_id = o.id"""
        ).fetchone()
        planned_twice = conn.execute(
            """SELECT count(*) FROM (SELECT e.order_id FROM orders_orderevent e
                                     JOIN bench_province_dispatch d ON d.order_id = e.order_id
                                     WHERE e.to_status = 'batched' GROUP BY 1 HAVING count(*) > 1) x"""
        ).fetchone()[0]
        batches = conn.execute(
            """SELECT count(*), count(*) FILTER (WHERE kg > capacity_kg OR m3 > capacity_m3),
                      count(*) FILTER (WHERE n <> parcel_count), coalesce(sum(n), 0), coalesce(max(n), 0),
                      coalesce(round(avg(greatest(kg / capacity_kg, m3 / capacity_m3)) * 100), 0)
               FROM (SELECT b.id, b.parcel_count, v.capacity_kg, v.capacity_m3, sum(p.weight_kg) AS kg,
                            sum(p.volume_m3) AS m3, count(p.id) AS n
                     FROM logistics_deliverybatch b
                     JOIN logistics_vehicle v ON v.id = b.vehicle_id
                     JOIN logistics_batchstop s ON s.batch_id = b.id
                     JOIN logistics_parcel p ON p.batch_stop_id = s.id
                     WHERE b.dispatch_date = %s AND b.status <> 'cancelled'
                     GROUP BY b.id, v.id) x""",
            [day],
        ).fetchone()
        double_booked = conn.execute(
            """SELECT count(*) FROM (SELECT vehicle_id FROM logistics_deliverybatch
                                     WHERE dispatch_date = %s AND status <> 'cancelled'
                                     GROUP BY 1 HAVING count(*) > 1) x""",
            [day],
        ).fetchone()[0]
        foreign = conn.execute(
            """SELECT count(*) FROM logistics_parcel p
               JOIN logistics_batchstop s ON s.id = p.batch_stop_id
               JOIN logistics_deliverybatch b ON b.id = s.batch_id
               LEFT JOIN bench_province_dispatch d ON d.order_id = p.order_id
               WHERE b.dispatch_date = %s AND d.order_id IS NULL""",
            [day],
        ).fetchone()[0]
        reasons = dict(
            conn.execute(
                """SELECT u.reason, count(*) FROM logistics_unplannedorder u
                   JOIN bench_province_dispatch d ON d.order_id = u.order_id GROUP BY 1"""
            ).fetchall()
        )
    check = {
        "orders": orders[0],
        "batched": orders[1],
        "still_confirmed": orders[2],
        "other_status": orders[3],
        "batched_without_parcel": orders[4],
        "confirmed_with_parcel": orders[5],
        "confirmed_without_reason": orders[6],
        "batched_with_reason": orders[7],
        "planned_twice": planned_twice,
        "batches": batches[0],
        "batches_over_capacity": batches[1],
        "batches_parcel_count_wrong": batches[2],
        "parcels": int(batches[3]),
        "largest_batch_parcels": batches[4],
        "mean_load_percent": int(batches[5]),
        "vehicles_double_booked": double_booked,
        "parcels_of_other_orders": foreign,
        "reasons": reasons,
    }
    check["exactly_once"] = (
        check["batched"] + check["still_confirmed"] == check["orders"]
        and check["parcels"] == check["batched"]
        and not any(
            check[k]
            for k in (
                "other_status",
                "batched_without_parcel",
                "confirmed_with_parcel",
                "confirmed_without_reason",
                "batched_with_reason",
                "planned_twice",
                "batches_over_capacity",
                "batches_parcel_count_wrong",
                "vehicles_double_booked",
                "parcels_of_other_orders",
            )
        )
    )
    return check


# --- 3. partner pages -------------------------------------------------------------------------------


def clone_for_pages(scale: float = 1.0) -> dict:
    meta = build(scale)
    seconds = clone(meta["template"], PAGES_DB)
    return {"database": PAGES_DB, "url": db_url(PAGES_DB), "clone_s": seconds, "template": meta["template"]}


def page_setup(database: str = PAGES_DB) -> dict:
    """Session cookie of ``partner`` and the pages to measure, with their queries counted in-process."""
    return _run_self("_pages", database, env_extra={"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"})


def _pages() -> dict:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order
    from partners.selectors import station_for_user

    user = get_user_model().objects.get(username="partner")
    station = station_for_user(user)
    number = (
        Order.objects.filter(service_center=station, status="collected")
        .order_by("-created_at")
        .values_list("number", flat=True)
        .first()
    )
    paths = {
        "dashboard": "/",
        "order list": "/orders/",
        "villager search": "/villagers/?q=1",
        "order detail": f"/orders/{number}/",
        "what sells": "/insights/",
    }
    client = Client()
    client.force_login(user)
    pages = {}
    for name, path in paths.items():
        client.get(path)  # warm: templates, translations, the session
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(path)
            ms = (time.perf_counter() - start) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code} on the province database")
        pages[name] = {
            "path": path,
            "status": response.status_code,
            "queries": len(queries.captured_queries),
            "in_process_ms": round(ms, 1),
            "bytes": len(response.content),
        }
    return {
        "session": client.cookies["sessionid"].value,
        "station": station.code,
        "station_orders": Order.objects.filter(service_center=station).count(),
        "station_villagers": station.villagers.count(),
        "pages": pages,
    }


# --- 4. what sells (orders.insights) against the province -------------------------------------------------

INSIGHT_CEILING_MS = 200
INSIGHT_REQUESTS = int(os.environ.get("BENCH_INSIGHT_REQUESTS", "30"))
LAST_YEAR = "364 days"  # orders.insights.YEAR: 52 weeks


def insight_last_year(database: str = PAGES_DB) -> dict:
    """Give "the same weeks last year" as much as this season: the history is 365 days long, so copy the collected
    orders (and their lines) of the last 120 days of PS00001's county 52 weeks back.  Two set-based INSERTs."""
    started = time.perf_counter()
    with connect(database) as conn:
        columns = conn.execute(
            """SELECT column_name, data_type FROM information_schema.columns
               WHERE table_name = 'orders_order' AND column_name <> 'id' ORDER BY ordinal_position"""
        ).fetchall()

        def moved(name: str, kind: str) -> str:
            if name == "number":
                return "'Y' || o.id::text"
            if name == "idempotency_key":
                return "'last-year-' || o.id::text"
            if kind.startswith(("timestamp", "date")):
                return f"o.{name} - interval '{LAST_YEAR}'"
            return f"o.{name}"

        names = ", ".join(c for c, _ in columns)
        values = ", ".join(moved(c, k) for c, k in columns)
        orders = conn.execute(
            f"""INSERT INTO orders_order ({names})
                SELECT {values} FROM orders_order o
                JOIN partners_servicecenter s ON s.id = o.service_center_id
                JOIN partners_village v ON v.id = s.village_id
                WHERE v.county_id = (SELECT v1.county_id FROM partners_servicecenter s1
                                     JOIN partners_village v1 ON v1.id = s1.village_id WHERE s1.code = 'PS00001')
                  AND o.status = 'collected' AND o.collected_at >= now() - interval '120 days'"""
        ).rowcount
        line_columns = [
            c
            for (c,) in conn.execute(
                """SELECT column_name FROM information_schema.columns
                   WHERE table_name = 'orders_orderline' AND column_name NOT IN ('id', 'order_id')
                   ORDER BY ordinal_position"""
            ).fetchall()
        ]
        lines = conn.execute(
            f"""INSERT INTO orders_orderline ({", ".join(line_columns)}, order_id)
                SELECT {", ".join("l." + c for c in line_columns)}, n.id FROM orders_orderline l
                JOIN orders_order n ON n.number = 'Y' || l.order_id::text"""
        ).rowcount
    with connect(database, autocommit=True) as conn:
        conn.execute("ANALYZE orders_order")
        conn.execute("ANALYZE orders_orderline")
    seconds = round(time.perf_counter() - started, 1)
    log(f"what sells: {orders} orders and {lines} lines copied 52 weeks back in {seconds} s")
    return {"last_year_orders": orders, "last_year_lines": lines, "copy_s": seconds}


def insight_bench(database: str = PAGES_DB) -> dict:
    """The "what sells" page of PS00001's partner: server time (in-process, no network) over several requests."""
    result = {"ceiling_ms": INSIGHT_CEILING_MS, **insight_last_year(database)}
    result.update(_run_self("_insights", database, env_extra={"ALLOWED_HOSTS": "127.0.0.1,localhost,testserver"}))
    result["met"] = result["p95_ms"] < INSIGHT_CEILING_MS
    log(
        f"what sells: median {result['median_ms']} ms, p95 {result['p95_ms']} ms over {result['requests']} requests "
        f"({result['queries']} queries) against the {INSIGHT_CEILING_MS} ms ceiling: "
        + ("met" if result["met"] else "NOT met")
    )
    return result


def _insights() -> dict:
    import statistics

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from orders import insights
    from orders.models import Order

    user = get_user_model().objects.get(username="partner")
    client = Client()
    client.force_login(user)
    for _ in range(3):
        client.get("/insights/")  # warm: templates, translations, the session, the database's cache
    times, statuses = [], set()
    for _ in range(INSIGHT_REQUESTS):
        start = time.perf_counter()
        response = client.get("/insights/")
        times.append((time.perf_counter() - start) * 1000)
        statuses.add(response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get("/insights/")
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    times.sort()
    season = insights.season(timezone.localdate())
    station = user.station_staff.service_center
    county = Order.objects.filter(service_center__village__county_id=station.village.county_id)
    return {
        "requests": INSIGHT_REQUESTS,
        "statuses": sorted(statuses),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))], 1),
        "max_ms": round(times[-1], 1),
        "queries": len(queries.captured_queries),
        "slowest_query_ms": round(float(slowest["time"]) * 1000, 1),
        "bytes": len(response.content),
        "orders_stored": Order.objects.count(),
        "county_orders_in_season": county.filter(
            status="collected", collected_at__gte=season.start, collected_at__lt=season.end
        ).count(),
        "county_orders_last_year": county.filter(
            status="collected",
            collected_at__gte=season.year_before().start,
            collected_at__lt=season.year_before().end,
        ).count(),
        "station": station.code,
    }


# --- placement against the province -----------------------------------------------------------------

HOT_STOCK = 300  # as in bench/run.py: the contended product, every client wants it, only this many exist


def placement_setup(database: str = PAGES_DB) -> dict:
    """What bench/run.py's placement load needs at station PS00001 of a clone: token, villagers, SKUs, a hot SKU.

    Tops up the stock of 29 cheap products at the station's warehouse, and
    leaves exactly 300 free units of a 30th that every fifth order wants.
    """
    with connect(database, autocommit=True) as conn:
        token, station_id, warehouse_id = conn.execute(
            """SELECT t.key, s.id, w.id FROM authtoken_token t JOIN auth_user u ON u.id = t.user_id
               JOIN partners_stationstaff st ON st.user_id = u.id JOIN partners_servicecenter s ON s.id = st.service_center_id
               JOIN partners_village v ON v.id = s.village_id JOIN partners_warehouse w ON w.county_id = v.county_id
               WHERE u.username = 'partner'"""
        ).fetchone()
        villagers = [
            row[0]
            for row in conn.execute("SELECT id FROM partners_villager WHERE service_center_id = %s", [station_id])
        ]
        skus = [
            row[0]
            for row in conn.execute(
                """SELECT p.sku FROM orders_product p JOIN orders_stock s ON s.product_id = p.id AND s.warehouse_id = %s
                   WHERE p.is_active AND p.price < 300 ORDER BY p.sku LIMIT 30""",
                [warehouse_id],
            )
        ]
        hot = skus.pop()
        conn.execute(
            """UPDATE orders_stock s SET on_hand = s.reserved + 10000000 FROM orders_product p
               WHERE p.id = s.product_id AND s.warehouse_id = %s AND p.sku = ANY(%s)""",
            [warehouse_id, skus],
        )
        conn.execute(
            """UPDATE orders_stock s SET on_hand = s.reserved + %s FROM orders_product p
               WHERE p.id = s.product_id AND s.warehouse_id = %s AND p.sku = %s""",
            [HOT_STOCK, warehouse_id, hot],
        )
        orders_stored = conn.execute("SELECT count(*) FROM orders_order").fetchone()[0]
        reserved = conn.execute(
            """SELECT s.reserved FROM orders_stock s JOIN orders_product p ON p.id = s.product_id
               WHERE s.warehouse_id = %s AND p.sku = %s""",
            [warehouse_id, hot],
        ).fetchone()[0]
    return {
        "token": token,
        "villagers": villagers,
        "skus": skus,
        "hot": hot,
        "hot_reserved_before": reserved,
        "warehouse_id": warehouse_id,
        "orders_stored": orders_stored,
    }


def now_in(database: str) -> datetime:
    with connect(database) as conn:
        return conn.execute("SELECT now()").fetchone()[0]


def hot_stock_check(database: str, setup: dict, *, since: datetime) -> dict:
    """The hot product's new reservations equal what the run's orders hold, and never exceed its stock."""
    with connect(database) as conn:
        on_hand, reserved = conn.execute(
            """SELECT s.on_hand, s.reserved FROM orders_stock s JOIN orders_product p ON p.id = s.product_id
               WHERE s.warehouse_id = %s AND p.sku = %s""",
            [setup["warehouse_id"], setup["hot"]],
        ).fetchone()
        held = conn.execute(
            """SELECT coalesce(sum(l.quantity), 0) FROM orders_orderline l JOIN orders_order o ON o.id = l.order_id
               JOIN orders_product p ON p.id = l.product_id
               WHERE o.warehouse_id = %s AND p.sku = %s AND o.created_at >= %s""",
            [setup["warehouse_id"], setup["hot"], since],
        ).fetchone()[0]
    return {
        "hot_reserved_in_run": reserved - setup["hot_reserved_before"],
        "held_by_orders_of_the_run": held,
        "oversold": max(0, reserved - on_hand),
        "conserved": reserved - setup["hot_reserved_before"] == held,
    }


def _users() -> dict:
    """Passwords for the users one logs in as, and the partner's DRF token (a handful of rows: the ORM is fine)."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    users = {}
    for username in ("partner", "county", "admin"):
        user = get_user_model().objects.get(username=username)
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
        users[username] = PASSWORD
    token, _ = Token.objects.get_or_create(user=get_user_model().objects.get(username="partner"))
    return {"users": users, "partner_token": token.key, "partner_station": "PS00001"}


def drop(name: str) -> None:
    """Drop one of our clones (``ruralshop_province*`` only)."""
    _drop(name)


def cost_per_order_us(run: dict) -> float:
    return round(run["plan_s"] / max(1, run["check"]["batched"]) * 1e6)


def doc_lines(p: dict) -> list[str]:
    """The province part of the generated block of docs/PERFORMANCE.md (bench/run.py calls it)."""
    b = p["build"]
    rows = b["rows"]
    lines = [
        "",
        f"**Province** (`bench/province.py`, scale {p['scale']:g}): {rows['partners_county']} counties with a warehouse, "
        f"{rows['partners_servicecenter']} stations on {rows['logistics_route']} routes, {rows['logistics_vehicle']} vehicles, "
        f"{rows['partners_villager']:,} villagers, {rows['orders_product']} products with stock everywhere "
        f"({rows['orders_stock']:,} rows), {rows['orders_order']:,} historical orders in every state with "
        f"{rows['orders_orderline']:,} lines, {rows['orders_orderevent']:,} events, {rows['logistics_parcel']:,} parcels in "
        f"{rows['logistics_deliverybatch']:,} batches and {rows['orders_commissionentry']:,} ledger entries "
        f"({b['database_mb']} MB). Generated by set-based SQL in **{b['generate_s']} s** "
        f"({b['total_s']} s with migrate and VACUUM ANALYZE; index and key rebuild "
        f"{b['steps_s'].get('indexes and keys rebuilt (and checked)', '?')} s of it), "
        + ("reused from the template built " + b["built_at"] if b.get("reused") else "built in this run")
        + "; every run works on a `CREATE DATABASE ... TEMPLATE` copy.",
    ]
    if p.get("pages"):
        lines += [
            "",
            f"Partner pages against the province (station {p['pages_setup']['station']}: "
            f"{p['pages_setup']['station_orders']} orders, {p['pages_setup']['station_villagers']} villagers; "
            f"4 clients, {p['pages_seconds']:g} s per run; load average {p['pages_load'][0]:.1f}):",
            "",
            "| page | req/s | p50 ms | p99 ms | queries | 5xx |",
            "|---|---|---|---|---|---|",
        ]
        for name, m in p["pages"].items():
            lines.append(
                f"| {name} | {m['per_s']['median']:.0f} | {m['p50_ms']['median']:.1f} | "
                f"{m['p99_ms']['median']:.1f} ({m['p99_ms']['min']:.1f}–{m['p99_ms']['max']:.1f}) | "
                f"{m['queries']} | {m['errors_5xx']} |"
            )
    if p.get("insights"):
        i = p["insights"]
        lines += [
            "",
            f"What sells (`/insights/`, station {i['station']}, {i['orders_stored']:,} orders stored; its county's "
            f"{i['county_orders_in_season']:,} orders collected this season and {i['county_orders_last_year']:,} in the "
            f"same weeks last year, {i['last_year_orders']:,} of them copied 52 weeks back for the purpose): server time "
            f"over {i['requests']} requests, median **{i['median_ms']} ms**, p95 **{i['p95_ms']} ms** (max "
            f"{i['max_ms']} ms), {i['queries']} queries, slowest query {i['slowest_query_ms']} ms; ceiling "
            f"{i['ceiling_ms']} ms: **{'met' if i['met'] else 'not met'}**.",
        ]
    if p.get("placement"):
        lines += [
            "",
            "Placement (`POST /api/v1/orders/`, the same load as above) against the province and against 10× less "
            "data (station PS00001):",
            "",
            "| scale | orders stored | orders/s | p50 ms | p99 ms | 5xx | oversold | conserved |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for m in p["placement"]:
            lines.append(
                f"| {m['scale']:g} | {m['orders_stored']:,} | {m['per_s']['median']:.0f} "
                f"({m['per_s']['min']:.0f}–{m['per_s']['max']:.0f}) | {m['p50_ms']['median']:.1f} | "
                f"{m['p99_ms']['median']:.1f} | {m['errors_5xx']} | {m['stock']['oversold']} | {m['stock']['conserved']} |"
            )
    runs = p.get("dispatch", []) + p.get("dispatch_small", [])
    if runs:
        lines += [
            "",
            "Dispatch of a province's day on real Celery workers (Redis broker; one `plan_warehouse` task per "
            "warehouse; N separate `celery worker -c 1` processes), against the set-based UPDATE floor of the same rows:",
            "",
            "| scale | orders | workers | plan s | orders/s | µs/order | UPDATE floor s | × floor | batches | exactly once | load |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for d in runs:
            c = d["check"]
            lines.append(
                f"| {d['scale']:g} | {d['orders']:,} | {d['workers']} | {d['plan_s']} | {d['orders_per_s']} | "
                f"{cost_per_order_us(d)} | {d['update_floor_s']} | {d['ratio_to_floor']} | {c['batches']} | "
                f"{c['exactly_once']} ({c['batched']:,} batched, {c['still_confirmed']} waiting with a reason, "
                f"{c['planned_twice']} twice, {c['batches_over_capacity']} over capacity) | {d['load_average'][0]:.1f} |"
            )
        by = {(d["scale"], d["workers"]): d for d in runs}
        one, two = by.get((p["scale"], 1)), by.get((p["scale"], 2))
        if one and two:
            lines += ["", f"Speed-up with 2 workers: **{one['plan_s'] / two['plan_s']:.2f} ×**."]
        small = [d for d in p.get("dispatch_small", []) if (p["scale"], d["workers"]) in by]
        for d in small:
            big = by[(p["scale"], d["workers"])]
            lines.append(
                f"Cost per order with {d['workers']} worker(s): {cost_per_order_us(d)} µs at scale {d['scale']:g} "
                f"vs {cost_per_order_us(big)} µs at scale {big['scale']:g}."
            )
    lines += ["", "`BENCH_PROVINCE=0` skips the province phases, `BENCH_SCALE` sets its scale (default 1)."]
    return lines


# --- command line ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0].startswith("_"):
        return _internal(argv)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, one dispatch run each")
    parser.add_argument("--force", action="store_true", help="regenerate the template even if it is current")
    parser.add_argument("--no-dispatch", action="store_true")
    parser.add_argument("--insights", action="store_true", help="measure the what-sells page on a clone")
    args = parser.parse_args(argv)
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
    log(f"load average {os.getloadavg()}")
    summary: dict = {"build": build(args.scale, force=args.force), "dispatch": []}
    if args.insights:
        clone_for_pages(args.scale)
        try:
            summary["insights"] = insight_bench(PAGES_DB)
        finally:
            drop(PAGES_DB)
    if not args.no_dispatch:
        for n in [int(w) for w in args.workers.split(",") if w]:
            summary["dispatch"].append(dispatch_province(args.scale, n))
    out = ROOT / "bench" / "results" / f"province-{scale_tag(args.scale)}-{int(time.time())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    b = summary["build"]
    print(f"\nprovince at scale {args.scale:g} ({b['template']}, {b['database_mb']} MB)")
    print(f"  generation {b['generate_s']} s (total with migrate and VACUUM ANALYZE {b['total_s']} s)")
    print(f"  rows: {json.dumps({k: v for k, v in b['rows'].items()}, ensure_ascii=False)}")
    for d in summary["dispatch"]:
        c = d["check"]
        print(
            f"  dispatch with {d['workers']} worker(s): {c['batched']}/{d['orders']} orders in {d['plan_s']} s "
            f"= {d['orders_per_s']} orders/s; UPDATE floor {d['update_floor_s']} s -> {d['ratio_to_floor']} x; "
            f"{c['batches']} batches; exactly once {c['exactly_once']}; unplanned {c['reasons']}"
        )
    if len(summary["dispatch"]) >= 2:
        first, last = summary["dispatch"][0], summary["dispatch"][-1]
        print(f"  speed-up {last['workers']} vs {first['workers']} worker(s): {first['plan_s'] / last['plan_s']:.2f} x")
    print(f"  wrote {out.relative_to(ROOT)}")


def _internal(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("command")
    parser.add_argument("--db", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--date")
    parser.add_argument("--floor", type=float)
    args = parser.parse_args(argv)
    if args.command == "_users":
        result = _users()
    elif args.command == "_pages":
        result = _pages()
    elif args.command == "_insights":
        result = _insights()
    elif args.command == "_dispatch":
        result = _dispatch(args.db, workers=args.workers, day=date.fromisoformat(args.date), floor=args.floor)
    else:
        raise SystemExit(f"unknown command {args.command}")
    Path(args.out).write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
