from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CashbookConfig(AppConfig):
    name = "cashbook"
    verbose_name = _("Cash book")

    def ready(self):
        from orders import payments
        from orders.models import Order, Refund

        from . import services

        # Orders sits below: it says a payment was taken or a refund paid, and the cash book writes the entry
        # in the same transaction (a failure here rolls the payment back).
        payments.payment_taken.connect(services.record_sale, sender=Order, dispatch_uid="cashbook-sale")
        payments.refund_paid.connect(services.record_refund, sender=Refund, dispatch_uid="cashbook-refund")
