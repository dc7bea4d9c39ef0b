"""What is sold and ordered: catalog, stock, promotions, orders and their events, the SMS outbox."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partners.models import ServiceCenter, Villager, Warehouse

from . import search_text as catalog_text

MONEY = {"max_digits": 12, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class Seller(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    default_commission_rate = models.DecimalField(_("default commission rate (%)"), default=Decimal("3.00"), **PERCENT)

    class Meta:
        verbose_name = _("seller")
        verbose_name_plural = _("sellers")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(default_commission_rate__gte=0, default_commission_rate__lte=100),
                name="seller_rate_0_100",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        renamed = _renamed(self, "name")
        super().save(*args, **kwargs)
        if renamed:
            refresh_search_text(Product.objects.filter(seller=self))


class Category(models.Model):
    name = models.CharField(_("name"), max_length=50)
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        renamed = _renamed(self, "name", "parent_id")
        super().save(*args, **kwargs)
        if renamed:
            refresh_search_text(Product.objects.filter(category__in=self.with_descendants()))

    def with_descendants(self) -> list[int]:
        """The ids of this category and every category under it (one query per level)."""
        ids, level = [self.pk], [self.pk]
        while level and len(ids) < 10_000:
            level = list(Category.objects.filter(parent__in=level).exclude(pk__in=ids).values_list("pk", flat=True))
            ids += level
        return ids


def _renamed(instance, *fields: str) -> bool:
    """Whether a saved row's ``fields`` differ from the database (one query; a new row is not renamed)."""
    if instance._state.adding or instance.pk is None:
        return False
    stored = type(instance).objects.filter(pk=instance.pk).values_list(*fields).first()
    return stored is not None and stored != tuple(getattr(instance, f) for f in fields)


def refresh_search_text(products) -> int:
    """Recompute the stored search text of ``products`` (after a category or seller is renamed)."""
    changed = []
    for product in products.select_related("category__parent__parent", "seller").order_by("pk"):
        text = catalog_text.of_product(product)
        if text != product.search_text:
            product.search_text = text
            changed.append(product)
    Product.objects.bulk_update(changed, ["search_text"], batch_size=500)
    return len(changed)


class Product(models.Model):
    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="products", verbose_name=_("seller"))
    unit = models.CharField(_("unit"), max_length=20, default="件")
    price = models.DecimalField(_("price (CNY)"), **MONEY)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=9, decimal_places=4)
    needs_installation = models.BooleanField(_("needs installation"), default=False)
    is_active = models.BooleanField(_("on sale"), default=True)
    # Name, SKU, seller and category path with their pinyin, lower-cased: what the catalog search looks in
    # (orders.search_text). Kept by save() here and by Category.save() and Seller.save() on a rename.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["category", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=Q(weight_kg__gte=0, volume_m3__gte=0), name="product_size_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"

    def save(self, *args, **kwargs):
        self.search_text = catalog_text.of_product(self)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "search_text" not in update_fields:
            kwargs["update_fields"] = {*update_fields, "search_text"}
        super().save(*args, **kwargs)


class Stock(models.Model):
    """Units of a product at a county warehouse; ``reserved`` are promised to placed orders."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock", verbose_name=_("product"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock", verbose_name=_("warehouse")
    )
    on_hand = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved"), default=0)

    class Meta:
        verbose_name = _("stock")
        verbose_name_plural = _("stock")
        constraints = [
            models.UniqueConstraint(fields=["product", "warehouse"], name="stock_unique_per_warehouse"),
            # The last line of defence against overselling, whatever the code above does.
            models.CheckConstraint(
                condition=Q(reserved__gte=0) & Q(reserved__lte=F("on_hand")), name="stock_reserved_within_on_hand"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product.sku} @ {self.warehouse.code}: {self.available}"

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Promotion(models.Model):
    """A time-boxed price or percentage off, for one product or a whole category (a 6.18 sale)."""

    name = models.CharField(_("name"), max_length=100)
    product = models.ForeignKey(
        Product, on_delete=models.CASCADE, null=True, blank=True, related_name="promotions", verbose_name=_("product")
    )
    category = models.ForeignKey(
        Category, on_delete=models.CASCADE, null=True, blank=True, related_name="promotions", verbose_name=_("category")
    )
    price = models.DecimalField(_("promotional price"), null=True, blank=True, **MONEY)
    percent_off = models.DecimalField(_("percent off"), null=True, blank=True, **PERCENT)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))

    class Meta:
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(product__isnull=False, category__isnull=True)
                | Q(product__isnull=True, category__isnull=False),
                name="promotion_product_xor_category",
            ),
            models.CheckConstraint(
                condition=Q(price__isnull=False, percent_off__isnull=True, price__gt=0)
                | Q(price__isnull=True, percent_off__isnull=False, percent_off__gt=0, percent_off__lt=100),
                name="promotion_price_xor_percent",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="promotion_ends_after_start"),
        ]
        indexes = [models.Index(fields=["starts_at", "ends_at"], name="promotion_window")]

    def __str__(self) -> str:
        return self.name


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
        COLLECTED = "collected", _("collected")  # handed over against the pickup code; commission earned
        RETURNED = "returned", _("returned")  # brought back within the return window
        CANCELLED = "cancelled", _("cancelled")  # called off before batching; stock released

    class DeliveryMethod(models.TextChoices):
        STATION_PICKUP = "station_pickup", _("pick up at the station")
        HOME_DELIVERY = "home_delivery", _("home delivery")
        HOME_INSTALLATION = "home_installation", _("home delivery and installation")

    class PaymentMethod(models.TextChoices):
        CASH_AT_STATION = "cash_at_station", _("cash at the station")
        PAY_ON_PICKUP = "pay_on_pickup", _("pay on pickup")

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
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    # When the money was taken: at confirmation for cash at the station, at hand-over for pay on pickup.
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)

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

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_positive"),
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


class Notification(models.Model):
    """The outbox: written in the transaction that decides to notify, sent by a task after commit."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # waiting for (another) attempt
        SENT = "sent", _("sent")  # accepted by the gateway
        FAILED = "failed", _("failed")  # gave up after the last retry; can be re-sent from the admin

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.SMS)
    recipient = models.CharField(_("recipient"), max_length=32)
    template = models.CharField(_("template"), max_length=50)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications", verbose_name=_("order")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # A worker claims the message before the gateway call and holds it until then: another delivery of
    # its task leaves it alone meanwhile; a worker killed mid-send lets it go when the time passes.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    # When the retry of a failed attempt is due; a message still pending well after it has lost its
    # retry task (a broker restart) and is queued again by resend_stuck_notifications.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_pending")]

    def __str__(self) -> str:
        return f"{self.template} #{self.pk}"


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


class LedgerIsAppendOnly(Exception):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    """A ledger's rows in bulk: never updated, never deleted (a correction is a new row)."""

    def update(self, **kwargs):
        raise LedgerIsAppendOnly(self.model.never_updated)

    def delete(self):
        raise LedgerIsAppendOnly(self.model.never_deleted)


class AppendOnlyModel(models.Model):
    """A ledger row: written once, never updated, never deleted (on PostgreSQL a trigger says so too)."""

    never_updated = "ledger rows are never updated"
    never_deleted = "ledger rows are never deleted"

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise LedgerIsAppendOnly(self.never_updated)
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise LedgerIsAppendOnly(self.never_deleted)


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
                condition=Q(kind__in=["adjustment", "payout"]) | Q(order__isnull=False),
                name="commission_entry_order_for_accrual_reversal",
            ),
            models.CheckConstraint(
                condition=Q(kind="accrual", amount__gt=0)
                | Q(kind__in=["reversal", "payout"], amount__lt=0)
                | Q(kind="adjustment"),
                name="commission_entry_sign_by_kind",
            ),
            # One accrual and at most one reversal per order: a return processed twice reverses once.
            models.UniqueConstraint(
                fields=["order", "kind"],
                condition=Q(kind__in=["accrual", "reversal"]),
                name="commission_entry_once_per_order",
            ),
        ]
        indexes = [models.Index(fields=["service_center", "statement", "created_at"], name="entry_station_unfiled")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount}"


# --- stock movements: every change of a Stock row, append-only --------------------


class StockMovement(AppendOnlyModel):
    """One change of a product's stock at a warehouse: the sums of its deltas are the Stock row.

    Written by orders.stock in the transaction that moves the Stock row; never updated, never deleted.
    """

    class Kind(models.TextChoices):
        OPENING = "opening", _("opening balance")  # the row as it stood when this ledger started
        RECEIVED = "received", pgettext_lazy("stock movement", "received")  # goods in at the warehouse: on hand +
        COUNTED = "counted", _("counted")  # a stock-take: on hand corrected to the count (either sign, or 0)
        WRITTEN_OFF = "written_off", _("written off")  # damaged, lost, expired: on hand -
        RESERVED = "reserved", _("reserved")  # an order placed: reserved +
        RELEASED = "released", _("released")  # an order cancelled: reserved -
        SHIPPED = "shipped", _("shipped")  # the truck left with an order: on hand - and reserved -
        RETURNED = "returned", _("returned")  # an order brought back: on hand +

    ORDER_KINDS = ("reserved", "released", "shipped", "returned")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    order = models.ForeignKey(
        Order,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="stock_movements",
        verbose_name=_("order"),
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()
    never_updated = "stock movements are never updated; record a correcting movement instead"
    never_deleted = "stock movements are never deleted; record a correcting movement instead"

    class Meta:
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Each kind moves only its own column(s), in its own direction.
            models.CheckConstraint(
                condition=Q(kind="opening", on_hand_delta__gte=0, reserved_delta__gte=0)
                | Q(kind__in=["received", "returned"], on_hand_delta__gt=0, reserved_delta=0)
                | Q(kind="counted", reserved_delta=0)
                | Q(kind="written_off", on_hand_delta__lt=0, reserved_delta=0)
                | Q(kind="reserved", on_hand_delta=0, reserved_delta__gt=0)
                | Q(kind="released", on_hand_delta=0, reserved_delta__lt=0)
                | Q(kind="shipped", on_hand_delta__lt=0, reserved_delta=F("on_hand_delta")),
                name="stock_movement_deltas_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["reserved", "released", "shipped", "returned"], order__isnull=False)
                | Q(kind__in=["opening", "received", "counted", "written_off"], order__isnull=True),
                name="stock_movement_order_for_order_kinds",
            ),
        ]
        indexes = [models.Index(fields=["product", "warehouse", "created_at"], name="stock_movement_row_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}/{self.reserved_delta:+d}"
