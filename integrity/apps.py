from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrityConfig(AppConfig):
    name = "integrity"
    verbose_name = _("Review")

    def ready(self):
        from orders import consent
        from orders.models import Order

        from . import services

        # Orders sits below: it says a villager agreed by a signed slip, and the county's call-back sample is
        # drawn here, in the same transaction.
        consent.consent_given.connect(services.maybe_call_back, sender=Order, dispatch_uid="integrity-call-back")
