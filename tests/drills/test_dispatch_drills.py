"""Fault drills of consolidated dispatch, on PostgreSQL, with real planner processes.

DESIGN.md promises: two workers planning at once, a retried task, or a worker
killed half way never put an order in two batches and never lose one; and a
county's day plans in seconds with queries that grow with batches, not
orders.  Each drill provokes one of those faults against committed data
(``transactional_db``) and then checks the whole day with
``assert_every_eligible_order_in_exactly_one_batch``.

The last three drills reproduce planner bugs they found (stale reasons after a
kill, a route skipped when another route of its warehouse was planning, a
route's run wiping the other routes' reasons); they pass since the fixes.
"""

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from logistics import planning, services
from logistics.models import BatchStop, DeliveryBatch, Parcel, UnplannedOrder, Vehicle
from logistics.tasks import plan_route, plan_warehouse
from orders.models import Order, OrderEvent
from tests.conftest import requires_postgres

from .conftest import DispatchDay

pytestmark = [requires_postgres, pytest.mark.postgres]

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench" / "results" / "dispatch_drill.json"
S = Order.Status
BUSY = "another planner is working"
LEFT_BEHIND_REASONS = {UnplannedOrder.Reason.NO_VEHICLE, UnplannedOrder.Reason.TOO_LARGE}


# --- the invariants ------------------------------------------------------------------------------


def assert_every_eligible_order_in_exactly_one_batch(dd: DispatchDay, *, finished: bool = True) -> dict:
    """The whole dispatch day of ``dd.warehouse`` is consistent; returns counts for further assertions.

    Every eligible order is batched with exactly one parcel, or still confirmed
    (with a no_vehicle/too_large reason once a run has ``finished``); every
    batch is whole (parcel count, stops, totals, within its vehicle); no vehicle
    runs twice; one confirmed->batched event per batched order.  With
    ``finished=False`` (a planner killed half way) pending orders may lack
    their reason: the run never got to write them.
    """
    orders = {
        pk: (status, station, kg, m3)
        for pk, status, station, kg, m3 in Order.objects.filter(pk__in=dd.eligible).values_list(
            "pk", "status", "service_center_id", "weight_kg", "volume_m3"
        )
    }
    batched = {pk for pk, o in orders.items() if o[0] == S.BATCHED}
    pending = {pk for pk, o in orders.items() if o[0] == S.CONFIRMED}
    strays = Counter(o[0] for pk, o in orders.items() if pk not in batched | pending)
    assert not strays, f"eligible orders neither batched nor confirmed: {dict(strays)}"

    # parcels: exactly one per batched order, none for anything else
    batches = list(
        DeliveryBatch.objects.filter(warehouse=dd.warehouse, dispatch_date=dd.day)
        .exclude(status=DeliveryBatch.Status.CANCELLED)
        .select_related("vehicle", "route")
    )
    parcels = list(
        Parcel.objects.filter(batch_stop__batch__in=batches).values_list(
            "order_id",
            "batch_stop_id",
            "batch_stop__batch_id",
            "batch_stop__service_center_id",
            "weight_kg",
            "volume_m3",
        )
    )
    per_order = Counter(p[0] for p in parcels)
    twice = [pk for pk, n in per_order.items() if n > 1]
    assert not twice, f"orders with two parcels: {twice[:10]}"
    assert Parcel.objects.filter(order_id__in=dd.eligible).count() == len(batched)
    assert set(per_order) == batched, (
        f"{len(batched - set(per_order))} batched orders without a parcel, "
        f"{len(set(per_order) - batched)} parcels of orders not batched"
    )
    assert not Parcel.objects.filter(order_id__in=dd.ineligible).exists(), "an ineligible order was planned"
    wrong = [p[0] for p in parcels if (p[3], p[4], p[5]) != orders[p[0]][1:]]
    assert not wrong, f"parcels whose station, weight or volume differ from their order: {wrong[:10]}"

    # batches: whole, within their vehicle, in route order, one run per vehicle
    stops_of = defaultdict(list)
    for stop_id, batch_id, station, sequence in BatchStop.objects.filter(batch__in=batches).values_list(
        "pk", "batch_id", "service_center_id", "sequence"
    ):
        stops_of[batch_id].append((sequence, station, stop_id))
    parcels_of_stop = Counter(p[1] for p in parcels)
    parcels_of = defaultdict(list)
    for p in parcels:
        parcels_of[p[2]].append(p)
    route_order = {
        route.pk: {stop.service_center_id: stop.sequence for stop in route.stops.all()} for route in dd.routes
    }
    fleet = {route.pk: set(route.vehicles.values_list("pk", flat=True)) for route in dd.routes}
    for batch in batches:
        mine = parcels_of[batch.pk]
        stops = sorted(stops_of[batch.pk])
        assert batch.parcel_count == len(mine) > 0, f"{batch.code}: parcel_count {batch.parcel_count}, {len(mine)}"
        assert stops, f"{batch.code} has no stop"
        assert [s[0] for s in stops] == list(range(1, len(stops) + 1)), f"{batch.code}: stop sequence {stops}"
        assert all(parcels_of_stop[s[2]] > 0 for s in stops), f"{batch.code} has an empty stop"
        sequence = [route_order[batch.route_id][s[1]] for s in stops]
        assert sequence == sorted(sequence), f"{batch.code}: stops not in route order"
        assert batch.total_weight_kg == sum((p[4] for p in mine), Decimal(0)), batch.code
        assert batch.total_volume_m3 == sum((p[5] for p in mine), Decimal(0)), batch.code
        assert batch.total_weight_kg <= batch.vehicle.capacity_kg, f"{batch.code} overloads {batch.vehicle}"
        assert batch.total_volume_m3 <= batch.vehicle.capacity_m3, f"{batch.code} overfills {batch.vehicle}"
        assert batch.vehicle_id in fleet[batch.route_id], f"{batch.code}: vehicle not of route {batch.route}"
    runs = Counter(
        DeliveryBatch.objects.filter(dispatch_date=dd.day)
        .exclude(status=DeliveryBatch.Status.CANCELLED)
        .values_list("vehicle_id", flat=True)
    )
    assert max(runs.values(), default=1) == 1, f"vehicles with two runs: {[v for v, n in runs.items() if n > 1]}"

    # the audit trail: exactly one confirmed -> batched per batched order, naming its batch
    code_of_batch = {b.pk: b.code for b in batches}
    code_of_order = {p[0]: code_of_batch[p[2]] for p in parcels}
    events = Counter(
        OrderEvent.objects.filter(order_id__in=dd.eligible, from_status=S.CONFIRMED, to_status=S.BATCHED).values_list(
            "order_id", "note"
        )
    )
    assert sum(events.values()) == len(batched), f"{sum(events.values())} batched events, {len(batched)} batched"
    assert all(events[(pk, code_of_order[pk])] == 1 for pk in batched), "an order without its one batched event"

    # the reasons: gone once planned; present for the rest when the run finished
    reasons = dict(
        UnplannedOrder.objects.filter(order_id__in=[*dd.eligible, *dd.ineligible]).values_list("order_id", "reason")
    )
    stale = [pk for pk in batched if pk in reasons]
    assert not stale, f"batched orders still listed as unplanned: {[(pk, reasons[pk]) for pk in stale[:10]]}"
    if finished:
        unexplained = [pk for pk in pending if reasons.get(pk) not in LEFT_BEHIND_REASONS]
        assert not unexplained, (
            f"confirmed orders left without a reason: {[(pk, reasons.get(pk)) for pk in unexplained[:10]]}"
        )
        assert all(reasons.get(pk) == UnplannedOrder.Reason.TOO_LARGE for pk in dd.too_large)
        assert {pk: reasons.get(pk) for pk in dd.ineligible} == dd.ineligible
    assert set(Order.objects.filter(pk__in=dd.ineligible).values_list("status", flat=True)) == {S.CONFIRMED}
    return {"batched": len(batched), "pending": pending, "batches": len(batches)}


def assert_all_planned(dd: DispatchDay) -> dict:
    """Full invariants, and nothing left behind but the orders no vehicle can carry (the fleet has 25 % headroom)."""
    state = assert_every_eligible_order_in_exactly_one_batch(dd)
    assert state["pending"] == set(dd.too_large), f"{len(state['pending'] - set(dd.too_large))} orders not planned"
    return state


# --- planner processes ----------------------------------------------------------------------------


def planner_env(**extra: str) -> dict[str, str]:
    """This environment, pointed at the test database (not the development one)."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(str(db["PASSWORD"]), safe="")
    url = f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{quote(db['NAME'])}"
    env = os.environ.copy()
    env.pop("DISPATCH_DRILL_PAUSE_AFTER_BATCH", None)
    env.update(DATABASE_URL=url, RURALSHOP_ENV="test", DJANGO_SETTINGS_MODULE="tests.settings", **extra)
    return env


class Planners:
    """Child processes on the test database: ``planners(dd, **env)`` runs ``manage.py plan_dispatch``."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def __call__(self, dd: DispatchDay, **env: str) -> subprocess.Popen:
        return self.start(
            ["manage.py", "plan_dispatch", "--warehouse", dd.warehouse.code, "--date", dd.day.isoformat()], **env
        )

    def python(self, code: str, *args, **env: str) -> subprocess.Popen:
        """A Django script (``python -c``) for what the command cannot do: a route's task, the lock left out."""
        return self.start(["-c", SCRIPT_PREAMBLE + code, *map(str, args)], **env)

    def start(self, argv: list[str], **env: str) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, *argv],
            cwd=REPO,
            env=planner_env(**env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


SCRIPT_PREAMBLE = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
"""


@pytest.fixture
def planners(transactional_db):
    """None of them outlives the test (nor holds a lock during the data flush)."""
    children = Planners()
    yield children
    children.stop_all()


def finish(proc: subprocess.Popen, timeout: float = 60) -> str:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"planner exited {proc.returncode}:\n{out}\n{err}"
    return out


def planning_lock_held(dd: DispatchDay) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %s"
            " AND objid::bigint = %s AND objsubid = 2",
            [planning.ADVISORY_NAMESPACE, dd.warehouse.pk],
        )
        return cursor.fetchone()[0] > 0


def wait_for(condition, *, timeout: float, every: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(every)


def record(figures: dict) -> None:
    """Merge figures into bench/results/dispatch_drill.json."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    try:
        data = json.loads(RESULTS.read_text())
    except (FileNotFoundError, ValueError):
        data = {}
    data.update(database=connection.vendor, python=platform.python_version(), cpus=os.cpu_count(), **figures)
    RESULTS.write_text(json.dumps(data, indent=2) + "\n")


# --- drill 1: two planners at once ------------------------------------------------------------------


@pytest.mark.parametrize("pause", [None, "0.2"], ids=["flat-out", "overlapping"])
def test_two_planners_at_once_never_batch_an_order_twice(county, planners, pause):
    # given a day of 1,500 confirmed orders for one route of six stations and six vehicles
    dd = county()
    env = {"DISPATCH_DRILL_PAUSE_AFTER_BATCH": pause} if pause else {}

    # when two planner processes start together for the same warehouse and date
    first, second = planners(dd, **env), planners(dd, **env)
    outputs = [finish(first), finish(second)]

    # then the day is planned once: one planner worked, the other stepped aside or found nothing left
    state = assert_all_planned(dd)
    assert sum(BUSY in out for out in outputs) <= 1
    assert state["batches"] >= 4, "the drill needs several batches to mean anything"
    print(
        f"\n  two planners ({pause or 'no'} pause): {state['batches']} batches, {state['batched']} orders, "
        f"stepped aside: {[BUSY in out for out in outputs]}"
    )


# The planner without its advisory lock, as behind PgBouncer in transaction mode (a
# session-level lock means nothing there): only the row claims and the constraints remain.
# The lock is taken in logistics.planning (services only re-exports it): patched where it is looked up.
UNLOCKED_PLANNER = """
import contextlib
from django.core.management import call_command
from logistics import planning
planning._planning_lock = contextlib.contextmanager(lambda warehouse: (yield True))
call_command("plan_dispatch", *sys.argv[1:])
"""


def test_without_the_advisory_lock_the_row_claims_alone_keep_orders_in_one_batch(county, planners):
    # given a day of 1,500 confirmed orders
    dd = county()

    # when two planners without the warehouse lock run at once, overlapping batch by batch
    args = ["--warehouse", dd.warehouse.code, "--date", dd.day.isoformat()]
    racers = [planners.python(UNLOCKED_PLANNER, *args, DISPATCH_DRILL_PAUSE_AFTER_BATCH="0.5") for _ in range(2)]
    outputs = [finish(proc) for proc in racers]

    # then they really raced, and still no order is in two batches nor any vehicle on two runs
    assert any("taken by another planner" in out for out in outputs), outputs
    raced = assert_every_eligible_order_in_exactly_one_batch(dd, finished=False)

    # and a normal run afterwards plans what it has trucks for; each order still left says why. Without the lock
    # the racers can each commit a batch half full (the other held some of its orders), so whether the fleet's
    # 25 % headroom is enough for the rest depends on the interleaving: complete days are the lock's promise
    # (the drills above), not this one's.
    finish(planners(dd))
    state = assert_every_eligible_order_in_exactly_one_batch(dd)
    left = set(state["pending"]) - set(dd.too_large)
    reasons = set(UnplannedOrder.objects.filter(order_id__in=left).values_list("reason", flat=True))
    assert reasons <= {UnplannedOrder.Reason.NO_VEHICLE}, reasons
    assert len(UnplannedOrder.objects.filter(order_id__in=left)) == len(left), "an order left without its reason"
    print(
        f"\n  unlocked race: {raced['batched']} orders in {raced['batches']} batches; after a rerun {state['batched']}"
    )


# --- drill 2: SIGKILL half way ---------------------------------------------------------------------------


def kill_after_first_batch(dd: DispatchDay, planners: Planners) -> None:
    """Start a planner that pauses 1 s after each batch; SIGKILL it once a batch of the day is committed."""
    batches_of_day = DeliveryBatch.objects.filter(warehouse=dd.warehouse, dispatch_date=dd.day)
    victim = planners(dd, DISPATCH_DRILL_PAUSE_AFTER_BATCH="1")
    wait_for(lambda: victim.poll() is not None or batches_of_day.exists(), timeout=30, what="the first batch")
    assert victim.poll() is None, f"the planner ended before it could be killed: {victim.communicate()}"
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    assert victim.returncode == -signal.SIGKILL


def test_a_planner_killed_half_way_leaves_whole_batches_and_the_rerun_plans_the_rest(county, planners):
    # given a day of 1,500 confirmed orders
    dd = county()

    # when a planner is SIGKILLed after its first batch was committed
    kill_after_first_batch(dd, planners)

    # then what it left is whole: complete batches, and every other order untouched and still confirmed
    half = assert_every_eligible_order_in_exactly_one_batch(dd, finished=False)
    assert 1 <= half["batches"] and len(half["pending"]) > len(dd.too_large), "not killed half way"
    assert not UnplannedOrder.objects.filter(warehouse=dd.warehouse).exists(), "it died before writing reasons"

    # and its planning lock died with its session, so a rerun is not turned away
    wait_for(lambda: not planning_lock_held(dd), timeout=10, what="the killed planner's lock to go")
    out = finish(planners(dd))
    assert BUSY not in out

    # then every eligible order is in exactly one batch
    state = assert_all_planned(dd)
    assert state["batches"] > half["batches"]
    print(
        f"\n  killed after {half['batches']} batch(es) ({half['batched']} orders); the rerun completed "
        f"{state['batches']} batches, {state['batched']} orders"
    )


def test_a_replan_killed_half_way_leaves_no_batched_order_listed_as_unplanned(county, planners):
    # given a first plan made while every truck was in the workshop: all orders "no vehicle left today"
    dd = county()
    Vehicle.objects.filter(warehouse=dd.warehouse).update(is_active=False)
    services.plan_dispatch(warehouse=dd.warehouse, dispatch_date=dd.day)
    assert UnplannedOrder.objects.filter(order__in=dd.eligible, reason="no_vehicle").count() == len(dd.eligible)
    Vehicle.objects.filter(warehouse=dd.warehouse).update(is_active=True)

    # when the re-plan with the trucks back is SIGKILLed after its first batch
    kill_after_first_batch(dd, planners)

    # then no order on a truck is still listed as left behind
    assert_every_eligible_order_in_exactly_one_batch(dd, finished=False)


# --- drill 3: the task delivered twice ------------------------------------------------------------------


def test_the_planning_task_delivered_twice_plans_nothing_the_second_time(county):
    # given a day of 1,500 confirmed orders
    dd = county()
    args = [dd.warehouse.pk, dd.day.isoformat()]

    # when the broker hands the same task out twice (acks_late: a redelivery after a lost worker)
    first = plan_warehouse.apply(args=args)
    after_first = assert_all_planned(dd)
    snapshot = (
        sorted(DeliveryBatch.objects.values_list("code", "vehicle_id", "parcel_count")),
        Parcel.objects.count(),
        OrderEvent.objects.count(),
    )
    second = plan_warehouse.apply(args=args)

    # then the second run found nothing new to plan and changed nothing
    assert first.successful() and second.successful()
    assert first.result["parcels"] == len(dd.eligible) - len(dd.too_large)
    assert first.result["batches"] == after_first["batches"]
    assert second.result == {**first.result, "batches": 0, "parcels": 0}
    assert second.result["unplanned"] == {"too_large": 3, "after_cutoff": 5, "no_route": 5}
    assert (
        sorted(DeliveryBatch.objects.values_list("code", "vehicle_id", "parcel_count")),
        Parcel.objects.count(),
        OrderEvent.objects.count(),
    ) == snapshot
    assert_all_planned(dd)


# Beat's task for one route (logistics.schedules), run in a worker process of its own.
ROUTE_TASK = """
from logistics.tasks import plan_route
print(plan_route.apply(args=[int(sys.argv[1]), sys.argv[2]]).get())
"""


def test_two_routes_of_a_warehouse_with_the_same_cutoff_are_both_planned(county, planners):
    # given two routes of one warehouse with the same cutoff (beat fires both tasks at 23:59)
    dd = county(routes=2)
    first_route, second_route = dd.routes
    on_second_route = Order.objects.filter(pk__in=dd.eligible, service_center__route_stop__route=second_route)

    # when the workers (--concurrency=2) run both, the second while the first is planning
    first = planners.python(ROUTE_TASK, first_route.pk, dd.day, DISPATCH_DRILL_PAUSE_AFTER_BATCH="1")
    wait_for(
        lambda: first.poll() is not None or DeliveryBatch.objects.filter(route=first_route).exists(),
        timeout=30,
        what="the first route's planner",
    )
    second = plan_route.apply(args=[second_route.pk, dd.day.isoformat()])
    finish(first)
    if not second.successful():  # a retry: the broker delivers it again later
        second = plan_route.apply(args=[second_route.pk, dd.day.isoformat()])

    # then the second route is planned too
    assert second.successful() and not second.result["busy"], f"{second_route.code}: {second.result}"
    assert not on_second_route.filter(status=S.CONFIRMED).exists()


def test_a_route_plan_keeps_the_reasons_of_orders_it_did_not_look_at(county):
    # given a planned warehouse of two routes: too large (route 1), after cutoff (route 2), off route
    dd = county(routes=2, orders=300)
    plan_warehouse.apply(args=[dd.warehouse.pk, dd.day.isoformat()])
    reasons = dict(UnplannedOrder.objects.values_list("order_id", "reason"))
    assert set(reasons.values()) == {"too_large", "after_cutoff", "no_route"}

    # when beat's task for the second route runs (again)
    plan_route.apply(args=[dd.routes[1].pk, dd.day.isoformat()])

    # then the reasons of the first route and of the stations on no route are still there
    assert dict(UnplannedOrder.objects.values_list("order_id", "reason")) == reasons


# --- drill 4: queries and time -------------------------------------------------------------------------------


def plan_counting_queries(dd: DispatchDay) -> tuple[services.PlanReport, int]:
    with CaptureQueriesContext(connection) as queries:
        report = services.plan_dispatch(warehouse=dd.warehouse, dispatch_date=dd.day)
    return report, len(queries)


def test_queries_grow_with_batches_not_orders(county):
    # given two warehouses with the same fleet and the same tonnage: 300 heavy orders, 1,500 light ones
    few = county(orders=300, weight_scale=5)
    many = county(orders=1500, weight_scale=1)

    # when each is planned in-process, and planned again (nothing left: the fixed cost of a run)
    few_report, few_queries = plan_counting_queries(few)
    many_report, many_queries = plan_counting_queries(many)
    _, fixed = plan_counting_queries(many)

    # then five times the orders cost no more queries: the count follows the batches
    assert_all_planned(few)
    assert_all_planned(many)
    b_few, b_many = len(few_report.batches), len(many_report.batches)
    per_batch = (many_queries - fixed) / b_many
    print(
        f"\n  queries: 300 orders -> {few_queries} ({b_few} batches), 1,500 orders -> {many_queries} "
        f"({b_many} batches); fixed {fixed}, {per_batch:.1f} per batch"
    )
    # 11 a batch with the return leg: it reads the goods waiting once per plan (in the fixed part) and,
    # on a day with goods, adds one lock and one INSERT of pickups to the runs that take some (none here).
    # Parcels and order events are one INSERT ... SELECT each, whatever the batch holds.
    assert few_queries <= 15 + 11 * b_few
    assert many_queries <= 15 + 11 * b_many
    assert many_queries - few_queries <= 11 * max(0, b_many - b_few)
    record(
        {
            "queries": {
                "orders_300": {"queries": few_queries, "batches": b_few},
                "orders_1500": {"queries": many_queries, "batches": b_many},
                "fixed_per_run": fixed,
                "per_batch": round(per_batch, 1),
            }
        }
    )


def test_a_countys_day_of_10000_orders_plans_in_seconds(county):
    # given a county's day: 10,000 confirmed orders, 4 routes of 10 stations, 40 vehicles
    dd = county(orders=10_000, routes=4, stations_per_route=10, vehicles_per_route=10)

    # when it is planned in-process
    start = time.perf_counter()
    report, queries = plan_counting_queries(dd)
    seconds = time.perf_counter() - start

    # then every eligible order went out (the time is measured, not asserted)
    state = assert_all_planned(dd)
    assert report.parcels == state["batched"] == 10_000
    rate = report.parcels / seconds
    print(f"\n  10,000 orders: {seconds:.2f} s, {rate:.0f} parcels/s, {len(report.batches)} batches, {queries} queries")
    record(
        {
            "county_day": {
                "orders": len(dd.eligible) + len(dd.ineligible),
                "parcels": report.parcels,
                "batches": len(report.batches),
                "queries": queries,
                "plan_s": round(seconds, 2),
                "parcels_per_s": round(rate),
                "unplanned": {str(k): v for k, v in report.unplanned.items()},
            }
        }
    )
