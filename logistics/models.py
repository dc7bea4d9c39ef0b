"""Getting it there: vehicles, routes of stations, delivery batches with their stops and parcels."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey

from orders.models import GoodsReturn, Order
from partners.models import ServiceCenter, Warehouse

weekdays = RegexValidator(r"^[1-7]{1,7}$", _("Weekdays as digits, Monday = 1, such as 135 or 1234567."))


class Vehicle(models.Model):
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("warehouse")
    )
    plate = models.CharField(_("plate"), max_length=20, unique=True)
    capacity_kg = models.DecimalField(_("capacity (kg)"), max_digits=9, decimal_places=1)
    capacity_m3 = models.DecimalField(_("capacity (m³)"), max_digits=7, decimal_places=2)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["warehouse", "plate"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity_kg__gt=0, capacity_m3__gt=0), name="vehicle_capacity_positive")
        ]

    def __str__(self) -> str:
        return f"{self.plate} ({self.capacity_kg} kg / {self.capacity_m3} m³)"


class Route(models.Model):
    """A delivery round from the county warehouse through its stations, leaving at the cutoff."""

    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="routes", verbose_name=_("warehouse")
    )
    code = models.SlugField(_("code"), max_length=20)
    name = models.CharField(_("name"), max_length=100)
    cutoff_time = models.TimeField(
        _("cutoff time"), help_text=_("Local time (Asia/Shanghai). Orders confirmed before it leave that day.")
    )
    departure_weekdays = models.CharField(
        _("departure weekdays"), max_length=7, default="1234567", validators=[weekdays], help_text=weekdays.message
    )
    vehicles = models.ManyToManyField(Vehicle, related_name="routes", blank=True, verbose_name=_("vehicles"))
    travel_days = models.PositiveSmallIntegerField(
        _("travel days"),
        default=1,
        db_default=1,
        help_text=_("Days from the departure to the stations (1: the goods are at the stations the next day)."),
    )

    class Meta:
        verbose_name = _("route")
        verbose_name_plural = _("routes")
        ordering = ["warehouse", "code"]
        constraints = [models.UniqueConstraint(fields=["warehouse", "code"], name="route_code_unique_in_warehouse")]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def departs_on(self, day) -> bool:
        return str(day.isoweekday()) in self.departure_weekdays


class RouteStop(models.Model):
    route = models.ForeignKey(Route, on_delete=models.CASCADE, related_name="stops", verbose_name=_("route"))
    # A station is on at most one route: the database says so.
    service_center = models.OneToOneField(
        ServiceCenter, on_delete=models.CASCADE, related_name="route_stop", verbose_name=_("service center")
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))

    class Meta:
        verbose_name = _("route stop")
        verbose_name_plural = _("route stops")
        ordering = ["route", "sequence"]
        constraints = [models.UniqueConstraint(fields=["route", "sequence"], name="route_stop_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.route.code} #{self.sequence}: {self.service_center.code}"


class DeliveryBatch(models.Model):
    """One vehicle run on one date: a route's stations in order, a parcel per order."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")  # loaded on paper, not yet left
        IN_TRANSIT = "in_transit", _("in transit")  # left the county warehouse
        COMPLETED = "completed", _("completed")  # every stop received its parcels
        CANCELLED = "cancelled", _("cancelled")  # called off before departure; its orders went back to confirmed

    code = models.CharField(_("code"), max_length=50, unique=True)
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, related_name="batches", verbose_name=_("warehouse")
    )
    route = models.ForeignKey(Route, on_delete=models.PROTECT, related_name="batches", verbose_name=_("route"))
    vehicle = models.ForeignKey(Vehicle, on_delete=models.PROTECT, related_name="batches", verbose_name=_("vehicle"))
    dispatch_date = models.DateField(_("dispatch date"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    total_weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3, default=Decimal("0"))
    total_volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=10, decimal_places=4, default=Decimal("0"))
    parcel_count = models.PositiveIntegerField(_("parcels"), default=0)
    # Bumped (F() + 1) by every service that changes the batch, its stops or its parcels,
    # in the same transaction: it keys the API's cached manifest.
    version = models.PositiveIntegerField(_("version"), default=0, editable=False)
    created_at = models.DateTimeField(_("planned at"), auto_now_add=True)
    departed_at = models.DateTimeField(_("departed at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("delivery batch")
        verbose_name_plural = _("delivery batches")
        ordering = ["-dispatch_date", "code"]
        constraints = [
            # A vehicle makes one run a day: two planners cannot both take it.
            models.UniqueConstraint(
                fields=["vehicle", "dispatch_date"],
                condition=~Q(status="cancelled"),
                name="batch_one_run_per_vehicle_and_day",
            ),
        ]
        indexes = [models.Index(fields=["warehouse", "dispatch_date"], name="batch_warehouse_date")]

    def __str__(self) -> str:
        return self.code

    @property
    def load_percent(self) -> int:
        """The fuller of weight and volume, in percent of the vehicle's capacity."""
        vehicle = self.vehicle
        return round(max(self.total_weight_kg / vehicle.capacity_kg, self.total_volume_m3 / vehicle.capacity_m3) * 100)


class BatchStop(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # not there yet
        ARRIVED = "arrived", _("arrived")  # the truck is at the station
        RECEIVED = "received", _("received")  # the station checked the parcels in

    batch = models.ForeignKey(DeliveryBatch, on_delete=models.CASCADE, related_name="stops", verbose_name=_("batch"))
    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="batch_stops", verbose_name=_("service center")
    )
    sequence = models.PositiveSmallIntegerField(_("sequence"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("received by"),
    )

    class Meta:
        verbose_name = _("batch stop")
        verbose_name_plural = _("batch stops")
        ordering = ["batch", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "service_center"], name="batch_stop_station_once"),
            models.UniqueConstraint(fields=["batch", "sequence"], name="batch_stop_sequence_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.batch.code} #{self.sequence}"

    @property
    def home_deliveries(self) -> list:
        """The stop's parcels that go on to the villager's house after it (home delivery or installation), in
        label order: the run's own stops after the station (from the prefetched parcels, no query)."""
        return [p for p in self.parcels.all() if p.order.delivery_method != "station_pickup"]


class Parcel(models.Model):
    class Status(models.TextChoices):
        LOADED = "loaded", _("loaded")  # on the truck
        DELIVERED = "delivered", _("delivered")  # checked in at the station
        MISSING = "missing", _("missing")  # not on the truck when it arrived
        DAMAGED = "damaged", _("damaged")  # arrived broken
        FOUND = "found", _("found, sent back")  # was missing, turned up after its order moved on: goods go back

    batch_stop = models.ForeignKey(BatchStop, on_delete=models.CASCADE, related_name="parcels", verbose_name=_("stop"))
    # An order has one live parcel (loaded or delivered) at a time, in exactly one batch: the
    # constraint below is the last line of defence against double planning.  A parcel lost or
    # broken on the way stays as the record, and shipping the order again gives it a new one.
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="parcels", verbose_name=_("order"))
    label = models.CharField(_("label"), max_length=40, unique=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=10, decimal_places=4)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.LOADED)
    note = models.CharField(_("note"), max_length=500, blank=True)
    overdue_since = models.DateField(_("uncollected since"), null=True, blank=True)

    class Meta:
        verbose_name = _("parcel")
        verbose_name_plural = _("parcels")
        ordering = ["batch_stop", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(status__in=["loaded", "delivered"]), name="parcel_one_live_per_order"
            ),
        ]

    def __str__(self) -> str:
        return self.label


class Pickup(models.Model):
    """Goods a run's return leg takes from a stop back to the warehouse, tracked like a parcel: an
    orders.GoodsReturn, or a villager's produce lot (``lot_number``: produce sits above logistics, which knows
    the lot by its number only; ``logistics.return_leg`` is how produce offers its lots to the plan)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("planned")  # on the run's return leg
        COLLECTED = "collected", _("collected")  # the driver took it at the stop
        RECEIVED = "received", _("received")  # counted in at the warehouse
        LEFT = "left", _("left behind")  # the run ended without it: its goods wait for the next run

    batch_stop = models.ForeignKey(BatchStop, on_delete=models.CASCADE, related_name="pickups", verbose_name=_("stop"))
    goods_return = models.ForeignKey(
        GoodsReturn, on_delete=models.PROTECT, null=True, blank=True, related_name="pickups", verbose_name=_("goods")
    )
    lot_number = models.CharField(_("produce lot"), max_length=20, blank=True, db_index=True)
    label = models.CharField(_("label"), max_length=40, unique=True)
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=10, decimal_places=3)
    volume_m3 = models.DecimalField(_("volume (m³)"), max_digits=10, decimal_places=4)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PLANNED)
    collected_at = models.DateTimeField(_("collected at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)

    class Meta:
        verbose_name = _("pickup")
        verbose_name_plural = _("pickups")
        ordering = ["batch_stop", "label"]
        constraints = [
            # Goods ride one truck at a time: a second planner cannot load them again.
            models.UniqueConstraint(
                fields=["goods_return"],
                condition=Q(status__in=["planned", "collected"]),
                name="pickup_one_live_per_goods",
            ),
            models.UniqueConstraint(
                fields=["lot_number"],
                condition=Q(status__in=["planned", "collected"]) & ~Q(lot_number=""),
                name="pickup_one_live_per_lot",
            ),
            models.CheckConstraint(
                condition=Q(goods_return__isnull=False, lot_number="")
                | Q(goods_return__isnull=True) & ~Q(lot_number=""),
                name="pickup_goods_or_lot",
            ),
        ]

    def __str__(self) -> str:
        return self.label


def parcel_photo_path(instance, filename: str) -> str:
    """A random name under the month it was taken: nothing of the parcel, order or villager in the path."""
    return f"parcel-photos/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.jpg"


def parcel_thumbnail_path(instance, filename: str) -> str:
    return f"parcel-photos/{timezone.now():%Y/%m}/{uuid.uuid4().hex}-thumb.jpg"


class ParcelPhoto(models.Model):
    """A photo of a parcel found missing or damaged, as a station (or the logistics company) took it.

    Stored as Pillow re-encoded it (logistics.photos): a JPEG at most 1280 px on its
    longest side, turned upright, with no EXIF (no GPS, no phone model), and a small
    thumbnail for the county's queue.  Private files: only ``views.parcel_photo`` serves them.
    """

    parcel = models.OneToOneField(Parcel, on_delete=models.CASCADE, related_name="photo", verbose_name=_("parcel"))
    image = models.FileField(_("image"), upload_to=parcel_photo_path, max_length=200)
    thumbnail = models.FileField(_("thumbnail"), upload_to=parcel_thumbnail_path, max_length=200)
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    size_bytes = models.PositiveIntegerField(_("size (bytes)"))
    # None: sent by the logistics company over the API (a key, not a user).
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("taken by"),
    )
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)

    class Meta:
        verbose_name = _("parcel photo")
        verbose_name_plural = _("parcel photos")

    def __str__(self) -> str:
        return f"{self.parcel_id}: {self.width}x{self.height}"


class UnplannedOrder(models.Model):
    """Why a confirmed order was left out of the last plan of its warehouse (gone once it is planned)."""

    class Reason(models.TextChoices):
        NO_ROUTE = "no_route", _("the station is on no route")
        TOO_LARGE = "too_large", _("larger than every vehicle of the route")
        NO_VEHICLE = "no_vehicle", _("no vehicle left today")
        NO_DEPARTURE = "no_departure", _("the route does not leave on this day")
        AFTER_CUTOFF = "after_cutoff", _("confirmed after the route's cutoff")

    order = models.OneToOneField(
        Order, on_delete=models.CASCADE, related_name="dispatch_issue", verbose_name=_("order")
    )
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="+", verbose_name=_("warehouse"))
    dispatch_date = models.DateField(_("dispatch date"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    checked_at = models.DateTimeField(_("checked at"), auto_now=True)

    class Meta:
        verbose_name = _("unplanned order")
        verbose_name_plural = _("unplanned orders")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.reason}"


# --- logistics companies and their access ----------------------------------------------


class LogisticsClient(models.Model):
    """A logistics company: sees the batches of its warehouses over the REST API, nothing else."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    warehouses = models.ManyToManyField(Warehouse, related_name="logistics_clients", verbose_name=_("warehouses"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("logistics client")
        verbose_name_plural = _("logistics clients")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    # DRF treats the authenticated principal like a user.
    is_authenticated = True


class LogisticsClientKey(AbstractAPIKey):
    """An API key of a client: only its hash is stored; several per client so keys can be rotated."""

    client = models.ForeignKey(
        LogisticsClient, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("client")
    )

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")


class WebhookEndpoint(models.Model):
    class Event(models.TextChoices):
        BATCH_PLANNED = "batch.planned", "batch.planned"
        BATCH_CANCELLED = "batch.cancelled", "batch.cancelled"
        PICKUP_COLLECTED = "pickup.collected", "pickup.collected"
        PICKUP_RECEIVED = "pickup.received", "pickup.received"

    client = models.ForeignKey(
        LogisticsClient, on_delete=models.CASCADE, related_name="webhooks", verbose_name=_("client")
    )
    url = models.URLField(_("URL"), max_length=500)
    secret = models.CharField(_("signing secret"), max_length=64)
    events = models.CharField(_("events"), max_length=200, default="batch.planned,batch.cancelled")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def clean(self):
        errors = {}
        if not self.url.startswith("https://") and not settings.WEBHOOK_ALLOW_HTTP:
            errors["url"] = _("Webhooks are sent over HTTPS only.")
        unknown = sorted(self.event_names() - set(self.Event.values))
        if unknown:
            errors["events"] = _("No such event: %(unknown)s. The events are %(known)s.") % {
                "unknown": ", ".join(unknown),
                "known": ", ".join(self.Event.values),
            }
        elif not self.event_names():
            errors["events"] = _("Choose at least one event.")
        if errors:
            raise ValidationError(errors)

    def event_names(self) -> set[str]:
        return {e.strip() for e in self.events.split(",")} - {""}

    def wants(self, event: str) -> bool:
        return event in self.event_names()


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # queued or waiting for a retry
        DELIVERED = "delivered", _("delivered")  # the receiver answered 2xx
        FAILED = "failed", _("failed")  # gave up after the last retry; can be re-sent from the admin

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_response_code = models.PositiveSmallIntegerField(_("last response code"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    # Claimed by a worker for the POST (see orders.Notification.claimed_until), and when a retry is due.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id}"
