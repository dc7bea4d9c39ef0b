from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProduceConfig(AppConfig):
    name = "produce"
    verbose_name = _("Produce")

    def ready(self):
        from logistics import pickups
        from notifications.sms import register_templates

        from . import return_leg
        from .services import SMS_TEMPLATES

        register_templates(SMS_TEMPLATES)
        pickups.register_lots(return_leg.SOURCE)  # the plan's return leg takes the lots bought
