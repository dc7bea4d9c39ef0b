"""The county's side of the villager's say: call-backs of slip orders, the review of self-dealing signals."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY
from orders.models import Order
from partners.models import ServiceCenter


class Signal(models.TextChoices):
    """What may show a partner ordering for people who did not ask (``selectors.signals``)."""

    SAME_DAY_VILLAGER = "same_day_villager", _("villager registered the same day by the same staff")
    SHARED_PHONE = "shared_phone", _("phone shared with other villagers or the staff")
    NO_CODE_HANDOVER = "no_code_handover", _("handed over without the pickup code")
    SLIP_REPRINT = "slip_reprint", _("slip with the pickup code reprinted")
    CALL_BACK_DENIED = "call_back_denied", _("villager denied the order on the call-back")
    RETURN_AFTER_PAYOUT = "return_after_payout", _("returned after its commission was paid")
    FEW_VILLAGERS = "few_villagers", _("commission concentrated on a few villagers")
    OUTSIDE_HOURS = "outside_hours", _("keyed outside the station's opening hours")


class ReviewPolicy(models.Model):
    """The thresholds of the signals and the call-back sample: one row at most, edited in the admin.

    A signal fires for a station and month when its count reaches the threshold; the orders behind a fired
    signal are flagged and their commission held until the county clears them.
    """

    SINGLETON_PK = 1

    call_back_percent = models.DecimalField(
        _("call-back sample (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text=_("Share of orders confirmed by a signed slip that the county calls back."),
    )
    same_day_villager = models.PositiveSmallIntegerField(_("same-day villagers"), default=3)
    shared_phone = models.PositiveSmallIntegerField(_("orders for shared phones"), default=1)
    no_code_handover = models.PositiveSmallIntegerField(_("hand-overs without the code"), default=3)
    slip_reprint = models.PositiveSmallIntegerField(_("slip reprints"), default=3)
    call_back_denied = models.PositiveSmallIntegerField(_("call-back denials"), default=1)
    return_after_payout = models.PositiveSmallIntegerField(_("returns after payout"), default=3)
    outside_hours = models.PositiveSmallIntegerField(_("orders outside opening hours"), default=5)
    few_villagers_count = models.PositiveSmallIntegerField(
        _("few villagers: how many"), default=3, validators=[MinValueValidator(1)]
    )
    few_villagers_percent = models.PositiveSmallIntegerField(
        _("few villagers: share of commission (%)"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Fires when that many villagers bring at least this share of a station's month of commission."),
    )
    few_villagers_min_orders = models.PositiveSmallIntegerField(
        _("few villagers: only with at least this many orders"), default=10
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("review policy")
        verbose_name_plural = _("review policy")
        constraints = [models.CheckConstraint(condition=Q(id=1), name="review_policy_one_row")]

    def __str__(self) -> str:
        return str(_("Review policy"))

    def save(self, *args, **kwargs):
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    @classmethod
    def current(cls) -> "ReviewPolicy":
        return cls.objects.filter(pk=cls.SINGLETON_PK).first() or cls()

    def threshold(self, signal: str) -> int:
        """The count at which ``signal`` fires for a station and month (at least 1)."""
        if signal == Signal.FEW_VILLAGERS:
            return 1
        return max(getattr(self, signal), 1)


class CallBack(models.Model):
    """A slip-confirmed order drawn for the county to call the villager back: did they order this?"""

    class Result(models.TextChoices):
        CONFIRMED = "confirmed", _("the villager confirmed")
        DENIED = "denied", _("the villager denied ordering it")
        UNREACHABLE = "unreachable", _("could not reach the villager")

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="call_back", verbose_name=_("order"))
    drawn_at = models.DateTimeField(_("drawn at"), auto_now_add=True)
    result = models.CharField(_("result"), max_length=12, choices=Result.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)

    class Meta:
        verbose_name = _("call-back")
        verbose_name_plural = _("call-backs")
        ordering = ["drawn_at", "pk"]
        indexes = [models.Index(fields=["result", "drawn_at"], name="call_back_due")]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.result or 'due'}"


class Review(models.Model):
    """An order flagged by the signals: its commission is held until the county clears it or confirms
    self-dealing (its commission clawed back).  Every decision keeps who and why."""

    class Status(models.TextChoices):
        OPEN = "open", _("waiting for the county")
        CLEARED = "cleared", _("cleared")
        CONFIRMED = "confirmed", _("self-dealing confirmed")

    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="review", verbose_name=_("order"))
    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="reviews", verbose_name=_("service center")
    )
    month = models.DateField(_("month"))
    signals = models.JSONField(_("signals"), default=list)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    flagged_at = models.DateTimeField(_("flagged at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    reason = models.CharField(_("why"), max_length=500, blank=True)
    clawed_back = models.DecimalField(_("commission taken back"), default=Decimal("0.00"), **MONEY)

    class Meta:
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        ordering = ["-flagged_at", "-pk"]
        indexes = [models.Index(fields=["service_center", "status"], name="review_station_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open") | (Q(decided_at__isnull=False) & ~Q(reason="")),
                name="review_decision_has_who_and_why",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.status}"

    def get_signals_display(self) -> list[str]:
        return [str(Signal(s).label) for s in self.signals if s in Signal.values]
