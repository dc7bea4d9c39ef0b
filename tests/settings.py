"""The settings of the test suite: the product's (ruralshop.settings, RURALSHOP_ENV=test) plus the drills' hook.

pytest selects this module (pyproject.toml), and so do the child processes of
the drills (tests/drills): a deployment imports ruralshop.settings, which has
no such knob.
"""

import os
import re
from pathlib import Path


def _own_servers_per_worker() -> None:
    """Under pytest-xdist (`make test` runs two workers), each worker gets its own Redis database and
    var/ folder; pytest-django already gives each its own test database (test_…_gw0, test_…_gw1).

    The environment is rewritten before the product's settings read it, and marked, so the
    processes a test starts (the drills' planners, Celery workers) inherit the same servers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker or os.environ.get("RURALSHOP_TEST_WORKER") == worker:
        return
    os.environ["RURALSHOP_TEST_WORKER"] = worker
    number = int(worker.removeprefix("gw"))
    if redis_url := os.environ.get("REDIS_URL"):
        match = re.fullmatch(r"(.*/)(\d+)", redis_url)
        base, db = (match.group(1), int(match.group(2))) if match else (redis_url.rstrip("/") + "/", 0)
        os.environ["REDIS_URL"] = f"{base}{(db + number) % 16}"
    var = Path(os.environ.get("RURALSHOP_VAR_DIR", Path(__file__).resolve().parent.parent / "var" / "test"))
    os.environ["RURALSHOP_VAR_DIR"] = str(var / worker)


_own_servers_per_worker()

from ruralshop.settings import *  # noqa: E402, F403
from ruralshop.settings import env  # noqa: E402

# Fault drills only: seconds the planner sleeps after each committed batch, so a
# drill can SIGKILL it half way (logistics.services reads it with a default of 0).
DISPATCH_DRILL_PAUSE_AFTER_BATCH = env.float("DISPATCH_DRILL_PAUSE_AFTER_BATCH", default=0.0)
