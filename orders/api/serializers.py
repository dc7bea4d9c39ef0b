"""Input and output shapes of the station JSON API (orders/api/views.py).

Plain ``Serializer`` classes, not ``ModelSerializer``: the API promises these
fields and no others, whatever the models grow.
"""

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from orders import consent, services
from orders.models import MONEY, Order, OrderLine
from partners.models import Villager

MAX_ID = 2**63 - 1  # ids are BigAutoField: anything larger cannot exist and would overflow the lookup


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer and nothing else: DRF would also take "2", 2.0 and true."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


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
    created_at = serializers.DateTimeField()
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
    detail = serializers.CharField()
    short_lines = ShortLineOutputSerializer(many=True)
