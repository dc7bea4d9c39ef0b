"""The Celery app: configured from Django settings (the ``CELERY_`` names)."""

import os

from celery import Celery
from celery.signals import setup_logging, task_postrun, task_prerun

from .folders import create_var_folders

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruralshop.settings")

app = Celery("ruralshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ("ruralshop.tasks",)
app.autodiscover_tasks()
# Celery's Django fixup closes the database connection before and after every
# task unless told to reuse it (CONN_MAX_AGE is ignored since celery#9824): a
# new PostgreSQL connection per SMS cost more than the SMS (bench/sms.py).  It
# is recycled after this many tasks instead; the handler below applies Django's
# CONN_MAX_AGE and health check around each task.  (The fixup reads this name.)
app.conf.CELERY_DB_REUSE_MAX = 1000


@app.on_after_configure.connect
def create_broker_folders(sender=None, **kwargs) -> None:
    """The file-system broker's folders, made by the app's first use (worker, beat, a sender), not by the settings."""
    create_var_folders()


@task_prerun.connect
@task_postrun.connect
def close_old_connections(sender=None, **kwargs) -> None:
    """A task is to a worker what a request is to the web: drop connections past CONN_MAX_AGE or broken.

    With CELERY_DB_REUSE_MAX set, Celery keeps the connection between tasks;
    this keeps Django's rules for it (and its health check before reuse).
    Not for eager tasks: they run inside the caller's transaction.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()


@setup_logging.connect
def use_django_logging(loglevel=None, **kwargs) -> None:
    """The worker logs through settings.LOGGING, so its records pass the redaction filter.

    Without a receiver here Celery replaces the root logger's handlers with its
    own, and task arguments and results would be logged unmasked.
    """
    from logging import getLogger
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
    if loglevel:
        getLogger().setLevel(loglevel)
