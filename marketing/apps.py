from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Promotional SMS")

    def ready(self):
        from notifications.sms import register_templates

        from .services import SMS_TEMPLATES

        register_templates(SMS_TEMPLATES)
