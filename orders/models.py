"""What is ordered: orders, their lines and events, the commission rules and ledger, reminders, the goods that go back."""

import re
import unicodedata
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from catalog.models import MONEY, PERCENT, Category, Product, Seller
from partners.models import ServiceCenter, Villager, Warehouse
from ruralshop.ledgers import AppendOnlyModel, AppendOnlyQuerySet


class CommissionRule(models.Model):
    """A commission rate for a product, a category or a seller; the most specific one in force wins."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("product"))
    category = models.ForeignKey(Category, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("category"))
    seller = models.ForeignKey(Seller, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("seller"))
    rate = models.DecimalField(_("rate (%)"), **PERCENT)
    valid_from = models.DateTimeField(_("valid from"), null=True, blank=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission rule")
        verbose_name_plural = _("commission rules")
        constraints = [
            models.CheckConstraint(condition=Q(rate__gte=0, rate__lte=100), name="commission_rule_rate_0_100"),
            models.CheckConstraint(
                condition=Q(product__isnull=False, category__isnull=True, seller__isnull=True)
                | Q(product__isnull=True, category__isnull=False, seller__isnull=True)
                | Q(product__isnull=True, category__isnull=True, seller__isnull=False),
                name="commission_rule_one_target",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product or self.category or self.seller}: {self.rate}%"


class Order(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")  # being put together, nothing reserved
        PLACED = "placed", _("placed")  # stock reserved, prices frozen, waiting for payment
        CONFIRMED = "confirmed", _("confirmed")  # paid (or pay-on-pickup agreed), waiting for dispatch
        BATCHED = "batched", _("batched")  # in exactly one delivery batch
        IN_TRANSIT = "in_transit", _("in transit")  # the truck has left the county warehouse
        AT_STATION = "at_station", _("at the station")  # arrived, waiting for the villager
        EXCEPTION = "exception", _("delivery exception")  # its parcel was missing or damaged; the county decides
        # Refused by the villager or never collected: on its way back to the warehouse, cancelled on arrival.
        GOING_BACK = "going_back", _("going back")
        COLLECTED = "collected", _("collected")  # handed over against the pickup code; commission earned
        RETURNED = "returned", _("returned")  # every line brought back within the return window
        CANCELLED = "cancelled", _("cancelled")  # called off before batching; stock released

    class DeliveryMethod(models.TextChoices):
        STATION_PICKUP = "station_pickup", _("pick up at the station")
        HOME_DELIVERY = "home_delivery", _("home delivery")
        HOME_INSTALLATION = "home_installation", _("home delivery and installation")

    class PaymentMethod(models.TextChoices):
        CASH_AT_STATION = "cash_at_station", _("cash at the station")
        PAY_ON_PICKUP = "pay_on_pickup", _("pay on pickup")

    class ConsentVia(models.TextChoices):
        """How the villager's consent is asked for, fixed at placement (``Villager.gets_sms`` then)."""

        SMS = "sms", _("a code by SMS")  # 4 digits, read out at the counter or sent back as a reply
        SLIP = "slip", _("the signed order slip")  # the slip's number, entered after the villager signed

    class ConsentEvidence(models.TextChoices):
        CODE_AT_COUNTER = "code_at_counter", _("code read out at the counter")
        SMS_REPLY = "sms_reply", _("code sent back by SMS")
        SIGNED_SLIP = "signed_slip", _("slip signed, its number entered")
        BEFORE_RECORD = "before_record", _("placed before consent was recorded")

    number = models.CharField(_("order number"), max_length=20, unique=True)
    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="orders", verbose_name=_("service center")
    )
    villager = models.ForeignKey(Villager, on_delete=models.PROTECT, related_name="orders", verbose_name=_("villager"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("placed by")
    )
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="orders", verbose_name=_("warehouse")
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    delivery_method = models.CharField(_("delivery"), max_length=20, choices=DeliveryMethod.choices)
    payment_method = models.CharField(_("payment"), max_length=20, choices=PaymentMethod.choices)
    total = models.DecimalField(_("total"), default=Decimal("0.00"), **MONEY)
    commission_total = models.DecimalField(_("commission"), default=Decimal("0.00"), **MONEY)
    item_count = models.PositiveIntegerField(_("items"), default=0)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3, default=Decimal("0"))
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=10, decimal_places=4, default=Decimal("0"))
    pickup_code = models.CharField(_("pickup code"), max_length=6)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64)
    request_hash = models.CharField(max_length=64, editable=False)
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("placed at"), auto_now_add=True)
    # Taken at the counter while the link was down (the offline counter), at this moment by the device's own
    # clock, as reported; the order reached the server (and was placed) at ``created_at``, the server's time.
    taken_offline_at = models.DateTimeField(_("taken offline at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # When the money was taken: at confirmation for cash at the station, at hand-over for pay on pickup.
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    # The delivery promise, fixed at placement (orders.promise): the day the goods are at the station.
    promised_on = models.DateField(_("promised for"), null=True, blank=True)
    # The villager's say (orders.consent): the code that confirms the order (the SMS's 4 digits, or the slip's
    # number), and the evidence once given.  An order is confirmed only with consent given.
    consent_via = models.CharField(
        _("consent asked by"), max_length=8, choices=ConsentVia.choices, default="sms", db_default="sms"
    )
    consent_code = models.CharField(_("consent code"), max_length=8, blank=True, default="", db_default="")
    consent_given_at = models.DateTimeField(_("villager agreed at"), null=True, blank=True)
    consent_evidence = models.CharField(
        _("consent"), max_length=16, choices=ConsentEvidence.choices, blank=True, default="", db_default=""
    )
    # Called off because the villager never agreed (consent.expire_unconfirmed): the partner is told.
    expired_at = models.DateTimeField(_("expired at"), null=True, blank=True)
    # When the slip carrying the pickup code was first printed (SlipPrint has every print); after that no
    # staff page or API answer shows the code.
    slip_printed_at = models.DateTimeField(_("slip printed at"), null=True, blank=True)
    # Handed over without the code (the villager lost it): the reason and the ID check, counted for the county.
    collected_without_code = models.BooleanField(_("handed over without the code"), default=False, db_default=False)
    handover_note = models.CharField(_("hand-over note"), max_length=300, blank=True, default="", db_default="")
    # The county's review (integrity): held out of statements until cleared; void once self-dealing is
    # confirmed (its commission clawed back, none accrues later).
    commission_held = models.BooleanField(_("commission held for review"), default=False, db_default=False)
    commission_void = models.BooleanField(_("commission void"), default=False, db_default=False)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["service_center", "idempotency_key"], name="order_idempotency_per_station"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["service_center", "-created_at"], name="order_station_recent"),
            models.Index(fields=["service_center", "status"], name="order_station_status"),
            models.Index(fields=["warehouse", "status"], name="order_warehouse_status"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """One product of an order, with its price and commission frozen at placement."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    quantity = models.PositiveIntegerField(_("quantity"))
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    line_total = models.DecimalField(_("line total"), **MONEY)
    commission_rate = models.DecimalField(_("commission rate (%)"), **PERCENT)
    commission_amount = models.DecimalField(_("commission"), **MONEY)
    # Units the villager brought back (returns by line); the goods reach the shelf when the warehouse receives them.
    returned_quantity = models.PositiveIntegerField(_("returned"), default=0, db_default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(returned_quantity__lte=F("quantity")), name="order_line_returned_within"
            ),
            models.UniqueConstraint(fields=["order", "product"], name="order_line_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_id}"


class OrderEvent(models.Model):
    """One status change of an order: the audit trail behind its timeline."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    from_status = models.CharField(_("from"), max_length=12, choices=Order.Status.choices)
    to_status = models.CharField(_("to"), max_length=12, choices=Order.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("order event")
        verbose_name_plural = _("order events")
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.from_status} → {self.to_status}"


class SlipPrint(models.Model):
    """One print of an order slip that carries the pickup code: the first, or a reprint (with its reason).

    Reprints are counted for the county: the code belongs to the villager, and a partner who reprints
    slips can collect goods for people who never came.
    """

    class Channel(models.TextChoices):
        PAGE = "page", _("order page")
        API = "api", _("station API")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="slip_prints", verbose_name=_("order"))
    printed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("by")
    )
    printed_at = models.DateTimeField(_("printed at"), auto_now_add=True)
    reprint = models.BooleanField(_("reprint"), default=False)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    channel = models.CharField(_("from"), max_length=4, choices=Channel.choices, default=Channel.PAGE)

    class Meta:
        verbose_name = _("slip print")
        verbose_name_plural = _("slip prints")
        ordering = ["printed_at", "pk"]
        constraints = [
            # One first print per order: two taps at once make one print and one reprint, never two firsts.
            models.UniqueConstraint(fields=["order"], condition=Q(reprint=False), name="slip_first_print_once"),
            models.CheckConstraint(condition=Q(reprint=False) | ~Q(reason=""), name="slip_reprint_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {'reprint' if self.reprint else 'print'}"


# --- goods waiting for pickup: the collection policy and the reminders sent ----------

DEFAULT_REMINDER_DAYS = (3, 7)  # days after the goods arrived at the station
DEFAULT_SEND_BACK_AFTER_DAYS = 14
MAX_REMINDERS = 5  # each is an SMS to every villager whose goods wait: a few are enough
MAX_WAIT_DAYS = 90


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """``"3,7"`` to ``(3, 7)``: whole days after arrival, each once, in order; ValidationError for anything else.

    Full-width digits and commas typed by a Chinese input method count ("３，７", "3、7"); empty is no reminder.
    """
    parts = [p for p in re.split(r"[,、;\s]+", unicodedata.normalize("NFKC", text or "")) if p]
    if not all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        raise ValidationError(
            _("Write whole days separated by commas, for example 3,7."), code="reminder_days_not_numbers"
        )
    days = sorted({int(p) for p in parts})
    if days and not 1 <= days[0] <= days[-1] <= MAX_WAIT_DAYS:
        raise ValidationError(
            _("Each reminder day is between 1 and %(max)s.") % {"max": MAX_WAIT_DAYS}, code="reminder_day_range"
        )
    if len(days) > MAX_REMINDERS:
        raise ValidationError(_("At most %(max)s reminders.") % {"max": MAX_REMINDERS}, code="too_many_reminders")
    return tuple(days)


class CollectionPolicy(models.Model):
    """How long goods wait at a station for their villager: the days of the SMS reminders, the day they go back.

    One row at most (its primary key is always ``SINGLETON_PK``), edited in the admin; with no row the
    defaults hold (``orders.policy.collection_policy``).
    """

    SINGLETON_PK = 1

    reminder_days = models.CharField(
        _("reminder days"),
        max_length=40,
        blank=True,
        default=",".join(map(str, DEFAULT_REMINDER_DAYS)),
        validators=[parse_reminder_days],
        help_text=_(
            "Days after the goods arrived at the station on which the villager is reminded by SMS, separated by "
            "commas (3,7: on the third and the seventh day). Empty: no reminders."
        ),
    )
    send_back_after_days = models.PositiveSmallIntegerField(
        _("send back after (days)"),
        default=DEFAULT_SEND_BACK_AFTER_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_WAIT_DAYS)],
        help_text=_("Goods not collected this many days after they arrived go back to the county warehouse."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("collection policy")
        verbose_name_plural = _("collection policy")
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="collection_policy_one_row"),  # SINGLETON_PK
            models.CheckConstraint(
                condition=Q(send_back_after_days__gte=1, send_back_after_days__lte=MAX_WAIT_DAYS),
                name="collection_policy_send_back_range",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Collection policy"))

    def save(self, *args, **kwargs):
        # The one row: a second "first save" (two admins at once) updates it rather than adding another.
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)

    def clean(self):
        try:
            days = parse_reminder_days(self.reminder_days)
        except ValidationError:
            return  # the field's own validator reports it
        if self.send_back_after_days and days and days[-1] >= self.send_back_after_days:
            raise ValidationError(
                {
                    "reminder_days": _("Every reminder comes before the goods are sent back (day %(day)s).")
                    % {"day": self.send_back_after_days}
                }
            )
        self.reminder_days = ",".join(map(str, days))  # "3， 7" is kept as "3,7"


class PickupReminder(models.Model):
    """A reminder's turn for an order waiting at the station: written once per order and reminder day.

    It is written whether or not an SMS could go (the villager may have no phone or have said no);
    ``notification`` is the text when one was queued.
    """

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="pickup_reminders", verbose_name=_("order"))
    day = models.PositiveSmallIntegerField(_("reminder day"))  # the policy's day it stands for (3: the third day)
    notification = models.ForeignKey(
        "notifications.Notification",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("SMS"),
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pickup reminder")
        verbose_name_plural = _("pickup reminders")
        ordering = ["order", "day"]
        constraints = [
            # A reminder goes once per order and day, even when the task runs twice (or twice at once).
            models.UniqueConstraint(fields=["order", "day"], name="pickup_reminder_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}: day {self.day}"


# --- commissions: an append-only ledger and its monthly statements -----------------


class CommissionStatement(models.Model):
    """One station's commission for one month: the sum of its ledger entries."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")  # built, may still take late entries of its month
        APPROVED = "approved", _("approved")  # checked by the county; closed to new entries
        PAID = "paid", _("paid")  # paid out; a payout entry of -total is in the ledger

    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="statements", verbose_name=_("service center")
    )
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    total = models.DecimalField(_("total"), default=Decimal("0.00"), **MONEY)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(_("built at"), auto_now_add=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved by"),
    )
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("paid by"),
    )
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("commission statement")
        verbose_name_plural = _("commission statements")
        ordering = ["-month", "service_center"]
        constraints = [
            models.UniqueConstraint(fields=["service_center", "month"], name="statement_one_per_station_month"),
        ]

    def __str__(self) -> str:
        return f"{self.service_center.code} {self.month:%Y-%m}"


class CommissionEntryQuerySet(AppendOnlyQuerySet):
    def update(self, **kwargs):
        # The one change the ledger allows: filing unfiled entries into a statement.
        if set(kwargs) != {"statement"} and set(kwargs) != {"statement_id"}:
            return super().update(**kwargs)
        return models.QuerySet.update(self.filter(statement__isnull=True), **kwargs)


class CommissionEntry(AppendOnlyModel):
    """One line of the commission ledger.  Never updated (but for filing into a statement), never deleted."""

    class Kind(models.TextChoices):
        ACCRUAL = "accrual", _("accrual")  # earned: the villager collected the order
        REVERSAL = "reversal", _("reversal")  # the exact negation of an accrual: the order came back
        ADJUSTMENT = "adjustment", _("adjustment")  # a correction by the county or an admin, with a note
        PAYOUT = "payout", _("payout")  # a statement paid out: -total
        # Self-dealing confirmed by the county: what the order still earned (accrual less reversals) taken back.
        CLAWBACK = "clawback", _("taken back (self-dealing)")
        # Earned on a villager's produce lot when the villager was paid for it: its value × the kind's rate.
        PRODUCE = "produce", _("produce lot")

    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="commission_entries", verbose_name=_("service center")
    )
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commission_entries",
        verbose_name=_("order"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    # The produce lot (its number: produce sits above orders, so no foreign key) a produce entry was earned on.
    produce_lot = models.CharField(_("produce lot"), max_length=20, blank=True, default="", db_default="")
    # The return whose lines this reversal takes back (returns by line: one reversal per return).
    goods_return = models.ForeignKey(
        "GoodsReturn",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="commission_entries",
        verbose_name=_("return"),
    )
    statement = models.ForeignKey(
        CommissionStatement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="entries",
        verbose_name=_("statement"),
    )

    objects = CommissionEntryQuerySet.as_manager()
    never_updated = "commission entries are never updated; post an adjustment instead"
    never_deleted = "commission entries are never deleted; post an adjustment instead"

    class Meta:
        verbose_name = _("commission entry")
        verbose_name_plural = _("commission entries")
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="commission_entry_not_zero"),
            models.CheckConstraint(
                condition=Q(kind__in=["adjustment", "payout", "produce"]) | Q(order__isnull=False),
                name="commission_entry_order_for_accrual_reversal",
            ),
            # A produce entry names its lot and no order; no other kind names a lot.
            models.CheckConstraint(
                condition=Q(kind="produce", order__isnull=True) & ~Q(produce_lot="")
                | ~Q(kind="produce") & Q(produce_lot=""),
                name="commission_produce_by_lot",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["accrual", "produce"], amount__gt=0)
                | Q(kind__in=["reversal", "payout", "clawback"], amount__lt=0)
                | Q(kind="adjustment"),
                name="commission_entry_sign_by_kind",
            ),
            # One accrual per order, one reversal per return: a return processed twice reverses once.
            models.UniqueConstraint(
                fields=["order", "kind"], condition=Q(kind="accrual"), name="commission_accrual_once_per_order"
            ),
            models.UniqueConstraint(
                fields=["goods_return"], condition=Q(kind="reversal"), name="commission_reversal_once_per_return"
            ),
            models.UniqueConstraint(
                fields=["order", "kind"], condition=Q(kind="clawback"), name="commission_clawback_once_per_order"
            ),
            # A produce lot is paid once, and earns once.
            models.UniqueConstraint(
                fields=["produce_lot"], condition=Q(kind="produce"), name="commission_produce_once_per_lot"
            ),
        ]
        indexes = [models.Index(fields=["service_center", "statement", "created_at"], name="entry_station_unfiled")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


# --- the way back: goods that go back to the warehouse, and refunds owed at the counter -------------


class GoodsReturn(models.Model):
    """Goods at a station that go back to the county warehouse on a run's return leg (logistics.Pickup).

    Stock changes only when the warehouse receives them (``returns.receive_goods_back``):
    sellable units back on the shelf, damaged ones into quarantine.
    """

    class Kind(models.TextChoices):
        RETURN = "return", _("returned by the villager")  # some or all lines, after collection
        REFUSED = "refused", _("refused by the villager")  # the whole order, at the station
        UNCOLLECTED = "uncollected", _("not collected")  # the whole order, after the collection days
        DAMAGED = "damaged", _("damaged in delivery")  # a damaged parcel's goods (the order is an exception)
        # A parcel marked missing turned up after its order moved on (shipped again, or cancelled): its goods
        # are the warehouse's again, and go back to the shelf.
        FOUND = "found", _("found after its order moved on")

    class Status(models.TextChoices):
        WAITING = "waiting", _("waiting for a truck")  # at the station
        ON_ITS_WAY = "on_its_way", _("on its way back")  # picked up by the driver
        RECEIVED = "received", _("received at the warehouse")  # counted in: stock moved

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="goods_returns", verbose_name=_("order"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.WAITING)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3, default=Decimal("0"))
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=10, decimal_places=4, default=Decimal("0"))
    # Why it is still at the station after the last run planned past it (no room, no run): for the county.
    waiting_reason = models.CharField(_("waiting because"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("goods return")
        verbose_name_plural = _("goods returns")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="goods_return_waiting")]

    def __str__(self) -> str:
        return f"R{self.pk} ({self.order_id})"


class GoodsReturnLine(models.Model):
    class Reason(models.TextChoices):
        WRONG_ITEM = "wrong_item", _("wrong item")
        DAMAGED = "damaged", _("damaged")
        NOT_WANTED = "not_wanted", _("not wanted")

    goods_return = models.ForeignKey(GoodsReturn, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField(_("quantity"))
    reason = models.CharField(_("reason"), max_length=12, choices=Reason.choices, blank=True)
    # What these units take back (returns by line): their share of the line's commission and of its price.
    commission_back = models.DecimalField(_("commission reversed"), default=Decimal("0.00"), **MONEY)
    refund_back = models.DecimalField(_("refunded"), default=Decimal("0.00"), **MONEY)
    # Counted at the warehouse: sellable back on the shelf, damaged into quarantine (the rest never arrived).
    sellable_quantity = models.PositiveIntegerField(_("sellable"), default=0)
    damaged_quantity = models.PositiveIntegerField(_("damaged"), default=0)

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="goods_return_line_quantity_positive"),
            models.CheckConstraint(
                condition=Q(sellable_quantity__lte=F("quantity") - F("damaged_quantity")),
                name="goods_return_line_counted_within",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_line_id}"


class Refund(models.Model):
    """Money owed back to a villager, paid out at their station's counter (a return, a cancelled paid order)."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    goods_return = models.OneToOneField(
        GoodsReturn, on_delete=models.PROTECT, null=True, blank=True, related_name="refund", verbose_name=_("return")
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("owed since"), auto_now_add=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
            # A cancelled paid order is refunded once; a return's refund is its own (one per return, above).
            models.UniqueConstraint(
                fields=["order"], condition=Q(goods_return__isnull=True), name="refund_once_per_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} ({self.order_id})"
