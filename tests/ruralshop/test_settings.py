"""The settings module is strict and its two setups are really what they claim.

Each case imports the settings in a fresh interpreter with a controlled
environment, since settings are read once per process.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

DUMP = """
import json, django
from django.conf import settings
django.setup()
from ruralshop.celery import app
from django.db import connection
db = settings.DATABASES["default"]
out = {
    "engine": db["ENGINE"], "options": db.get("OPTIONS", {}), "debug": settings.DEBUG,
    "broker": app.conf.broker_url, "backend": str(app.conf.result_backend),
    "eager": app.conf.task_always_eager, "serializer": app.conf.task_serializer,
    "accept": list(app.conf.accept_content), "time_limit": app.conf.task_time_limit,
    "visibility_timeout": app.conf.broker_transport_options.get("visibility_timeout"),
    "acks_late": app.conf.task_acks_late, "enable_utc": app.conf.enable_utc,
    "cache": settings.CACHES["default"]["BACKEND"], "time_zone": settings.TIME_ZONE,
    "language": settings.LANGUAGE_CODE, "use_tz": settings.USE_TZ,
    "beat_scheduler": app.conf.beat_scheduler,
}
if connection.vendor == "sqlite":
    with connection.cursor() as c:
        c.execute("PRAGMA journal_mode")
        out["journal_mode"] = c.fetchone()[0]
print(json.dumps(out, default=str))
"""


def run_settings(tmp_path, *argv: str, **environ) -> subprocess.CompletedProcess:
    """``python -c DUMP``, or ``python *argv``, in a fresh interpreter with ``environ``."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}}
    env.update({"DJANGO_SETTINGS_MODULE": "ruralshop.settings", "RURALSHOP_VAR_DIR": str(tmp_path)})
    env.update(environ)
    argv = argv or ("-c", DUMP)
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def dump(tmp_path, **environ) -> dict:
    result = run_settings(tmp_path, **environ)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("value", ["maybe", "ture", "2"])
def test_it_refuses_a_misspelt_boolean(tmp_path, value):
    result = run_settings(tmp_path, RURALSHOP_ENV="development", DEBUG=value)

    assert result.returncode != 0
    assert "is not a boolean" in result.stderr


def test_it_requires_a_secret_key_in_production(tmp_path):
    result = run_settings(tmp_path, RURALSHOP_ENV="production", ALLOWED_HOSTS="example.org")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_an_unknown_environment_name(tmp_path):
    result = run_settings(tmp_path, RURALSHOP_ENV="staging")

    assert result.returncode != 0
    assert "RURALSHOP_ENV" in result.stderr


def test_debug_is_off_unless_asked_for(tmp_path):
    assert dump(tmp_path, RURALSHOP_ENV="production", SECRET_KEY="x" * 50)["debug"] is False
    assert dump(tmp_path, RURALSHOP_ENV="development", DEBUG="yes")["debug"] is True


def test_the_embedded_default_is_sqlite_in_wal_mode_with_a_file_system_broker(tmp_path):
    conf = dump(tmp_path, RURALSHOP_ENV="development")

    assert conf["engine"] == "django.db.backends.sqlite3"
    assert conf["journal_mode"] == "wal"
    assert conf["options"]["transaction_mode"] == "IMMEDIATE"
    assert conf["broker"] == "filesystem://"
    assert conf["backend"].startswith("file://")
    assert conf["eager"] is False  # a real worker, not tasks run inline
    assert conf["cache"].endswith("FileBasedCache")
    assert (tmp_path / "ruralshop.sqlite3").exists()


def test_database_url_and_redis_url_switch_to_postgres_and_redis(tmp_path):
    conf = dump(
        tmp_path,
        RURALSHOP_ENV="production",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="example.org",
        # Nothing connects to these: the dump only reads the configuration.
        DATABASE_URL="postgres://postgres@127.0.0.1:1/none",
        REDIS_URL="redis://127.0.0.1:1/3",
    )

    assert conf["engine"] == "django.db.backends.postgresql"
    assert conf["broker"] == "redis://127.0.0.1:1/3"
    assert conf["backend"] == "redis://127.0.0.1:1/3"
    assert conf["cache"].endswith("RedisCache")
    assert conf["beat_scheduler"] == "django_celery_beat.schedulers:DatabaseScheduler"
    # Prepared statements: PostgreSQL parses and plans a placement's statements once per connection.
    assert conf["options"]["server_side_binding"] is True
    assert conf["options"]["prepare_threshold"] == 2


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler(tmp_path):
    conf = dump(
        tmp_path,
        RURALSHOP_ENV="development",
        DATABASE_URL="postgres://postgres@127.0.0.1:1/none",
        DATABASE_PREPARED_STATEMENTS="false",
    )

    assert "server_side_binding" not in conf["options"]


def test_celery_settings_we_rely_on_are_set(tmp_path):
    conf = dump(tmp_path, RURALSHOP_ENV="production", SECRET_KEY="x" * 50, REDIS_URL="redis://127.0.0.1:1/3")

    assert conf["serializer"] == "json"
    assert conf["accept"] == ["json"]
    assert conf["acks_late"] is True
    assert conf["enable_utc"] is True
    assert conf["time_limit"] > 0
    # A task still running must not be handed to a second worker.
    assert conf["visibility_timeout"] > conf["time_limit"]


def test_defaults_are_shanghai_time_and_simplified_chinese(tmp_path):
    conf = dump(tmp_path, RURALSHOP_ENV="development")

    assert conf["time_zone"] == "Asia/Shanghai"
    assert conf["language"] == "zh-hans"
    assert conf["use_tz"] is True


SETTINGS_ONLY = """
import json
from django.conf import settings
print(json.dumps({"urlconf": settings.ROOT_URLCONF, "drill": hasattr(settings, "DISPATCH_DRILL_PAUSE_AFTER_BATCH")}))
"""


def test_importing_the_settings_creates_no_folder(tmp_path):
    var = tmp_path / "var"

    result = run_settings(tmp_path, "-c", SETTINGS_ONLY, RURALSHOP_ENV="development", RURALSHOP_VAR_DIR=str(var))

    assert result.returncode == 0, result.stderr
    assert not var.exists()


def test_manage_py_creates_the_folders_of_the_embedded_setup(tmp_path):
    var = tmp_path / "var"

    result = run_settings(tmp_path, "manage.py", "check", RURALSHOP_ENV="development", RURALSHOP_VAR_DIR=str(var))

    assert result.returncode == 0, result.stderr
    assert {p.relative_to(var).as_posix() for p in var.rglob("*") if p.is_dir()} >= {
        "static",
        "celery/broker",
        "celery/control",
        "celery/results",
    }


def test_the_drill_and_bench_hooks_are_not_in_the_production_settings(tmp_path):
    production = run_settings(tmp_path, "-c", SETTINGS_ONLY, RURALSHOP_ENV="development")
    bench = run_settings(
        tmp_path, "-c", SETTINGS_ONLY, RURALSHOP_ENV="development", DJANGO_SETTINGS_MODULE="bench.settings"
    )
    tests = run_settings(tmp_path, "-c", SETTINGS_ONLY, RURALSHOP_ENV="test", DJANGO_SETTINGS_MODULE="tests.settings")

    assert json.loads(production.stdout) == {"urlconf": "ruralshop.urls", "drill": False}, production.stderr
    assert json.loads(bench.stdout) == {"urlconf": "bench.urls", "drill": False}, bench.stderr
    assert json.loads(tests.stdout) == {"urlconf": "ruralshop.urls", "drill": True}, tests.stderr
