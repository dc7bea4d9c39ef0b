"""Input and output of the logistics REST API.  Villagers appear masked; no villager phone numbers."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from logistics import appointments
from logistics.models import DeliveryBatch, Parcel, Pickup
from partners.phones import mask_name


class BatchOutputSerializer(serializers.ModelSerializer):
    warehouse = serializers.CharField(source="warehouse.code")
    route = serializers.CharField(source="route.code")
    vehicle = serializers.CharField(source="vehicle.plate")
    load_percent = serializers.IntegerField()

    class Meta:
        model = DeliveryBatch
        fields = [
            "code",
            "status",
            "dispatch_date",
            "warehouse",
            "route",
            "vehicle",
            "parcel_count",
            "total_weight_kg",
            "total_volume_m3",
            "load_percent",
            "departed_at",
            "completed_at",
        ]


class VehicleOutputSerializer(serializers.Serializer):
    plate = serializers.CharField()
    capacity_kg = serializers.DecimalField(max_digits=9, decimal_places=1)
    capacity_m3 = serializers.DecimalField(max_digits=7, decimal_places=2)


class ManifestParcelSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    villager = serializers.SerializerMethodField(help_text="The villager's name, masked (王**).")
    delivery_method = serializers.CharField(
        source="order.delivery_method",
        help_text="station_pickup, or home_delivery / home_installation: then it goes on to the villager's house.",
    )
    address = serializers.SerializerMethodField(
        help_text="Where a home delivery goes (the 组, a house number, a landmark); empty for a station pickup."
    )

    class Meta:
        model = Parcel
        fields = ["label", "order", "villager", "weight_kg", "volume_m3", "status", "delivery_method", "address"]

    def get_villager(self, parcel) -> str:
        return mask_name(parcel.order.villager.name)

    def get_address(self, parcel) -> str:
        return "" if parcel.order.delivery_method == "station_pickup" else parcel.order.villager.address


class AppointmentSlotSerializer(serializers.Serializer):
    day = serializers.DateField()
    half_day = serializers.ChoiceField(choices=list(appointments.HALF_DAYS.items()), help_text="am or pm.")


class ManifestHomeDeliverySerializer(ManifestParcelSerializer):
    """A parcel that goes on to the villager's house after the station stop, with its installation appointment."""

    appointment = serializers.SerializerMethodField(
        help_text="For a home installation, the live appointment's day and half-day (am, pm) the installer comes; "
        "null when none is booked, and for a home delivery."
    )

    class Meta(ManifestParcelSerializer.Meta):
        fields = [*ManifestParcelSerializer.Meta.fields, "appointment"]

    @extend_schema_field(AppointmentSlotSerializer(allow_null=True))
    def get_appointment(self, parcel) -> dict | None:
        # One query per parcel: this serializer is the schema and the tests' reference (output.py is the fast path).
        if parcel.order.delivery_method != "home_installation":
            return None
        return appointments.as_json(appointments.live_for([parcel.order_id]).get(parcel.order_id))


class ManifestPickupSerializer(serializers.ModelSerializer):
    """Goods the run takes back from the stop (its return leg): planned, collected, received, or left behind."""

    what = serializers.SerializerMethodField(help_text="goods (a return, labelled B) or produce (a villager's lot).")
    lot = serializers.CharField(source="lot_number", help_text="The produce lot's number; empty for goods.")

    class Meta:
        model = Pickup
        fields = ["label", "what", "lot", "weight_kg", "volume_m3", "status"]

    def get_what(self, pickup) -> str:
        return "produce" if pickup.lot_number else "goods"


class StationOutputSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    address = serializers.CharField()
    phone = serializers.CharField(help_text="The station's phone, in E.164 form; empty when it has none.")


class ManifestStopSerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    status = serializers.CharField()
    arrived_at = serializers.DateTimeField(allow_null=True)
    received_at = serializers.DateTimeField(allow_null=True)
    station = StationOutputSerializer(source="service_center")
    parcels = ManifestParcelSerializer(many=True)
    pickups = ManifestPickupSerializer(many=True)
    home_deliveries = ManifestHomeDeliverySerializer(
        many=True,
        help_text="The stop's parcels that go on to the villagers' houses after the station stop, in label order, "
        "each with its installation appointment (if any).",
    )


class ManifestOutputSerializer(BatchOutputSerializer):
    vehicle_detail = VehicleOutputSerializer(source="vehicle")
    stops = ManifestStopSerializer(many=True)

    class Meta(BatchOutputSerializer.Meta):
        fields = [*BatchOutputSerializer.Meta.fields, "vehicle_detail", "stops"]


class StopOutputSerializer(serializers.Serializer):
    batch = serializers.CharField(source="batch.code")
    sequence = serializers.IntegerField()
    status = serializers.CharField()
    arrived_at = serializers.DateTimeField(allow_null=True)


class PickupsCollectedInputSerializer(serializers.Serializer):
    labels = serializers.ListField(
        child=serializers.RegexField(r"^[BL][-0-9]{1,39}$", max_length=40),
        allow_empty=False,
        max_length=500,
        help_text="The labels of the stop's pickups the driver took (B<number>, L<number>, B<number>-<n>).",
    )


class StopPickupsOutputSerializer(serializers.Serializer):
    batch = serializers.CharField(source="batch.code")
    sequence = serializers.IntegerField()
    status = serializers.CharField()
    pickups = ManifestPickupSerializer(many=True)


class TrackingEventSerializer(serializers.Serializer):
    status = serializers.CharField(source="to_status")
    at = serializers.DateTimeField(source="created_at")


class ParcelTrackingSerializer(serializers.ModelSerializer):
    batch = serializers.CharField(source="batch_stop.batch.code")
    stop = serializers.IntegerField(source="batch_stop.sequence")
    station = serializers.CharField(source="batch_stop.service_center.code")
    order_status = serializers.CharField(source="order.status")
    history = TrackingEventSerializer(source="order.events.all", many=True)

    class Meta:
        model = Parcel
        fields = ["label", "status", "note", "batch", "stop", "station", "order_status", "history"]


class ParcelExceptionInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[Parcel.Status.MISSING, Parcel.Status.DAMAGED])
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ErrorOutputSerializer(serializers.Serializer):
    detail = serializers.CharField()
