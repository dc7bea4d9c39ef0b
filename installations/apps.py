from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InstallationsConfig(AppConfig):
    name = "installations"
    verbose_name = _("Installations")

    def ready(self):
        from notifications.sms import register_templates
        from orders.services import status_changed

        from .services import SMS_TEMPLATES, give_up_appointments

        register_templates(SMS_TEMPLATES)
        status_changed.connect(give_up_appointments, dispatch_uid="installations.give_up_appointments")
