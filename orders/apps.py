from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from notifications.sms import register_templates

        from .sms import SMS_TEMPLATES

        register_templates(SMS_TEMPLATES)
