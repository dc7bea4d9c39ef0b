from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self):
        from partners.signals import villager_anonymised

        from . import privacy

        villager_anonymised.connect(privacy.scrub_villager_notifications, dispatch_uid="orders-scrub-villager")
