"""The cash book: every yuan a station takes or pays out, as append-only entries, and the days' closes.

The drawer's expected cash is the sum of the station's cash entries (a mobile
payment is a sale, but not in the drawer).  A close counts the drawer and posts
the difference; a remittance is cash handed to the county, which confirms what
it received.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from orders.models import CommissionStatement, Order, Refund
from orders.payments import Method
from partners.models import ServiceCenter
from ruralshop.ledgers import AppendOnlyModel, AppendOnlyQuerySet

MONEY = {"max_digits": 12, "decimal_places": 2}


class Remittance(models.Model):
    """Cash the partner handed to the county (to a run's driver, or paid in at the county office).

    What was handed over is fixed when it is recorded; the county then confirms what it received.  A
    mismatch stays visible (``shortfall``), it is never edited away.
    """

    class HandedTo(models.TextChoices):
        DRIVER = "driver", _("the driver of a run")
        COUNTY = "county", _("the county office")

    class Status(models.TextChoices):
        RECORDED = "recorded", _("waiting for the county")
        CONFIRMED = "confirmed", _("confirmed by the county")

    station = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="remittances", verbose_name=_("station")
    )
    amount = models.DecimalField(_("amount handed over"), **MONEY)
    slip_number = models.CharField(_("slip number"), max_length=40)
    handed_to = models.CharField(_("handed to"), max_length=10, choices=HandedTo.choices)
    run_code = models.CharField(_("run"), max_length=40, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RECORDED)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)
    received_amount = models.DecimalField(_("amount received"), null=True, blank=True, **MONEY)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("remittance")
        verbose_name_plural = _("remittances")
        ordering = ["-recorded_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="remittance_amount_positive"),
            models.UniqueConstraint(fields=["station", "slip_number"], name="remittance_slip_once_per_station"),
            models.CheckConstraint(
                condition=Q(status="recorded", received_amount__isnull=True)
                | Q(status="confirmed", received_amount__gte=0),
                name="remittance_confirmed_with_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.slip_number} ({self.amount})"

    @property
    def shortfall(self) -> Decimal:
        """What the county did not receive of what was handed over (negative: it received more)."""
        if self.received_amount is None:
            return Decimal("0.00")
        return self.amount - self.received_amount


class DayClose(models.Model):
    """The partner counted the drawer at the end of a day: what the book expected, what was there."""

    station = models.ForeignKey(ServiceCenter, on_delete=models.PROTECT, related_name="closes")
    day = models.DateField(_("day"))
    expected = models.DecimalField(_("expected in the drawer"), **MONEY)
    counted = models.DecimalField(_("counted"), **MONEY)
    difference = models.DecimalField(_("difference"), **MONEY)  # counted - expected: short < 0 < over
    denominations = models.JSONField(_("count by note and coin"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    late = models.BooleanField(_("closed late"), default=False)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    closed_at = models.DateTimeField(_("closed at"), auto_now_add=True)

    class Meta:
        verbose_name = _("day's close")
        verbose_name_plural = _("days' closes")
        ordering = ["-day", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["station", "day"], name="day_close_once_per_station_day"),
            models.CheckConstraint(condition=Q(counted__gte=0), name="day_close_counted_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.day}"


class CashEntryQuerySet(AppendOnlyQuerySet):
    pass


class CashEntry(AppendOnlyModel):
    """One movement of a station's money: written once, never changed (a correction is a new entry)."""

    class Kind(models.TextChoices):
        SALE = "sale", _("sale")  # a payment taken for an order (+)
        REFUND = "refund", _("refund")  # paid back to a villager (-)
        PRODUCE_PAYOUT = "produce", _("produce payout")  # paid to a villager for a produce lot (-), once per lot
        REMITTANCE = "remittance", _("remittance")  # handed to the county (-)
        FLOAT = "float", _("float")  # change money the county gave (+) or took back (-)
        DIFFERENCE = "difference", _("difference")  # short (-) or over (+) at a close
        COMMISSION = "commission", _("commission kept")  # an approved statement kept out of the cash (-), netting

    station = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="cash_entries", verbose_name=_("station")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    method = models.CharField(_("method"), max_length=8, choices=Method.choices, default=Method.CASH)
    amount = models.DecimalField(_("amount"), **MONEY)  # signed: what it did to the station's money
    reference = models.CharField(_("reference"), max_length=64, blank=True)  # a mobile payment's number
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entries", verbose_name=_("order")
    )
    refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entry", verbose_name=_("refund")
    )
    remittance = models.OneToOneField(
        Remittance, on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entry"
    )
    close = models.OneToOneField(DayClose, on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entry")
    statement = models.OneToOneField(
        CommissionStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="cash_entry"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    objects = CashEntryQuerySet.as_manager()
    never_updated = "cash book entries are never updated: post a correcting entry"
    never_deleted = "cash book entries are never deleted: post a correcting entry"

    class Meta:
        verbose_name = _("cash book entry")
        verbose_name_plural = _("cash book entries")
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["station", "created_at"], name="cash_entry_station_time")]
        constraints = [
            # Each paid order has exactly one sale.
            models.UniqueConstraint(fields=["order"], condition=Q(kind="sale"), name="cash_sale_once_per_order"),
            models.CheckConstraint(
                condition=(Q(kind="sale", amount__gt=0, order__isnull=False) | ~Q(kind="sale")),
                name="cash_sale_positive_for_an_order",
            ),
            models.CheckConstraint(
                condition=(Q(kind="refund", amount__lt=0, refund__isnull=False) | ~Q(kind="refund")),
                name="cash_refund_negative_for_a_refund",
            ),
            models.CheckConstraint(
                condition=(Q(kind="remittance", amount__lt=0, remittance__isnull=False) | ~Q(kind="remittance")),
                name="cash_remittance_negative",
            ),
            models.CheckConstraint(
                condition=(Q(kind="difference", close__isnull=False) | ~Q(kind="difference")),
                name="cash_difference_of_a_close",
            ),
            models.CheckConstraint(
                condition=(Q(kind="commission", amount__lt=0, statement__isnull=False) | ~Q(kind="commission")),
                name="cash_commission_of_a_statement",
            ),
            # A produce lot is paid once: its number is the payout's reference.
            models.UniqueConstraint(
                fields=["reference"], condition=Q(kind="produce"), name="cash_produce_payout_once_per_lot"
            ),
            models.CheckConstraint(
                condition=(Q(kind="produce", amount__lt=0) & ~Q(reference="")) | ~Q(kind="produce"),
                name="cash_produce_payout_negative_for_a_lot",
            ),
            models.CheckConstraint(condition=~Q(amount=0), name="cash_entry_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"
