"""A django-celery-beat entry per route, at its cutoff on its departure days (editable in the admin)."""

import json

from django.conf import settings
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from .models import Route

TASK = "logistics.tasks.plan_route"


def task_name(route: Route) -> str:
    return f"plan dispatch: {route.warehouse.code} {route.code}"


def sync_route_schedule(route: Route) -> PeriodicTask:
    """Create or move the route's planning entry to its cutoff time and weekdays."""
    # cron counts Sunday as 0; our weekdays are ISO (Monday 1 .. Sunday 7).
    days = ",".join(sorted({str(int(d) % 7) for d in route.departure_weekdays}))
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=str(route.cutoff_time.minute),
        hour=str(route.cutoff_time.hour),
        day_of_week=days,
        day_of_month="*",
        month_of_year="*",
        timezone=settings.TIME_ZONE,
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=task_name(route),
        defaults={"task": TASK, "crontab": schedule, "interval": None, "args": json.dumps([route.pk]), "enabled": True},
    )
    return task


def remove_route_schedule(route: Route) -> None:
    PeriodicTask.objects.filter(name=task_name(route)).delete()
