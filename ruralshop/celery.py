"""The Celery app: configured from Django settings (the ``CELERY_`` names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ruralshop.settings")

app = Celery("ruralshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ("ruralshop.tasks",)
app.autodiscover_tasks()
