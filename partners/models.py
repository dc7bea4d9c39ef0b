"""The partner network: counties, their warehouses, villages, stations, staff and villagers."""

from datetime import time
from decimal import Decimal

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from .phones import mask_phone

gb2260_code = RegexValidator(r"^\d{6}$", _("A county code is the six digits of GB/T 2260, such as 330182."))


class County(models.Model):
    code = models.CharField(_("GB/T 2260 code"), max_length=6, unique=True, validators=[gb2260_code])
    name = models.CharField(_("name"), max_length=50)
    province = models.CharField(_("province"), max_length=50)
    # Commission netting: a station keeps its approved commission out of the cash it owes the county (the cash
    # book records it), instead of the county paying the statement separately.
    commission_netting = models.BooleanField(_("stations keep their commission out of the cash"), default=False)
    # The delivery promise: an order reaches its station at most this many days after it is placed (or, sooner,
    # by its route's next departure and travel days).
    promise_days = models.PositiveSmallIntegerField(
        _("delivery promise (days)"),
        default=2,
        db_default=2,
        help_text=_("Goods reach the station within this many days."),
    )

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Holiday(models.Model):
    """A day the county's runs do not leave (a public holiday, a market day): for one county, or for every one."""

    day = models.DateField(_("day"))
    county = models.ForeignKey(
        County, on_delete=models.CASCADE, null=True, blank=True, related_name="holidays", verbose_name=_("county")
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]
        constraints = [models.UniqueConstraint(fields=["county", "day"], name="holiday_once_per_county")]

    def __str__(self) -> str:
        return f"{self.day} {self.name}"


class Warehouse(models.Model):
    """The county warehouse run by the county operations center."""

    county = models.OneToOneField(County, on_delete=models.PROTECT, related_name="warehouse", verbose_name=_("county"))
    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("warehouse")
        verbose_name_plural = _("warehouses")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Village(models.Model):
    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="villages", verbose_name=_("county"))
    town = models.CharField(_("town"), max_length=50, blank=True)
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["county", "town", "name"]
        constraints = [
            models.UniqueConstraint(fields=["county", "town", "name"], name="village_unique_in_county"),
        ]

    def __str__(self) -> str:
        return f"{self.town}{self.name}"


class ServiceCenter(models.Model):
    """A village station: where a partner orders for the neighbours."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")  # open and ordering
        SUSPENDED = "suspended", _("suspended")  # temporarily not ordering (audit, partner away)
        CLOSED = "closed", _("closed")  # closed for good; kept for its history

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=100)
    village = models.ForeignKey(Village, on_delete=models.PROTECT, related_name="stations", verbose_name=_("village"))
    address = models.CharField(_("address"), max_length=200)
    phone = PhoneNumberField(_("phone"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    opened_on = models.DateField(_("opened on"), null=True, blank=True)
    # Set by the county: what the station's pay-on-pickup orders not yet paid may add up to (the villagers'
    # credit the station answers for).
    pay_on_pickup_limit = models.DecimalField(
        _("pay-on-pickup limit (¥)"), max_digits=12, decimal_places=2, default=Decimal("2000.00")
    )
    # When the counter is open: an order keyed outside these hours is one of the county's self-dealing signals.
    opens_at = models.TimeField(_("opens at"), default=time(7, 0), db_default=time(7, 0))
    closes_at = models.TimeField(_("closes at"), default=time(21, 0), db_default=time(21, 0))

    class Meta:
        verbose_name = _("service center")
        verbose_name_plural = _("service centers")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended", "closed"]), name="station_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def county(self) -> County:
        return self.village.county

    @property
    def warehouse(self) -> "Warehouse | None":
        """The county warehouse that supplies this station (None until the county has one)."""
        try:
            return self.village.county.warehouse
        except Warehouse.DoesNotExist:
            return None


class StationStaff(models.Model):
    """A user working at one station, as its partner or an assistant."""

    class Role(models.TextChoices):
        PARTNER = "partner", _("partner")  # runs the station and earns its commission
        ASSISTANT = "assistant", _("assistant")  # helps at the counter

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="station_staff", verbose_name=_("user")
    )
    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.CASCADE, related_name="staff", verbose_name=_("service center")
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.PARTNER)
    # The staff member's own phone: a villager with the same number is one of the county's self-dealing signals.
    phone = PhoneNumberField(_("phone"), blank=True, default="", db_default="")

    class Meta:
        verbose_name = _("station staff")
        verbose_name_plural = _("station staff")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=["partner", "assistant"]), name="station_staff_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.service_center.code} ({self.get_role_display()})"


class CountyManager(models.Model):
    """A user of the county operations center: sees the county's stations."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="managed_counties", verbose_name=_("user")
    )
    county = models.ForeignKey(County, on_delete=models.CASCADE, related_name="managers", verbose_name=_("county"))

    class Meta:
        verbose_name = _("county manager")
        verbose_name_plural = _("county managers")
        constraints = [models.UniqueConstraint(fields=["user", "county"], name="county_manager_unique")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.county}"


class Villager(models.Model):
    """A neighbour the station orders for.  Has no account of their own."""

    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="villagers", verbose_name=_("service center")
    )
    name = models.CharField(_("full name"), max_length=50)
    phone = PhoneNumberField(_("phone"), blank=True)
    sms_consent = models.BooleanField(_("agrees to SMS"), default=False)
    # Promotional SMS (PIPL: a purpose of its own, never implied by the SMS about orders): the current answer,
    # whose history is notifications' consent record; a reply of 退订 or TD withdraws it at once.
    marketing_consent = models.BooleanField(_("agrees to promotional SMS"), default=False, db_default=False)
    # Where a home delivery goes, as a driver finds it: the 组, a house number, a landmark.
    address = models.CharField(
        _("address in the village"),
        max_length=200,
        blank=True,
        default="",
        db_default="",
        help_text=_("For home deliveries: the 组 (group), house number or a landmark, such as 三组 12 号，祠堂东边."),
    )
    # A family member's phone that receives the villager's codes (consent and pickup) instead of their own:
    # recorded with who set it and when, for the county (one phone on many villagers is a signal).
    code_phone = PhoneNumberField(_("family member's phone for codes"), blank=True, default="", db_default="")
    code_phone_holder = models.CharField(_("whose phone"), max_length=30, blank=True, default="", db_default="")
    code_phone_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("family phone set by"),
    )
    code_phone_set_at = models.DateTimeField(_("family phone set at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=1000)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    # Set when the villager asked to be forgotten: name and phone replaced, orders kept for the accounts.
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("villager")
        verbose_name_plural = _("villagers")
        ordering = ["name", "pk"]
        constraints = [
            # Two villagers of one station never share a phone number; many have none.
            models.UniqueConstraint(
                fields=["service_center", "phone"], condition=~Q(phone=""), name="villager_phone_unique_in_station"
            ),
            models.CheckConstraint(condition=~Q(name=""), name="villager_name_not_empty"),
        ]
        indexes = [models.Index(fields=["service_center", "name"], name="villager_station_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    @property
    def masked_sms_phone(self) -> str:
        return mask_phone(self.sms_phone)

    @property
    def sms_phone(self):
        """Where the villager's texts go: the family member's phone named for codes, else their own."""
        return self.code_phone or self.phone

    @property
    def gets_sms(self) -> bool:
        """Codes reach this villager by SMS (a phone to send to and their consent); else on the signed slip."""
        return bool(self.sms_phone and self.sms_consent)

    @property
    def gets_marketing(self) -> bool:
        """Promotional SMS may go to this villager now: a phone to send to and their separate consent."""
        return bool(self.sms_phone and self.marketing_consent)
