from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from partners.signals import villager_anonymised, villager_consent_changed

        from . import services

        villager_anonymised.connect(services.scrub_villager, dispatch_uid="notifications-scrub-villager")
        villager_consent_changed.connect(services.record_consent, dispatch_uid="notifications-record-consent")
