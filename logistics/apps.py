from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The station's text, sent through the outbox when a run is planned (services._notify_stations).
SMS_TEMPLATES = {
    "batch_planned": "【村淘】{date} 车次{batch}将为您的服务站送来{parcels}件包裹，请安排收货。",
}


class LogisticsConfig(AppConfig):
    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self):
        from notifications.sms import register_templates
        from orders import promise as orders_promise

        from . import (
            promise,
            signals,  # noqa: F401 - connects the route schedule signals
        )

        # Orders promises a delivery day at placement; the routes that make it are known here.
        orders_promise.register(promise.promise)
        from .api import schema  # noqa: F401 - registers the API key scheme with drf-spectacular

        register_templates(SMS_TEMPLATES)
