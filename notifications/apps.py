from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from partners.signals import villager_anonymised, villager_consent_changed

        from . import optout, services
        from .inbound import sms_received
        from .models import InboundSms

        villager_anonymised.connect(services.scrub_villager, dispatch_uid="notifications-scrub-villager")
        villager_consent_changed.connect(services.record_consent, dispatch_uid="notifications-record-consent")
        # 退订 / TD: promotional SMS stops at once (the villager's easy way out, PIPL).
        sms_received.connect(optout.opt_out_by_reply, sender=InboundSms, dispatch_uid="notifications-opt-out")
