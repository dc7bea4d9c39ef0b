"""SMS outbox throughput through a real Celery worker (issue 7, item 5).

On PostgreSQL and Redis: N pending outbox rows are inserted with one INSERT,
a real ``celery -A ruralshop worker`` process is started (prefork pool, the
console SMS backend, production Celery settings: acks_late, prefetch 1), one
``send_notification`` task per row is queued the way the product queues it
(``delay_on_commit`` inside a transaction, published at commit), and the
clock stops when the last row is ``sent``.  Reported per worker concurrency:
messages/s end to end (enqueue + send), the enqueue rate alone, the worker's
drain rate, and the exactly-once check (each message's console line seen
once, ``attempts`` = 1 on every row, nothing pending, the queue empty).
Queries per message are counted once in-process around ``notifications.send``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ruralshop_bench REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/sms.py [--messages N] [--concurrency C ...] [--prefetch-multiplier M]

Tasks already waiting on the queue (e.g. the SMS of the placement phase of
``make bench``, which runs no worker) are purged first so that only this
run's messages are timed; their rows stay pending, as after a broker loss.
"""

import argparse
import collections
import json
import logging
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ruralshop_bench")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/3")
os.environ.setdefault("RURALSHOP_ENV", "development")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruralshop.settings")
os.environ["DEBUG"] = "false"  # DEBUG keeps every query in memory: not how it runs

import django  # noqa: E402

django.setup()

import redis  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Count, Max, Min, Q  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from notifications import services as notifications  # noqa: E402
from notifications.models import Notification  # noqa: E402
from notifications.tasks import send_notification  # noqa: E402
from ruralshop.celery import app  # noqa: E402

N = Notification.Status
CONSOLE = "notifications.sms.ConsoleBackend"


def say(message: str) -> None:
    print(f"[sms {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def insert_pending(n: int, tag: str) -> list[int]:
    """N pending ``order_placed`` messages in one INSERT; each names its own order number ``SMS<tag>-<i>``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {Notification._meta.db_table}
                (channel, recipient, template, payload, status, attempts, last_error, created_at, reference)
            SELECT 'sms', '+86138' || lpad(g::text, 8, '0'), 'order_placed',
                jsonb_build_object('order', 'SMS' || %(tag)s || '-' || g,
                                   'pickup_code', lpad((g * 7919 %% 1000000)::text, 6, '0'),
                                   'station', '里叶村服务站'),
                'pending', 0, '', now(), 'SMS' || %(tag)s || '-' || g
            FROM generate_series(1, %(n)s) g
            RETURNING id
            """,  # noqa: S608 - the table name comes from the model
            {"tag": tag, "n": n},
        )
        return sorted(row[0] for row in cursor.fetchall())


def queries_per_message() -> dict:
    """One message sent in-process under CaptureQueriesContext, then 200 more timed (console output discarded)."""
    sms_logger = logging.getLogger("ruralshop.sms")
    handler = logging.StreamHandler(open(os.devnull, "w"))  # noqa: SIM115 - closed below
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    propagate, level = sms_logger.propagate, sms_logger.level
    sms_logger.addHandler(handler)
    sms_logger.propagate, sms_logger.level = False, logging.INFO
    try:
        first, *rest = insert_pending(201, f"q{uuid.uuid4().hex[:6]}")
        with CaptureQueriesContext(connection) as captured:
            outcome = notifications.send(first)
        assert outcome == notifications.SENT, outcome
        times = []
        for pk in rest:
            start = time.perf_counter()
            notifications.send(pk)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        sms_logger.removeHandler(handler)
        handler.stream.close()
        sms_logger.propagate, sms_logger.level = propagate, level
    return {
        "queries": len(captured.captured_queries),
        "statements": [q["sql"][:160] for q in captured.captured_queries],
        "in_process_ms_median": round(statistics.median(times), 2),
        "in_process_ms_min": round(min(times), 2),
    }


def start_worker(concurrency: int, logfile, *, prefetch_multiplier: int | None) -> tuple[subprocess.Popen, str]:
    name = f"smsbench{concurrency}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "ruralshop",
        "worker",
        "--loglevel=INFO",  # as deployed (Procfile, docker-compose): one console line per SMS
        "--pool=prefork",
        f"--concurrency={concurrency}",
        "-n",
        name,
    ]
    if prefetch_multiplier is not None:
        command.append(f"--prefetch-multiplier={prefetch_multiplier}")
    env = {**os.environ, "SMS_BACKEND": CONSOLE, "DEBUG": "false"}
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}")
        if app.control.ping(destination=[name], timeout=0.5):
            return worker, name
    stop_worker(worker)
    raise RuntimeError("the worker did not answer a ping within 60 s")


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)  # warm shutdown: finishes what it holds
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def broker_backlog() -> dict:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return {"queued": client.llen("celery"), "unacked": client.hlen("unacked")}
    finally:
        client.close()


def one_run(n: int, concurrency: int, *, prefetch_multiplier: int | None) -> dict:
    tag = uuid.uuid4().hex[:8]
    ids = insert_pending(n, tag)
    rows = Notification.objects.filter(pk__gte=ids[0], pk__lte=ids[-1])
    assert rows.count() == n, "the bench rows must be contiguous"
    purged = app.control.purge()
    with tempfile.NamedTemporaryFile(prefix="sms-worker-", suffix=".log", delete=False) as logfile:
        log_path = Path(logfile.name)
    try:
        with log_path.open("ab") as logfile:
            worker, name = start_worker(concurrency, logfile, prefetch_multiplier=prefetch_multiplier)
            try:
                say(f"concurrency {concurrency}: worker {name} up; {n} messages, {purged} stale tasks purged")
                load_before = load()
                # The product's path: delay_on_commit inside the transaction that wrote the rows,
                # published at commit (notifications.services.queue_sms).
                started = time.time()
                with transaction.atomic():
                    for pk in ids:
                        send_notification.delay_on_commit(pk)
                enqueued = time.time()
                say(f"concurrency {concurrency}: {n} tasks queued in {enqueued - started:.2f} s")
                sent, last_sent, last_change, last_said = 0, -1, time.monotonic(), time.monotonic()
                while sent < n:
                    time.sleep(0.2)
                    sent = rows.filter(status=N.SENT).count()
                    if sent != last_sent:
                        last_sent, last_change = sent, time.monotonic()
                        if last_change - last_said > 2 or sent == n:
                            say(f"concurrency {concurrency}: {sent}/{n} sent")
                            last_said = last_change
                    elif time.monotonic() - last_change > 60:
                        raise RuntimeError(f"no progress for 60 s at {sent}/{n} sent")
                load_after = load()
                time.sleep(1)  # a duplicate delivery, if any, would show up now
            finally:
                stop_worker(worker)
        lines = log_path.read_text(errors="replace")
    finally:
        log_path.unlink(missing_ok=True)
    summary = rows.aggregate(
        first=Min("sent_at"),
        last=Max("sent_at"),
        pending=Count("pk", filter=Q(status=N.PENDING)),
        failed=Count("pk", filter=Q(status=N.FAILED)),
        not_once=Count("pk", filter=~Q(attempts=1)),
    )
    seen = collections.Counter(re.findall(rf"SMS to \S+: \S*?(SMS{tag}-\d+)已在", lines))
    end_to_end = summary["last"].timestamp() - started
    drain = (summary["last"] - summary["first"]).total_seconds()
    backlog = broker_backlog()
    exactly_once = (
        len(seen) == n
        and max(seen.values()) == 1
        and summary["pending"] == summary["failed"] == summary["not_once"] == 0
        and backlog == {"queued": 0, "unacked": 0}
    )
    return {
        "concurrency": concurrency,
        "pool": "prefork",
        "prefetch_multiplier": prefetch_multiplier or settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
        "messages": n,
        "enqueue_s": round(enqueued - started, 3),
        "enqueue_per_s": round(n / (enqueued - started)),
        "end_to_end_s": round(end_to_end, 3),
        "messages_per_s": round(n / end_to_end),
        "drain_per_s": round((n - 1) / drain) if drain else None,
        "sms_lines": sum(seen.values()),
        "distinct_messages_in_log": len(seen),
        "duplicates": sum(c - 1 for c in seen.values()),
        "pending": summary["pending"],
        "failed": summary["failed"],
        "attempts_not_1": summary["not_once"],
        "broker_after": backlog,
        "exactly_once": exactly_once,
        "load_before": load_before,
        "load_after": load_after,
    }


def sms_bench(n: int = 5000, concurrencies: tuple[int, ...] = (1, 2), prefetch_multiplier: int | None = None) -> dict:
    """Messages/s through a real worker at each concurrency; queries per message; the exactly-once check."""
    assert connection.vendor == "postgresql" and settings.REDIS_URL, "the SMS bench needs PostgreSQL and Redis"
    say(f"database {settings.DATABASES['default']['NAME']}, broker {settings.CELERY_BROKER_URL}; load {load()}")
    cost = queries_per_message()
    say(f"in-process: {cost['queries']} queries per message, {cost['in_process_ms_median']} ms (median)")
    runs = [one_run(n, c, prefetch_multiplier=prefetch_multiplier) for c in concurrencies]
    for run in runs:
        say(
            f"concurrency {run['concurrency']}: {run['messages_per_s']} messages/s end to end "
            f"(enqueue {run['enqueue_per_s']}/s, drain {run['drain_per_s']}/s), exactly once: {run['exactly_once']}, "
            f"load {run['load_before']} -> {run['load_after']}"
        )
    return {"messages": n, "backend": CONSOLE, "cpus": os.cpu_count(), **cost, "runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, action="append", help="worker processes; repeat (default 1 and 2)")
    parser.add_argument("--prefetch-multiplier", type=int, default=None, help="override for an experiment")
    parser.add_argument("--out", type=Path, default=None, help="JSON results (default bench/results/sms-*.json)")
    args = parser.parse_args()
    result = sms_bench(args.messages, tuple(args.concurrency or (1, 2)), args.prefetch_multiplier)
    out = args.out or ROOT / "bench" / "results" / f"sms-{date.today():%Y%m%d}-{int(time.time())}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    say(f"wrote {out}")


if __name__ == "__main__":
    main()
