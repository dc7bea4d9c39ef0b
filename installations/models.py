"""Home installation: the county's installers and the appointments they keep (a date and a half-day).

An installer installs at most ``capacity`` appointments in a half-day, on their working weekdays, never on the
county's holidays (``partners.Holiday``).  An appointment that is not cancelled keeps its place in that
capacity (a failed visit took the time too).  An order has at most one live appointment (booked, or the
installer on the way): a new date cancels the old one.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from logistics.models import weekdays  # the routes' working days are written the same way
from orders.models import Order
from partners.models import County


class Installer(models.Model):
    """Someone who installs for a county: a user with an installer's login (the phone page), or a logistics
    company's technician, reached through the API (``client``)."""

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="installers", verbose_name=_("county"))
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="installer",
        verbose_name=_("user"),
    )
    client = models.ForeignKey(
        "logistics.LogisticsClient",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="installers",
        verbose_name=_("logistics company"),
    )
    name = models.CharField(_("name"), max_length=100)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    capacity = models.PositiveSmallIntegerField(
        _("appointments per half-day"), default=2, validators=[MinValueValidator(1), MaxValueValidator(8)]
    )
    work_weekdays = models.CharField(
        _("working weekdays"), max_length=7, default="123456", validators=[weekdays], help_text=weekdays.message
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("installer")
        verbose_name_plural = _("installers")
        ordering = ["county", "name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=True) | Q(client__isnull=True), name="installer_user_or_client"
            ),
            models.CheckConstraint(condition=Q(capacity__gte=1, capacity__lte=8), name="installer_capacity_1_8"),
        ]

    def __str__(self) -> str:
        return self.name

    def works_on(self, day) -> bool:
        return str(day.isoweekday()) in self.work_weekdays


class Appointment(models.Model):
    class HalfDay(models.TextChoices):
        AM = "am", _("morning")
        PM = "pm", _("afternoon")

    class Status(models.TextChoices):
        BOOKED = "booked", _("booked")
        ON_THE_WAY = "on_the_way", _("on the way")
        INSTALLED = "installed", _("installed")
        FAILED = "failed", pgettext_lazy("appointment", "failed")
        CANCELLED = "cancelled", _("cancelled")

    class FailReason(models.TextChoices):
        NOBODY_HOME = "nobody_home", _("nobody home")
        NO_POWER = "no_power", _("no power")
        WRONG_PART = "wrong_part", _("wrong part")
        DAMAGED_PART = "damaged_part", _("damaged part")
        SITE_NOT_READY = "site_not_ready", _("site not ready")

    LIVE = (Status.BOOKED, Status.ON_THE_WAY)

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="appointments", verbose_name=_("order"))
    installer = models.ForeignKey(
        Installer, on_delete=models.PROTECT, related_name="appointments", verbose_name=_("installer")
    )
    day = models.DateField(_("day"))
    half_day = models.CharField(_("half-day"), max_length=2, choices=HalfDay.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.BOOKED)
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("booked by")
    )
    booked_at = models.DateTimeField(_("booked at"), auto_now_add=True)
    fail_reason = models.CharField(_("reason"), max_length=16, choices=FailReason.choices, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["day", "half_day", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(status__in=["booked", "on_the_way"]),
                name="appointment_one_live_per_order",
            ),
            models.CheckConstraint(
                condition=Q(status="failed", fail_reason__gt="") | (~Q(status="failed") & Q(fail_reason="")),
                name="appointment_failed_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["installer", "day", "half_day"], name="appointment_installer_slot")]

    def __str__(self) -> str:
        return f"{self.order_id} {self.day} {self.half_day}"
