from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from notifications.inbound import sms_received
        from notifications.models import InboundSms
        from notifications.sms import register_templates

        from . import consent
        from .sms import SMS_TEMPLATES

        register_templates(SMS_TEMPLATES)
        # A villager's reply with an order's code is their consent to it.
        sms_received.connect(consent.agree_by_reply, sender=InboundSms, dispatch_uid="orders-consent-reply")
