"""How long goods wait at the station: the collection policy in force and what it says about one order's wait."""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from .models import DEFAULT_REMINDER_DAYS, DEFAULT_SEND_BACK_AFTER_DAYS, CollectionPolicy, parse_reminder_days

logger = logging.getLogger("ruralshop.orders")

NEAR_SEND_BACK_DAYS = 2  # the partner's dashboard warns this many days before the goods go back


@dataclass(frozen=True)
class Policy:
    """The reminder days (ascending, each before the send-back day) and the day uncollected goods go back."""

    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    send_back_after_days: int = DEFAULT_SEND_BACK_AFTER_DAYS

    @property
    def last_reminder_day(self) -> int | None:
        return self.reminder_days[-1] if self.reminder_days else None

    def due_reminder(self, days_waiting: int) -> int | None:
        """The latest reminder day reached after ``days_waiting`` days, or None (none yet, or it is send-back time).

        A run that comes late (the worker was down) sends this one only, never the ones it skipped.
        """
        if days_waiting >= self.send_back_after_days:
            return None
        return max((d for d in self.reminder_days if d <= days_waiting), default=None)

    def reminder_windows(self) -> list[tuple[int, int]]:
        """Each reminder day with the day its turn ends (the next reminder, or the send-back): ``[(3, 7), (7, 14)]``."""
        if not self.reminder_days:
            return []
        ends = [*self.reminder_days[1:], self.send_back_after_days]
        return list(zip(self.reminder_days, ends, strict=True))

    def send_back_on(self, arrived_on: date) -> date:
        return arrived_on + timedelta(days=self.send_back_after_days)

    def wait(self, arrived_at: datetime | None, *, today: date | None = None) -> "Wait | None":
        """What the partner is told about goods that arrived at ``arrived_at``; None without an arrival."""
        if arrived_at is None:
            return None
        today = today or timezone.localdate()
        arrived_on = timezone.localtime(arrived_at).date()
        days = days_waiting(arrived_at, today=today)
        send_back_on = self.send_back_on(arrived_on)
        if days >= self.send_back_after_days - NEAR_SEND_BACK_DAYS:
            stage = Wait.SEND_BACK_SOON
        elif self.last_reminder_day is not None and days >= self.last_reminder_day:
            stage = Wait.REMINDED
        else:
            stage = Wait.WAITING
        return Wait(days=days, stage=stage, send_back_on=send_back_on, days_left=(send_back_on - today).days)


@dataclass(frozen=True)
class Wait:
    """How long one order's goods have waited and how close they are to going back."""

    WAITING = "waiting"  # reminders still to come
    REMINDED = "reminded"  # past the last reminder day: every reminder has gone, the villager has not come
    SEND_BACK_SOON = "send_back_soon"  # the send-back day is near (or here)

    days: int
    stage: str
    send_back_on: date
    days_left: int  # until the send-back day; 0 or less: due back


def collection_policy() -> Policy:
    """The policy in force (one query): the admin's row, or the defaults when there is none.

    A row that does not validate (written around the admin) is not trusted: the defaults hold and it is logged.
    """
    row = CollectionPolicy.objects.filter(pk=CollectionPolicy.SINGLETON_PK).first()
    if row is None:
        return Policy()
    try:
        days = parse_reminder_days(row.reminder_days)
    except ValidationError:
        logger.error("Collection policy has unreadable reminder days %r: the defaults hold", row.reminder_days)
        return Policy()
    send_back = row.send_back_after_days
    return Policy(reminder_days=tuple(d for d in days if d < send_back), send_back_after_days=send_back)


def days_waiting(arrived_at: datetime, *, today: date | None = None) -> int:
    """Calendar days since the goods arrived (local dates: arrived yesterday evening is one day), never negative."""
    arrived_on = timezone.localtime(arrived_at).date()
    return max(((today or timezone.localdate()) - arrived_on).days, 0)


def start_of_day(day: date) -> datetime:
    """Local midnight at the start of ``day``: days waiting are counted in the station's calendar days."""
    return timezone.make_aware(datetime.combine(day, time.min))
