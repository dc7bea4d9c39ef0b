from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The villager's texts, sent through the outbox (notifications.services.queue_sms).
SMS_TEMPLATES = {
    "order_placed": "【村淘】您的订单{order}已在{station}下单，取货码{pickup_code}，到货后会再通知您。",
    "order_arrived": "【村淘】您的订单{order}已到{station}，请凭取货码{pickup_code}取货。",
}


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from notifications.sms import register_templates

        register_templates(SMS_TEMPLATES)
