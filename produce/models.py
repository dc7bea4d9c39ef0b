"""Produce upstream: what villagers sell through the station (eggs, potatoes, smoked meat...), lot by lot.

A county keeps the kinds it buys (``ProduceKind``: the unit, the grades, whether it is perishable and how
many days it keeps; live animals and meat only when the county allows the kind, with a quarantine
certificate where the kind needs one).  A station lists a villager's ``ProduceLot``; the county accepts it at
a price per unit (or declines it with a reason); the warehouse receives and grades it, the price applied to
what was received, to the fen; the station pays the villager that value out of its drawer, once.  The partner
earns the kind's commission rate, frozen on the lot when the county buys it, on the value paid (an entry of
orders' commission ledger, by the lot's number).
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import money
from partners.models import County, ServiceCenter, Villager
from ruralshop.names import grade_in_language, in_language

MONEY = {"max_digits": 12, "decimal_places": 2}
QUANTITY = {"max_digits": 10, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class ProduceKind(models.Model):
    class Unit(models.TextChoices):
        PIECE = "piece", _("piece")
        KG = "kg", _("kg")
        HEAD = "head", _("head")

    county = models.ForeignKey(County, on_delete=models.PROTECT, related_name="produce_kinds", verbose_name=_("county"))
    name = models.CharField(_("name"), max_length=60)
    name_en = models.CharField(
        _("English name"), max_length=60, blank=True, default="", help_text=_("Blank: the Chinese name in English too.")
    )
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices, default=Unit.KG)
    grades = models.CharField(
        _("grades"), max_length=100, default="一级,二级", help_text=_("Comma-separated, best first, such as 一级,二级.")
    )
    # The grades in English, in the same order; what a lot stores and the services check is the Chinese grade.
    grades_en = models.CharField(
        _("grades in English"),
        max_length=100,
        blank=True,
        default="",
        help_text=_("Comma-separated, in the order of the grades, such as Grade 1,Grade 2. Blank: the Chinese."),
    )
    # What one unit weighs and takes on the truck's return leg (a dozen eggs in a tray, a sack of potatoes).
    kg_per_unit = models.DecimalField(
        _("kg per unit"), max_digits=8, decimal_places=3, default=Decimal("1"), validators=[MinValueValidator(0)]
    )
    m3_per_unit = models.DecimalField(
        _("m³ per unit"), max_digits=8, decimal_places=4, default=Decimal("0.002"), validators=[MinValueValidator(0)]
    )
    perishable = models.BooleanField(_("perishable"), default=False)
    keeps_days = models.PositiveSmallIntegerField(_("keeps (days)"), default=7, validators=[MinValueValidator(1)])
    # Live animals and meat: the county must allow the kind, and a quarantine certificate may be required.
    restricted = models.BooleanField(_("live animal or meat"), default=False)
    allowed = models.BooleanField(_("allowed by the county"), default=True)
    needs_certificate = models.BooleanField(_("needs a quarantine certificate"), default=False)
    is_active = models.BooleanField(_("bought now"), default=True)
    # The partner's commission on a lot of the kind: a percentage of the value paid to the villager.
    commission_rate = models.DecimalField(
        _("partner's commission (%)"), default=Decimal("0.00"), help_text=_("Of the value paid."), **PERCENT
    )

    class Meta:
        verbose_name = _("produce kind")
        verbose_name_plural = _("produce kinds")
        ordering = ["county", "name"]
        constraints = [
            models.UniqueConstraint(fields=["county", "name"], name="produce_kind_unique_per_county"),
            models.CheckConstraint(
                condition=Q(commission_rate__gte=0, commission_rate__lte=100), name="produce_kind_commission_0_100"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        """The name in the active language (the Chinese when no English one is kept)."""
        return in_language(self.name, self.name_en)

    def grade_list(self) -> list[str]:
        return [g.strip() for g in self.grades.split(",") if g.strip()]

    def grade_label(self, grade: str) -> str:
        """One of the kind's grades in the active language."""
        return grade_in_language(grade, self.grade_list(), [g.strip() for g in self.grades_en.split(",")])

    def grade_choices(self) -> list[tuple[str, str]]:
        """The grades, best first, as (what is stored, what is shown)."""
        return [(grade, self.grade_label(grade)) for grade in self.grade_list()]

    def stored_grade(self, typed: str) -> str:
        """The grade as stored (Chinese) for one typed as stored or as shown ("grade 1"); else as typed."""
        typed = typed.strip()
        return next((grade for grade, label in self.grade_choices() if typed.casefold() == label.casefold()), typed)


def lot_photo_path(instance, filename: str) -> str:
    """A random name under the month it was taken: nothing of the lot, villager or station in the path."""
    return f"produce-photos/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


def lot_thumbnail_path(instance, filename: str) -> str:
    return f"produce-photos/{timezone.now():%Y/%m}/{uuid.uuid4().hex}-thumb.jpg"


class ProduceLot(models.Model):
    class Status(models.TextChoices):
        LISTED = "listed", _("listed")  # waiting for the county's decision
        ACCEPTED = "accepted", _("accepted")  # bought at a price: on its way to the warehouse
        DECLINED = "declined", _("declined")  # the county does not buy it (a reason)
        WITHDRAWN = "withdrawn", _("withdrawn")  # the villager took it back before a decision
        RECEIVED = "received", _("received")  # weighed or counted and graded at the warehouse: its value is owed
        PAID = "paid", _("paid")  # the villager was paid the value at the counter

    class PaidVia(models.TextChoices):
        CASH = "cash", _("cash at the counter")  # out of the station's drawer: a produce payout in its cash book
        ACCOUNT = "account", _("to the villager's own account")  # a bank or mobile-payment transfer, by reference

    OPEN = (Status.LISTED, Status.ACCEPTED, Status.RECEIVED)

    number = models.CharField(_("lot number"), max_length=20, unique=True)
    station = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="produce_lots", verbose_name=_("station")
    )
    villager = models.ForeignKey(
        Villager, on_delete=models.PROTECT, related_name="produce_lots", verbose_name=_("villager")
    )
    kind = models.ForeignKey(ProduceKind, on_delete=models.PROTECT, related_name="lots", verbose_name=_("kind"))
    quantity = models.DecimalField(_("quantity"), **QUANTITY, validators=[MinValueValidator(Decimal("0.01"))])
    grade_claimed = models.CharField(_("grade claimed"), max_length=20)
    price_asked = models.DecimalField(_("price asked (¥ per unit)"), **MONEY)
    ready_on = models.DateField(_("ready on"))
    certificate_no = models.CharField(_("quarantine certificate"), max_length=40, blank=True)
    # One photo of the lot, as logistics.photos re-encodes a parcel's (upright, at most 1280 px, no EXIF), and its
    # thumbnail.  Private files: only views.lot_photo serves them, to the station and its county's managers.
    photo = models.FileField(_("photo"), upload_to=lot_photo_path, max_length=200, blank=True)
    photo_thumbnail = models.FileField(_("photo's thumbnail"), upload_to=lot_thumbnail_path, max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.LISTED)
    price = models.DecimalField(_("price (¥ per unit)"), **MONEY, null=True, blank=True)  # the county's
    decline_reason = models.CharField(_("reason"), max_length=300, blank=True)
    received_quantity = models.DecimalField(_("received quantity"), **QUANTITY, null=True, blank=True)
    received_grade = models.CharField(_("grade received"), max_length=20, blank=True)
    value = models.DecimalField(_("value (¥)"), **MONEY, null=True, blank=True)  # received quantity × price
    # The kind's commission rate when the county bought the lot: a later change of the kind does not touch it.
    commission_rate = models.DecimalField(_("partner's commission (%)"), null=True, blank=True, **PERCENT)
    listed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("listed by")
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("paid by"),
    )
    created_at = models.DateTimeField(_("listed at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    # Accepted but not received within its kind's keeping days: when the daily check told the county and the partner
    # (services.flag_overdue), once.
    flagged_overdue_at = models.DateTimeField(_("flagged overdue at"), null=True, blank=True)
    paid_via = models.CharField(_("paid"), max_length=8, choices=PaidVia.choices, blank=True)
    # The transfer's reference (a bank's or a mobile payment's), when paid to the villager's own account.
    payment_reference = models.CharField(_("transfer reference"), max_length=60, blank=True)
    # Accepted, and the last plan's runs past its station had no room for it: the run that passed it by and its
    # day (logistics.pickups.record_no_room, at the end of the plan); cleared when a run loads it.
    no_room_run = models.CharField(_("no room on run"), max_length=50, blank=True)
    no_room_day = models.DateField(_("no room on"), null=True, blank=True)

    class Meta:
        verbose_name = _("produce lot")
        verbose_name_plural = _("produce lots")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="produce_lot_quantity_positive"),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "received", "paid"]) | Q(price__isnull=False),
                name="produce_lot_bought_has_price",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["received", "paid"]) | Q(value__isnull=False, received_quantity__isnull=False),
                name="produce_lot_received_has_value",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_at__isnull=False), name="produce_lot_paid_has_time"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "received", "paid"])
                | Q(commission_rate__gte=0, commission_rate__lte=100),
                name="produce_lot_bought_has_commission_rate",
            ),
            # Paid one way: cash (no reference) or to the villager's account with the transfer's reference.
            models.CheckConstraint(
                condition=Q(paid_via="", payment_reference="") & ~Q(status="paid")
                | Q(status="paid", paid_via="cash", payment_reference="")
                | Q(status="paid", paid_via="account") & ~Q(payment_reference=""),
                name="produce_lot_paid_one_way",
            ),
        ]
        indexes = [models.Index(fields=["station", "status"], name="produce_lot_station_status")]

    def __str__(self) -> str:
        return self.number

    @property
    def grade_claimed_label(self) -> str:
        return self.kind.grade_label(self.grade_claimed)

    @property
    def received_grade_label(self) -> str:
        return self.kind.grade_label(self.received_grade)

    @property
    def commission(self) -> Decimal | None:
        """The partner's commission on the lot's value at its frozen rate, to the fen (None before it is valued)."""
        if self.value is None or self.commission_rate is None:
            return None
        return money.percent_of(self.value, self.commission_rate)
