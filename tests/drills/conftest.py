"""A county's dispatch day, built set-based: one warehouse, routes of stations, vehicles, confirmed orders.

``county(...)`` builds one (call it more than once for several warehouses);
the data is committed (``transactional_db``) so planner processes see it.
"""

import itertools
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from logistics.models import Route, RouteStop, Vehicle
from orders.models import Order
from partners.models import Warehouse
from tests.factories import (
    CountyFactory,
    RouteFactory,
    ServiceCenterFactory,
    UserFactory,
    VehicleFactory,
    VillagerFactory,
    WarehouseFactory,
)

DAY = date(2026, 11, 24)  # the dispatch date (a Tuesday); orders were confirmed the day before
CUTOFF = time(23, 59)
SHANGHAI = ZoneInfo("Asia/Shanghai")
HEADROOM = Decimal("1.25")  # the fleet of a route carries 25 % more than its orders weigh and measure
MEAN_KG, MEAN_M3 = Decimal("20.5"), Decimal("0.1025")  # of an ordinary order (uniform 1-40 kg, 0.005-0.2 m³)


@dataclass
class DispatchDay:
    warehouse: Warehouse
    routes: list[Route]
    vehicles: list[Vehicle]
    day: date
    eligible: list[int] = field(default_factory=list)  # confirmed before the cutoff, on a route: to plan
    too_large: list[int] = field(default_factory=list)  # eligible, but heavier than every vehicle of their route
    ineligible: dict[int, str] = field(default_factory=dict)  # order pk -> the reason it must stay confirmed


def _capacities(load: Decimal, count: int) -> list[Decimal]:
    """``count`` vehicles, the largest three times the smallest, together HEADROOM x ``load``."""
    shares = [Decimal(3 * count - 2 * i) for i in range(count)]  # e.g. 6 vehicles: 18, 16, ... 8
    return [(load * HEADROOM * s / sum(shares)).quantize(Decimal("0.01")) for s in shares]


@pytest.fixture
def county(transactional_db):
    """county(orders=1500, routes=1, stations_per_route=6, vehicles_per_route=6, weight_scale=1, ...) -> DispatchDay."""
    tags = itertools.count(1)

    def build(
        *,
        orders: int = 1500,
        routes: int = 1,
        stations_per_route: int = 6,
        vehicles_per_route: int = 6,
        weight_scale: int = 1,
        too_large: int = 3,
        after_cutoff: int = 5,
        off_route: int = 5,
        seed: int = 20261124,
    ) -> DispatchDay:
        tag = f"D{next(tags)}"
        rng = random.Random(seed)
        scale = Decimal(weight_scale)
        area = CountyFactory()
        warehouse = WarehouseFactory(county=area, code=f"{tag}-WH")
        user = UserFactory(username=f"{tag.lower()}-partner")
        result = DispatchDay(warehouse=warehouse, routes=[], vehicles=[], day=DAY)

        stations_of_route = []
        per_route = orders // routes
        for r in range(routes):
            route = RouteFactory(warehouse=warehouse, code=f"{tag}-R{r + 1}", cutoff_time=CUTOFF)
            stations = [
                ServiceCenterFactory(code=f"{tag}-R{r + 1}-S{s + 1}", village__county=area)
                for s in range(stations_per_route)
            ]
            RouteStop.objects.bulk_create(
                RouteStop(route=route, service_center=station, sequence=s + 1) for s, station in enumerate(stations)
            )
            kgs = _capacities(per_route * MEAN_KG * scale, vehicles_per_route)
            m3s = _capacities(per_route * MEAN_M3 * scale, vehicles_per_route)
            vehicles = [
                VehicleFactory(warehouse=warehouse, plate=f"{tag}-{r + 1}-{v + 1:02d}", capacity_kg=kg, capacity_m3=m3)
                for v, (kg, m3) in enumerate(zip(kgs, m3s, strict=True))
            ]
            route.vehicles.add(*vehicles)
            result.routes.append(route)
            result.vehicles.extend(vehicles)
            stations_of_route.append(stations)
        lonely = ServiceCenterFactory(code=f"{tag}-OFF", village__county=area)  # on no route
        villager_of = {
            station.pk: VillagerFactory(service_center=station).pk
            for station in [lonely, *itertools.chain.from_iterable(stations_of_route)]
        }

        day_before = datetime.combine(DAY - timedelta(days=1), time(0), tzinfo=SHANGHAI)
        after = datetime.combine(DAY, time(23, 59, 30), tzinfo=SHANGHAI)
        biggest_kg = max(v.capacity_kg for v in result.vehicles)
        rows, expected = [], []  # expected: (kind, reason) per row

        def order(station_id: int, kg: Decimal, m3: Decimal, confirmed_at: datetime) -> None:
            n = len(rows)
            rows.append(
                Order(
                    number=f"{tag}-{n:07d}",
                    service_center_id=station_id,
                    villager_id=villager_of[station_id],
                    placed_by=user,
                    warehouse=warehouse,
                    status=Order.Status.CONFIRMED,
                    delivery_method=Order.DeliveryMethod.STATION_PICKUP,
                    payment_method=Order.PaymentMethod.CASH_AT_STATION,
                    total=Decimal("100.00"),
                    item_count=1,
                    weight_kg=kg,
                    volume_m3=m3,
                    pickup_code=f"{n % 1_000_000:06d}",
                    idempotency_key=f"drill-{tag}-{n}",
                    request_hash="",
                    confirmed_at=confirmed_at,
                )
            )

        all_stations = list(itertools.chain.from_iterable(stations_of_route))
        for i in range(orders):
            station = stations_of_route[i % routes][(i // routes) % stations_per_route]
            kg = Decimal(f"{rng.uniform(1, 40):.3f}") * scale
            m3 = Decimal(f"{rng.uniform(0.005, 0.2):.4f}") * scale
            order(station.pk, kg, m3, day_before + timedelta(minutes=rng.randrange(24 * 60)))
            expected.append(("eligible", None))
        for _ in range(too_large):
            order(
                all_stations[0].pk, (biggest_kg * Decimal("1.2")).quantize(Decimal("0.001")), Decimal("1"), day_before
            )
            expected.append(("too_large", "too_large"))
        for _ in range(after_cutoff):
            order(all_stations[-1].pk, Decimal("5"), Decimal("0.01"), after)
            expected.append(("ineligible", "after_cutoff"))
        for _ in range(off_route):
            order(lonely.pk, Decimal("5"), Decimal("0.01"), day_before)
            expected.append(("ineligible", "no_route"))

        created = Order.objects.bulk_create(rows, batch_size=2000)
        for obj, (kind, reason) in zip(created, expected, strict=True):
            if kind == "ineligible":
                result.ineligible[obj.pk] = reason
            else:
                result.eligible.append(obj.pk)
                if kind == "too_large":
                    result.too_large.append(obj.pk)
        return result

    return build


# --- processes of the fault drills: a private Redis, gunicorn, a Celery worker, Django scripts ---------

import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import urllib.error  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from time import monotonic, sleep  # noqa: E402 - datetime.time is imported above
from urllib.parse import quote  # noqa: E402

from django.db import connection  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
GUNICORN_PORT = 8813  # this drill suite's own port: nothing else on the machine uses it
DJANGO_SCRIPT = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
"""


def child_env(**extra: str) -> dict:
    """The environment of a child process: the test database (committed rows only), ``extra`` on top."""
    db = connection.settings_dict
    url = f"postgres://{quote(db['USER'] or '')}:{quote(db['PASSWORD'] or '')}@{db['HOST'] or '127.0.0.1'}:"
    url += f"{db['PORT'] or 5432}/{quote(db['NAME'])}"
    env = os.environ.copy()
    env.pop("DISPATCH_DRILL_PAUSE_AFTER_BATCH", None)
    env.update(DATABASE_URL=url, RURALSHOP_ENV="test", DJANGO_SETTINGS_MODULE="tests.settings", PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


def wait_until(condition, *, timeout: float, every: float = 0.05, what: str = "condition") -> None:
    deadline = monotonic() + timeout
    while not condition():
        assert monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        sleep(every)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PrivateRedis:
    """A redis-server of the drill's own on ``port`` (6391-6395), without persistence: a restart empties it.

    Never the machine's Redis on 6379: other people use it.
    """

    def __init__(self, port: int) -> None:
        assert 6391 <= port <= 6395, "drills use the private ports 6391-6395 only"
        self.port = port
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        if not shutil.which("redis-server"):
            pytest.skip("needs the redis-server program for a private Redis (apt install redis-server)")
        assert not port_open(self.port), f"port {self.port} is taken: a redis of an interrupted drill?"
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--daemonize", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(lambda: port_open(self.port), timeout=10, what=f"redis on {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # like a crash: whatever it held is gone (no persistence)
            self.proc.wait(timeout=10)
        wait_until(lambda: not port_open(self.port), timeout=10, what=f"redis on {self.port} to stop")

    def queued(self, queue: str = "celery") -> int:
        out = subprocess.run(
            ["redis-cli", "-p", str(self.port), "LLEN", queue], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip())


class Children:
    """Processes a drill starts; ``stop_all`` (the fixture's teardown) kills whichever still runs."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []
        self.redis: list[PrivateRedis] = []

    def start(self, argv: list[str], *, env: dict, log: Path | None = None) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - closed with the process
        # A session of its own: stop_all kills gunicorn's worker with its master, not an orphan holding the port.
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if log:
            out.close()
        self.started.append(proc)
        return proc

    def python(self, code: str, *args, env: dict) -> subprocess.CompletedProcess:
        """Run a Django script (``python -c``) to its end; its output, or a failure with it."""
        done = subprocess.run(
            [sys.executable, "-c", DJANGO_SCRIPT + code, *map(str, args)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, f"script exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
        return done

    def private_redis(self, port: int) -> PrivateRedis:
        redis = PrivateRedis(port)
        self.redis.append(redis)
        redis.start()
        return redis

    def gunicorn(self, *, env: dict, log: Path) -> str:
        """gunicorn with one sync worker on GUNICORN_PORT, as in production; its base URL once it answers."""
        wait_until(
            lambda: not port_open(GUNICORN_PORT), timeout=10, what=f"port {GUNICORN_PORT} (an earlier gunicorn?)"
        )
        argv = [sys.executable, "-m", "gunicorn", "ruralshop.wsgi:application", "--bind", f"127.0.0.1:{GUNICORN_PORT}"]
        proc = self.start([*argv, "--workers", "1", "--timeout", "30"], env=env, log=log)
        base = f"http://127.0.0.1:{GUNICORN_PORT}"

        def up() -> bool:
            assert proc.poll() is None, f"gunicorn exited {proc.returncode}:\n{log.read_text()}"
            try:
                urllib.request.urlopen(base + "/healthz/", timeout=2).close()  # noqa: S310 - our own server
            except urllib.error.HTTPError:
                return True  # it answers (503 when a dependency is down): it is up
            except OSError:
                return False
            return True

        wait_until(up, timeout=20, every=0.1, what="gunicorn")
        return base

    def celery_worker(self, *, env: dict, log: Path) -> subprocess.Popen:
        argv = [sys.executable, "-m", "celery", "-A", "ruralshop", "worker", "--pool=solo", "--loglevel=INFO"]
        return self.start([*argv, "--without-gossip", "--without-mingle", "--without-heartbeat"], env=env, log=log)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        for redis in self.redis:
            redis.stop()


@pytest.fixture
def children(transactional_db):
    """None of them outlives the test (nor holds a connection while the test data is flushed)."""
    started = Children()
    yield started
    started.stop_all()
