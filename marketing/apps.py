from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketingConfig(AppConfig):
    name = "marketing"
    verbose_name = _("Promotional SMS")

    def ready(self):
        from notifications.sms import register_send_check, register_templates

        from .services import SMS_TEMPLATES, TEMPLATE, may_still_send

        register_templates(SMS_TEMPLATES)
        register_send_check(TEMPLATE, may_still_send)
