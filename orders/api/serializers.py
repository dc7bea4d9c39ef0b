"""Input and output shapes of the station JSON API (orders/api/views.py).

Plain ``Serializer`` classes, not ``ModelSerializer``: the API promises these
fields and no others, whatever the models grow.
"""

import re
from datetime import UTC

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orders import consent, payments, placement, services
from orders.models import MONEY, GoodsReturnLine, Order, OrderLine
from partners.models import Villager

MAX_ID = 2**63 - 1  # ids are BigAutoField: anything larger cannot exist and would overflow the lookup
# The shape of an ISO 8601 date and time, checked before parsing: Python's parser would take any character
# between the date and the time, a NUL byte too.
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)?", re.ASCII)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: DRF would also take "2", 2.0 and true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    """A JSON string and nothing else: DRF would also take 12345 (and a code of 012345 would lose its zero)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true or false and nothing else: DRF would also take "yes", "0" and 1."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class OffsetDateTimeField(serializers.DateTimeField):
    """An ISO 8601 date and time with its offset (2026-05-01T09:30:00+08:00, or Z): a time without one
    could be any of 24 instants.  Read as UTC."""

    default_error_messages = {
        "naive": _("Give the time zone too, such as 2026-05-01T09:30:00+08:00."),
    }

    def to_internal_value(self, value):
        # Parsed here, not by DRF, which would read a time without an offset in the server's time zone.
        try:
            parsed = parse_datetime(value) if isinstance(value, str) and ISO_DATETIME.fullmatch(value) else None
        except ValueError:  # well formed, but no such day or time (2026-02-30)
            parsed = None
        if parsed is None:
            self.fail("invalid", format="YYYY-MM-DDThh:mm[:ss[.uuuuuu]]±HH:MM")
        if timezone.is_naive(parsed):
            self.fail("naive")
        try:
            return parsed.astimezone(UTC)
        except OverflowError:
            self.fail("overflow")


# --- POST /api/v1/orders/ ----------------------------------------------------------


class OrderLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    quantity = StrictIntegerField(min_value=1, max_value=services.MAX_QUANTITY)


class OrderCreateInputSerializer(serializers.Serializer):
    """The order a partner places; the station comes from the user, never from the body."""

    villager = StrictIntegerField(
        min_value=1, max_value=MAX_ID, help_text="Id of a villager registered at the user's station."
    )
    lines = OrderLineInputSerializer(many=True, allow_empty=False, min_length=1, max_length=services.MAX_LINES)
    delivery_method = serializers.ChoiceField(choices=Order.DeliveryMethod.choices)
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)
    notes = serializers.CharField(max_length=Order._meta.get_field("notes").max_length, allow_blank=True, default="")
    # The offline counter's: neither is part of what the Idempotency-Key stands for.
    expected_total = serializers.DecimalField(
        **MONEY,
        min_value=0,
        required=False,
        allow_null=True,
        help_text=(
            "The total the partner showed the villager (the offline counter's copy of the prices). When the "
            "order costs anything else now it is refused (409, `price_changed`, with today's prices) and "
            "nothing is placed; send it again under the same key with the new total once the villager agrees. "
            "A key that placed an order before returns that order, whatever this says."
        ),
    )
    taken_at = OffsetDateTimeField(
        required=False,
        allow_null=True,
        help_text=(
            "When the order was taken at the counter while offline, by the device's clock, with its offset. "
            "Recorded as reported (`taken_offline_at`); `created_at` stays the server's time of placing. "
            "More than a day ahead of the server is refused (400)."
        ),
    )

    def validate_taken_at(self, value):
        try:
            return placement.check_taken_at(value)
        except services.OrderError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None

    def validate_villager(self, value: int) -> Villager:
        # Another station's villager and a missing one get the same answer: the
        # API must not tell a station which ids exist elsewhere.
        # Plain SQL: checked on every placement, and the ORM would take ten times the CPU to build it.
        villager = next(
            iter(
                Villager.objects.raw(
                    f"SELECT * FROM {Villager._meta.db_table} WHERE id = %s AND service_center_id = %s",  # noqa: S608
                    [value, self.context["station"].pk],
                )
            ),
            None,
        )
        if villager is None:
            raise serializers.ValidationError(
                _("No villager with this id is registered at your station."), code="does_not_exist"
            )
        return villager


# --- GET /api/v1/orders/ -----------------------------------------------------------


class OrderListFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Order.Status.choices, required=False, allow_blank=True)


# --- the order, as every endpoint returns it ---------------------------------------


class VillagerOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    # 138****5678: the full number stays on the station's own pages.
    masked_phone = serializers.CharField()


class OrderLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="product.sku")
    name = serializers.CharField(source="product.name")
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY)
    line_total = serializers.DecimalField(**MONEY)
    returned_quantity = serializers.IntegerField(help_text="Units of the line the villager brought back so far.")


class OrderOutputSerializer(serializers.Serializer):
    """One order: the same shape from create, replay, list and detail, so a client has one model of it.

    The commission fields are there only with ``context={"commissions": True}``: the views set it
    from ``partners.access.station_may(role, "commissions")``, so an assistant's answers carry no
    commission at all, as their pages show none.  Without the flag they are left out.
    """

    # The partner's income: shown only to the roles STATION_ACTIONS["commissions"] allows.
    COMMISSION_FIELDS = ("commission_total",)

    number = serializers.CharField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    total = serializers.DecimalField(**MONEY)
    commission_total = serializers.DecimalField(
        **MONEY,
        required=False,
        help_text="The station's commission on the order: for the partner only, absent for an assistant.",
    )
    pickup_code = serializers.CharField(
        required=False,
        help_text=(
            "Only in the answer that places an order for a villager without SMS: the client prints it on the "
            "villager's slip (recorded as the slip's print). The code belongs to the villager: no other answer "
            "carries it, and a villager with SMS gets it by text."
        ),
    )
    consent_via = serializers.ChoiceField(
        choices=Order.ConsentVia.choices,
        help_text="How the villager agrees: the 4-digit code sent by SMS, or the number of the slip they sign.",
    )
    consent_given_at = serializers.DateTimeField(
        allow_null=True, help_text="When the villager agreed; the order is confirmed only after."
    )
    delivery_method = serializers.ChoiceField(choices=Order.DeliveryMethod.choices)
    payment_method = serializers.ChoiceField(choices=Order.PaymentMethod.choices)
    promised_on = serializers.DateField(
        allow_null=True, help_text="The day the goods are promised at the station (route and county's standard)."
    )
    notes = serializers.CharField()
    created_at = serializers.DateTimeField(help_text="When the order reached the server and was placed.")
    taken_offline_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When the offline counter took it, by the device's clock as it reported (null: taken online).",
    )
    villager = VillagerOutputSerializer()
    lines = OrderLineOutputSerializer(many=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.context.get("commissions", False):
            for name in self.COMMISSION_FIELDS:
                self.fields.pop(name)
        if not self.context.get("pickup_code", False):
            self.fields.pop("pickup_code")

    @classmethod
    def of_placement(cls, placement: services.Placement, *, context: dict) -> dict:
        """The order just placed, from the objects in hand (its villager, its lines with their products)."""
        order = placement.order
        fields = {name: getattr(order, name) for name in cls._declared_fields if name != "lines"}
        # A villager without SMS gets the pickup code on the slip the client prints from this answer.
        context = {**context, "pickup_code": consent.slip_carries_code(order)}
        return cls({**fields, "lines": placement.lines}, context=context).data

    @staticmethod
    def with_related(orders: QuerySet[Order]) -> QuerySet[Order]:
        """What this serializer reads, loaded up front: a page costs the same queries for 3 orders or 30."""
        return orders.select_related("villager").prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("pk"))
        )


class OrderPageOutputSerializer(serializers.Serializer):
    """A page of the cursor-paginated list (documentation only: the paginator builds the response)."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = OrderOutputSerializer(many=True, context={"commissions": True})  # documented with the partner's fields


# The order as documented: with the partner's fields (an assistant's answers leave them out).
DOCUMENTED_ORDER = OrderOutputSerializer(context={"commissions": True})


# --- errors ------------------------------------------------------------------------


class StationApiErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class ShortLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    requested = serializers.IntegerField()
    available = serializers.IntegerField()


class InsufficientStockOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`insufficient_stock`")
    detail = serializers.CharField()
    short_lines = ShortLineOutputSerializer(many=True)


class PricedLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY, help_text="Today's price, promotions applied.")
    line_total = serializers.DecimalField(**MONEY)


class PriceChangedOutputSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`price_changed`")
    detail = serializers.CharField()
    expected_total = serializers.DecimalField(**MONEY, help_text="The total the request expected.")
    total = serializers.DecimalField(**MONEY, help_text="What the order costs now.")
    lines = PricedLineOutputSerializer(many=True, help_text="The order's lines at today's prices.")


class RefusalOutputSerializer(serializers.Serializer):
    """A service refused the step: nothing changed."""

    code = serializers.CharField(
        help_text=(
            "What refused it: `invalid_transition` (the order is not in a status the step starts from: see "
            "`status`), `wrong_consent_code`, `consent_required`, `wrong_pickup_code`, `payment_required`, "
            "`partial_payment`, `credit_limit_reached`, or `refused` (any other rule; `detail` says which)."
        )
    )
    detail = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Order.Status.choices, required=False, help_text="The order's status now (invalid_transition only)."
    )


# --- the offline counter's copies: GET /api/v1/catalog/ and /api/v1/villagers/ -------------------


class CatalogProductOutputSerializer(serializers.Serializer):
    sku = serializers.CharField()
    name = serializers.CharField()
    category = serializers.CharField(help_text="The category's name.")
    unit = serializers.CharField()
    price = serializers.DecimalField(**MONEY, help_text="Today's price, promotions running now applied.")
    needs_installation = serializers.BooleanField()
    available = serializers.IntegerField(help_text="Units free at the station's county warehouse now.")
    search = serializers.CharField(
        help_text="What a search matches, lower-cased: name, SKU, seller, categories, and their pinyin (full and initials)."
    )


class CatalogOutputSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text="The server's time of this copy.")
    products = CatalogProductOutputSerializer(many=True, help_text="Every product on sale, no paging.")


class VillagerCopyOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField(source="masked_phone", help_text="Masked (138****5678); empty: no phone.")
    has_address = serializers.BooleanField(help_text="An address for a home delivery is on record.")
    gets_sms = serializers.BooleanField(help_text="Codes reach them by SMS; else on the signed slip.")


class VillagersOutputSerializer(serializers.Serializer):
    as_of = serializers.DateTimeField(help_text="The server's time of this copy.")
    villagers = VillagerCopyOutputSerializer(many=True, help_text="Every villager of your station, no paging.")


# --- the counter's steps on an order: confirm, hand over, cancel, return -------------------------


class TenderInputSerializer(serializers.Serializer):
    """How the villager paid: cash (what they handed over, for the change) or a scanned mobile payment."""

    method = serializers.ChoiceField(choices=payments.Method.choices, default=payments.Method.CASH)
    received = serializers.DecimalField(
        **MONEY,
        min_value=0,
        required=False,
        allow_null=True,
        help_text="Cash handed over, for the change; absent or null: exactly what is due.",
    )
    reference = serializers.CharField(
        max_length=64, allow_blank=True, default="", help_text="A mobile payment's transaction number."
    )


def tender_of(data: dict) -> payments.Tender | None:
    """The Tender of a validated ``tender`` object, or None when none was sent."""
    tender = data.get("tender")
    if tender is None:
        return None
    method = tender["method"]
    received = tender.get("received") if method == payments.Method.CASH else None
    return payments.Tender(method=method, received=received, reference=tender["reference"])


class ConfirmInputSerializer(serializers.Serializer):
    consent_code = StrictCharField(
        max_length=12,
        allow_blank=True,
        default="",
        help_text=(
            "The code from the villager's SMS, or the number of the slip they signed; not needed once they "
            "agreed by replying to the SMS."
        ),
    )
    tender = TenderInputSerializer(
        required=False, allow_null=True, help_text="How a cash-at-station order was paid; absent: cash, exactly."
    )


class HandOverInputSerializer(serializers.Serializer):
    pickup_code = StrictCharField(max_length=12, help_text="The six digits the villager shows.")
    payment_taken = StrictBooleanField(
        default=False, help_text="Pay on pickup: the amount due was taken (cash, exactly), in the same step."
    )
    tender = TenderInputSerializer(
        required=False,
        allow_null=True,
        help_text="Pay on pickup: how the amount due was paid (instead of `payment_taken`).",
    )


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True, default="")


class ReturnLineInputSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=40)
    quantity = StrictIntegerField(min_value=1, max_value=services.MAX_QUANTITY)
    reason = serializers.ChoiceField(choices=GoodsReturnLine.Reason.choices, default=GoodsReturnLine.Reason.NOT_WANTED)


class ReturnInputSerializer(serializers.Serializer):
    lines = ReturnLineInputSerializer(many=True, allow_empty=False, min_length=1, max_length=services.MAX_LINES)
    note = serializers.CharField(max_length=500, allow_blank=True, default="")

    def validate_lines(self, lines):
        skus = [line["sku"] for line in lines]
        if len(set(skus)) != len(skus):
            raise serializers.ValidationError(_("Name each product once."), code="duplicate")
        return lines


class PaidOrderOutputSerializer(OrderOutputSerializer):
    """The order after a step that may take money: with the change to give back."""

    change_given = serializers.DecimalField(
        **MONEY, help_text="Cash to give back to the villager (0.00 when nothing was taken or paid exactly)."
    )


class ReturnedLineOutputSerializer(serializers.Serializer):
    sku = serializers.CharField(source="order_line.product.sku")
    name = serializers.CharField(source="order_line.product.name")
    quantity = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=GoodsReturnLine.Reason.choices)
    refund_back = serializers.DecimalField(**MONEY, help_text="The price of these units.")
    commission_back = serializers.DecimalField(
        **MONEY, required=False, help_text="Commission reversed: for the partner only."
    )

    def to_representation(self, instance):
        data = super().to_representation(instance)
        if not self.context.get("commissions", False):
            data.pop("commission_back", None)
        return data


class GoodsReturnOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    refund = serializers.DecimalField(
        **MONEY, help_text="Owed to the villager: paid out of the drawer on the refunds page (0.00: never paid)."
    )
    lines = ReturnedLineOutputSerializer(many=True)


class ReturnedOrderOutputSerializer(OrderOutputSerializer):
    goods_return = GoodsReturnOutputSerializer(
        help_text="What this return took back; waits at the station for a truck."
    )


DOCUMENTED_PAID_ORDER = PaidOrderOutputSerializer(context={"commissions": True})
DOCUMENTED_RETURNED_ORDER = ReturnedOrderOutputSerializer(context={"commissions": True})
