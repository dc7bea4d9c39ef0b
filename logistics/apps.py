from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        from . import signals  # noqa: F401 - connects the route schedule signals
        from .api import schema  # noqa: F401 - registers the API key scheme with drf-spectacular
