"""What is sold: sellers, categories, products, their promotions, stock per warehouse and its movements."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from partners.models import Warehouse
from ruralshop.ledgers import AppendOnlyModel, AppendOnlyQuerySet
from ruralshop.names import english_active, in_language

from . import search_text as catalog_text

MONEY = {"max_digits": 12, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2, "validators": [MinValueValidator(0), MaxValueValidator(100)]}


class Seller(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    default_commission_rate = models.DecimalField(_("default commission rate (%)"), default=Decimal("3.00"), **PERCENT)

    class Meta:
        db_table = "orders_seller"  # the table it had in orders (moved in state only, no row moved)
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
    name_en = models.CharField(
        _("English name"), max_length=50, blank=True, default="", help_text=_("Blank: the Chinese name in English too.")
    )
    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    # Days after collection in which goods of this category may be returned: blank for the default
    # (ORDER_RETURN_WINDOW_DAYS), 0 for goods that cannot be returned once handed over (opened seeds).
    return_days = models.PositiveSmallIntegerField(
        _("return window (days)"),
        null=True,
        blank=True,
        help_text=_("Blank: the default window. 0: cannot be returned once collected."),
    )

    class Meta:
        db_table = "orders_category"  # the table it had in orders (moved in state only, no row moved)
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.display_name

    def save(self, *args, **kwargs):
        renamed = _renamed(self, "name", "name_en", "parent_id")
        super().save(*args, **kwargs)
        if renamed:
            refresh_search_text(Product.objects.filter(category__in=self.with_descendants()))

    @property
    def display_name(self) -> str:
        """The name in the active language (the Chinese when no English one is kept)."""
        return in_language(self.name, self.name_en)

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


class Unit(models.TextChoices):
    """What a product is sold by.  Stored in Chinese, as the free text it replaced (and the offline counter's
    copy, the API and the SMS show it), labelled in the active language."""

    PIECE = "件", pgettext_lazy("product unit", "piece")
    EACH = "个", pgettext_lazy("product unit", "each")
    ITEM = "把", pgettext_lazy("product unit", "item")  # a tool with a handle: a hoe, a sickle
    BAG = "袋", pgettext_lazy("product unit", "bag")
    PACKET = "包", pgettext_lazy("product unit", "packet")
    PACK = "组", pgettext_lazy("product unit", "pack")  # a battery pack
    MULTIPACK = "提", pgettext_lazy("product unit", "multipack")  # ten rolls of paper carried by one handle
    BOX = "盒", pgettext_lazy("product unit", "box")
    CARTON = "箱", pgettext_lazy("product unit", "carton")
    BOTTLE = "瓶", pgettext_lazy("product unit", "bottle")
    BARREL = "桶", pgettext_lazy("product unit", "barrel")
    CAN = "罐", pgettext_lazy("product unit", "can")
    TUBE = "支", pgettext_lazy("product unit", "tube")
    ROLL = "卷", pgettext_lazy("product unit", "roll")
    SHEET = "张", pgettext_lazy("product unit", "sheet")
    PAIR = "双", pgettext_lazy("product unit", "pair")
    SET = "套", pgettext_lazy("product unit", "set")
    UNIT = "台", pgettext_lazy("product unit", "unit")  # an appliance, a machine
    VEHICLE = "辆", pgettext_lazy("product unit", "vehicle")
    HEAD = "只", pgettext_lazy("product unit", "head")  # an animal: a chick, a duckling
    JIN = "斤", pgettext_lazy("product unit", "jin (500 g)")
    KG = "公斤", pgettext_lazy("product unit", "kg")
    TONNE = "吨", pgettext_lazy("product unit", "tonne")
    LITRE = "升", pgettext_lazy("product unit", "litre")
    METRE = "米", pgettext_lazy("product unit", "metre")


def unit_label(unit: str) -> str:
    """A stored unit in the active language; one outside the list (kept from before it) as stored.

    In Chinese the stored word itself, not its label's translation: right even before the catalogue has it."""
    if english_active() and unit in Unit.values:
        return str(Unit(unit).label)
    return unit


class Product(models.Model):
    Unit = Unit

    sku = models.CharField(_("SKU"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.ForeignKey(
        Category, on_delete=models.PROTECT, related_name="products", verbose_name=_("category")
    )
    seller = models.ForeignKey(Seller, on_delete=models.PROTECT, related_name="products", verbose_name=_("seller"))
    unit = models.CharField(_("unit"), max_length=20, choices=Unit.choices, default=Unit.PIECE)
    price = models.DecimalField(_("price (CNY)"), **MONEY)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=9, decimal_places=3)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=9, decimal_places=4)
    needs_installation = models.BooleanField(_("needs installation"), default=False)
    is_active = models.BooleanField(_("on sale"), default=True)
    # Name, SKU, seller and category path with their pinyin, lower-cased: what the catalog search looks in
    # (catalog.search_text). Kept by save() here and by Category.save() and Seller.save() on a rename.
    search_text = models.TextField(_("search text"), blank=True, default="", editable=False)

    class Meta:
        db_table = "orders_product"  # the table it had in orders (moved in state only, no row moved)
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

    @property
    def unit_label(self) -> str:
        """The unit in the active language."""
        return unit_label(self.unit)


class Stock(models.Model):
    """Units of a product at a county warehouse; ``reserved`` are promised to placed orders."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock", verbose_name=_("product"))
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="stock", verbose_name=_("warehouse")
    )
    on_hand = models.PositiveIntegerField(_("on hand"), default=0)
    reserved = models.PositiveIntegerField(_("reserved"), default=0)
    # Units that came back damaged: apart from on hand, so never sold, until inspected (released) or written off.
    quarantined = models.PositiveIntegerField(_("quarantined"), default=0, db_default=0)

    class Meta:
        db_table = "orders_stock"  # the table it had in orders (moved in state only, no row moved)
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
        db_table = "orders_promotion"  # the table it had in orders (moved in state only, no row moved)
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


# --- stock movements: every change of a Stock row, append-only --------------------


class StockMovement(AppendOnlyModel):
    """One change of a product's stock at a warehouse: the sums of its deltas are the Stock row.

    Written by catalog.stock (and orders.stock_moves for orders) in the transaction that moves the Stock row; never updated, never deleted.
    """

    class Kind(models.TextChoices):
        OPENING = "opening", _("opening balance")  # the row as it stood when this ledger started
        RECEIVED = "received", pgettext_lazy("stock movement", "received")  # goods in at the warehouse: on hand +
        COUNTED = "counted", _("counted")  # a stock-take: on hand corrected to the count (either sign, or 0)
        WRITTEN_OFF = "written_off", _("written off")  # damaged, lost, expired: on hand -
        RESERVED = "reserved", _("reserved")  # an order placed: reserved +
        RELEASED = "released", _("released")  # an order cancelled: reserved -
        SHIPPED = "shipped", _("shipped")  # the truck left with an order: on hand - and reserved -
        RETURNED = "returned", _("returned")  # an order's goods received back at the warehouse: on hand +
        QUARANTINED = "quarantined", _("quarantined")  # an order's goods received back damaged: quarantined +
        RELEASED_FROM_QUARANTINE = "q_released", _("released from quarantine")  # inspected, sellable
        WRITTEN_OFF_FROM_QUARANTINE = "q_write_off", _("written off from quarantine")  # quarantined -

    ORDER_KINDS = ("reserved", "released", "shipped", "returned", "quarantined")

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+", verbose_name=_("product"))
    warehouse = models.ForeignKey(Warehouse, on_delete=models.PROTECT, related_name="+", verbose_name=_("warehouse"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    quarantined_delta = models.IntegerField(_("quarantined change"), default=0, db_default=0)
    # A lazy reference, not an import: orders builds on the catalog, never the other way round.
    order = models.ForeignKey(
        "orders.Order",
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
        db_table = "orders_stockmovement"  # the table it had in orders (moved in state only, no row moved)
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # Each kind moves only its own column(s), in its own direction.
            models.CheckConstraint(
                condition=Q(kind="opening", on_hand_delta__gte=0, reserved_delta__gte=0, quarantined_delta=0)
                | Q(kind__in=["received", "returned"], on_hand_delta__gt=0, reserved_delta=0, quarantined_delta=0)
                | Q(kind="counted", reserved_delta=0, quarantined_delta=0)
                | Q(kind="written_off", on_hand_delta__lt=0, reserved_delta=0, quarantined_delta=0)
                | Q(kind="reserved", on_hand_delta=0, reserved_delta__gt=0, quarantined_delta=0)
                | Q(kind="released", on_hand_delta=0, reserved_delta__lt=0, quarantined_delta=0)
                | Q(kind="shipped", on_hand_delta__lt=0, reserved_delta=F("on_hand_delta"), quarantined_delta=0)
                | Q(kind="quarantined", on_hand_delta=0, reserved_delta=0, quarantined_delta__gt=0)
                | Q(kind="q_released", on_hand_delta__gt=0, reserved_delta=0, quarantined_delta=-F("on_hand_delta"))
                | Q(kind="q_write_off", on_hand_delta=0, reserved_delta=0, quarantined_delta__lt=0),
                name="stock_movement_deltas_by_kind",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=["reserved", "released", "shipped", "returned", "quarantined"], order__isnull=False
                )
                | Q(
                    kind__in=["opening", "received", "counted", "written_off", "q_released", "q_write_off"],
                    order__isnull=True,
                ),
                name="stock_movement_order_for_order_kinds",
            ),
        ]
        indexes = [models.Index(fields=["product", "warehouse", "created_at"], name="stock_movement_row_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}/{self.reserved_delta:+d}"
