"""/healthz: is the database, the cache and a Celery worker alive?"""

from datetime import datetime

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.utils import timezone

from .tasks import HEARTBEAT_KEY

# Beat runs the heartbeat every minute; three missed beats means trouble.
HEARTBEAT_STALE_AFTER = 180


def healthz(request):
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is a failed check
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        seen = cache.get(HEARTBEAT_KEY)
        checks["cache"] = "ok"
    except Exception as exc:  # noqa: BLE001
        seen = None
        checks["cache"] = f"error: {type(exc).__name__}"
    age = (timezone.now() - datetime.fromisoformat(seen)).total_seconds() if seen else None
    checks["worker_heartbeat_age_s"] = round(age) if age is not None else None
    healthy = checks["database"] == "ok" and checks["cache"] == "ok"
    checks["worker"] = "ok" if age is not None and age < HEARTBEAT_STALE_AFTER else "stale"
    return JsonResponse(checks, status=200 if healthy else 503)
