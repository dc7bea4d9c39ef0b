"""The installation appointments a manifest shows: an installation stop's day and half-day, while one is live.

Logistics cannot read appointments (installations sits above), so installations registers the function that
does (``register``, from ``InstallationsConfig.ready``): given order ids, it answers ``{order_id: (day,
half_day)}`` for those with a live appointment, in one query.  Without it no stop has an appointment.
"""

from collections.abc import Callable, Iterable
from datetime import date

from django.utils.translation import gettext_lazy as _

Lookup = Callable[[list[int]], dict[int, tuple[date, str]]]

# The half-days' names, as installations.models.Appointment.HalfDay names them (the same messages).
HALF_DAYS = {"am": _("morning"), "pm": _("afternoon")}

_lookup: Lookup | None = None


def register(lookup: Lookup) -> None:
    global _lookup
    _lookup = lookup


def live_for(order_ids: Iterable[int]) -> dict[int, tuple[date, str]]:
    """The live appointment (day, half-day) of each of the orders that has one: one query, none for no orders."""
    ids = sorted(set(order_ids))
    if not ids or _lookup is None:
        return {}
    return _lookup(ids)


def as_json(slot: tuple[date, str] | None) -> dict | None:
    """An appointment as the manifest's JSON gives it: ``{"day": "2026-11-26", "half_day": "am"}``, or None."""
    return None if slot is None else {"day": slot[0].isoformat(), "half_day": slot[1]}
