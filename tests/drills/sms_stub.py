"""An SMS gateway stub for the drills: every message appends lines to ``DRILL_SMS_LOG``.

``start <order>`` when the gateway call begins, ``sent <order>`` when the
gateway has accepted it, ``DRILL_SMS_DELAY`` seconds later (a slow gateway:
time to kill a worker mid-send).  Counting ``sent`` lines counts the SMS a
villager would have received.
"""

import os
import re
import time

ORDER_NUMBER = re.compile(r"\d{6}-[0-9A-Z]{5}-[0-9A-Z]{5}|DRILL\d+")  # a real order's number, or a drill's


def sends(path) -> list[str]:
    """The order numbers of the accepted messages, in order, duplicates included."""
    try:
        lines = open(path, encoding="utf-8").read().splitlines()  # noqa: SIM115, PTH123 - a short read
    except FileNotFoundError:
        return []
    return [line.split(" ", 1)[1] for line in lines if line.startswith("sent ")]


def starts(path) -> int:
    try:
        return sum(line.startswith("start ") for line in open(path, encoding="utf-8"))  # noqa: SIM115, PTH123
    except FileNotFoundError:
        return 0


class FileGatewayBackend:
    def send(self, *, recipient: str, text: str) -> None:
        order = ORDER_NUMBER.search(text).group(0)  # the order number inside the message
        path = os.environ["DRILL_SMS_LOG"]
        with open(path, "a", encoding="utf-8") as log:  # noqa: PTH123
            log.write(f"start {order}\n")
        time.sleep(float(os.environ.get("DRILL_SMS_DELAY", "0")))
        with open(path, "a", encoding="utf-8") as log:  # noqa: PTH123
            log.write(f"sent {order}\n")
