"""The settings of the test suite: the product's (ruralshop.settings, RURALSHOP_ENV=test) plus the drills' hook.

pytest selects this module (pyproject.toml), and so do the child processes of
the drills (tests/drills): a deployment imports ruralshop.settings, which has
no such knob.
"""

from ruralshop.settings import *  # noqa: F403
from ruralshop.settings import env

# Fault drills only: seconds the planner sleeps after each committed batch, so a
# drill can SIGKILL it half way (logistics.services reads it with a default of 0).
DISPATCH_DRILL_PAUSE_AFTER_BATCH = env.float("DISPATCH_DRILL_PAUSE_AFTER_BATCH", default=0.0)
