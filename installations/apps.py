from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstallationsConfig(AppConfig):
    name = "installations"
    verbose_name = _("Installations")

    def ready(self):
        from logistics import appointments
        from notifications.sms import register_templates
        from orders.services import status_changed

        from .services import SMS_TEMPLATES, give_up_appointments, live_slots

        register_templates(SMS_TEMPLATES)
        status_changed.connect(give_up_appointments, dispatch_uid="installations.give_up_appointments")
        # The manifests show an installation stop's appointment; logistics cannot read appointments.
        appointments.register(live_slots)
