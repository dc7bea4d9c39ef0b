from django.core.cache import cache
from django.utils import timezone

from ruralshop.tasks import HEARTBEAT_KEY


def test_it_reports_database_cache_and_worker(client, db):
    cache.set(HEARTBEAT_KEY, timezone.now().isoformat())

    body = client.get("/healthz/").json()

    assert body["database"] == "ok"
    assert body["cache"] == "ok"
    assert body["worker"] == "ok"


def test_it_says_when_no_worker_has_been_seen(client, db):
    cache.delete(HEARTBEAT_KEY)

    body = client.get("/healthz/").json()

    assert body["worker"] == "stale"
    assert body["worker_heartbeat_age_s"] is None
