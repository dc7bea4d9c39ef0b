"""The delivery promise made at placement: the day the goods will be at the station.

Orders cannot read routes (logistics sits above), so logistics registers the function that knows them
(``register``, from ``LogisticsConfig.ready``); without it the promise is the county's standard: placed
day plus ``County.promise_days``.
"""

from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.utils import timezone

from partners.models import ServiceCenter

_promiser: Callable[[ServiceCenter, datetime], date] | None = None


def register(promiser: Callable[[ServiceCenter, datetime], date]) -> None:
    global _promiser
    _promiser = promiser


def standard(station: ServiceCenter, at: datetime) -> date:
    """The county's promise: at most ``promise_days`` after the day of placing."""
    return timezone.localdate(at) + timedelta(days=station.village.county.promise_days)


def promise_for(station: ServiceCenter, at: datetime) -> date:
    return _promiser(station, at) if _promiser is not None else standard(station, at)
