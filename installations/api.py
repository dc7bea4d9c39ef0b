"""The installation steps over the logistics API: a logistics company's technicians (``Installer.client``) and
their appointments, with the client's key (``Authorization: Token <key>``, as the rest of the logistics API).

A client sees only its own technicians' appointments: another client's, or a county installer's (no
client), does not exist (404) and nothing changes.  A step the services refuse (the goods not at the
station yet, a wrong pickup code, an appointment that is over) is a 409 with the reason; a body that
cannot be read is a 400 naming the field.  Villagers appear masked; no villager phone numbers.
"""

from datetime import date

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from logistics.api.serializers import ErrorOutputSerializer
from logistics.api.views import LogisticsAPIView
from logistics.models import LogisticsClient
from orders import services as order_services
from orders.models import OrderLine
from partners.phones import mask_name

from . import services
from .models import Appointment

TAGS = ["installations"]
NO_APPOINTMENT = "No such appointment of your technicians"
AUTH_ERRORS = {
    401: OpenApiResponse(ErrorOutputSerializer, description="No key, or a wrong, revoked or expired one."),
    429: OpenApiResponse(ErrorOutputSerializer, description="Too many requests; see the Retry-After header."),
}
ERRORS = {
    **AUTH_ERRORS,
    404: OpenApiResponse(ErrorOutputSerializer, description="No such appointment of your technicians."),
}
CONFLICT = {
    409: OpenApiResponse(
        ErrorOutputSerializer,
        description="The step is impossible now (the goods are not at the station, a wrong pickup code, "
        "the appointment is over): the detail says why.",
    )
}
APPOINTMENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The appointment's id.")


# --- serializers -------------------------------------------------------------------------------------


class ProductLineOutputSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="product.name")

    class Meta:
        model = OrderLine
        fields = ["name", "quantity"]


class AppointmentOutputSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    station = serializers.CharField(source="order.service_center.code", help_text="The station the goods wait at.")
    installer = serializers.CharField(source="installer.name", help_text="The technician.")
    villager = serializers.SerializerMethodField(help_text="The villager's name, masked (王**).")
    address = serializers.CharField(source="order.villager.address", help_text="The villager's house.")
    products = ProductLineOutputSerializer(source="order.lines", many=True)

    class Meta:
        model = Appointment
        fields = [
            "id",
            "order",
            "station",
            "installer",
            "day",
            "half_day",
            "status",
            "villager",
            "address",
            "products",
            "fail_reason",
        ]

    def get_villager(self, appointment) -> str:
        return mask_name(appointment.order.villager.name)


class AppointmentDayOutputSerializer(serializers.Serializer):
    day = serializers.DateField()
    results = AppointmentOutputSerializer(many=True, help_text="Not cancelled, in route order: morning first.")


class DayQuerySerializer(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="YYYY-MM-DD; today when left out.")


class InstalledInputSerializer(serializers.Serializer):
    pickup_code = serializers.CharField(max_length=20, help_text="The villager's pickup code: the hand-over.")


class FailedInputSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=Appointment.FailReason.choices)
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    then = serializers.ChoiceField(
        choices=[(services.THEN_REBOOK, "rebook"), (services.THEN_COUNTY, "county")],
        help_text="rebook: the goods wait at the station for a new time; county: the county decides.",
    )


# --- views -------------------------------------------------------------------------------------------


def _appointments(client: LogisticsClient):
    """The client's technicians' appointments, with what the answer shows (two queries: rows, and lines)."""
    return (
        Appointment.objects.filter(installer__client=client)
        .select_related("installer", "order__villager", "order__service_center__route_stop")
        .prefetch_related(Prefetch("order__lines", queryset=OrderLine.objects.select_related("product").order_by("pk")))
    )


def _get_appointment(request, pk: str) -> Appointment:
    """The appointment ``pk`` (from the path: any digits, a minus) of the client's technicians, or a 404."""
    # At most 18 digits: the id is a bigint, and int() refuses strings of over 4,300 digits.
    pk = int(pk) if len(pk.lstrip("-")) <= 18 else 0
    appointment = _appointments(request.user).filter(pk=pk).first() if pk > 0 else None
    if appointment is None:
        raise Http404(NO_APPOINTMENT)
    return appointment


def _step(request, pk: str, run, body_serializer=None) -> Response:
    """Look the appointment up (404), read the body (400), run the step (409 when refused), answer it (200)."""
    appointment = _get_appointment(request, pk)
    fields = {}
    if body_serializer is not None:
        body = body_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
    try:
        run(appointment, **fields)
    except (services.BookingError, order_services.OrderError) as exc:
        return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
    return Response(AppointmentOutputSerializer(_get_appointment(request, pk)).data)


class AppointmentDayApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Your technicians' appointments of a day",
        parameters=[DayQuerySerializer],
        responses={
            200: AppointmentDayOutputSerializer,
            400: OpenApiResponse(description="A day that cannot be read: the body names it."),
            **AUTH_ERRORS,
        },
    )
    def get(self, request):
        # Queries: the key and client, the appointments with their orders, the orders' lines with products.
        query = DayQuerySerializer(data={"day": request.query_params["day"]} if request.query_params.get("day") else {})
        query.is_valid(raise_exception=True)
        day: date = query.validated_data.get("day") or timezone.localdate()
        appointments = sorted(
            _appointments(request.user).filter(day=day).exclude(status=Appointment.Status.CANCELLED),
            key=services.route_order,
        )
        return Response(AppointmentDayOutputSerializer({"day": day, "results": appointments}).data)


class AppointmentOnTheWayApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="The technician is on the way",
        description="The technician has the goods from the station and sets out to the villager.",
        request=None,
        parameters=[APPOINTMENT_ID],
        responses={200: AppointmentOutputSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, pk: str):
        return _step(request, pk, lambda appointment: services.on_the_way(appointment=appointment, actor=None))


class AppointmentInstalledApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Installed, with the villager's pickup code",
        description=(
            "The goods are installed and the villager gave their pickup code: the order is handed over. "
            "A wrong code is a 409 and changes nothing."
        ),
        request=InstalledInputSerializer,
        parameters=[APPOINTMENT_ID],
        responses={
            200: AppointmentOutputSerializer,
            400: OpenApiResponse(description="Invalid body: the pickup code is missing."),
            **ERRORS,
            **CONFLICT,
        },
    )
    def post(self, request, pk: str):
        return _step(
            request,
            pk,
            lambda appointment, pickup_code: services.installed(
                appointment=appointment, actor=None, pickup_code=pickup_code
            ),
            InstalledInputSerializer,
        )


class AppointmentFailedApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="The installation failed",
        description=(
            "The visit failed for `reason`: then the station books a new time (`rebook`, the goods wait at the "
            "station), or the order goes to the county (`county`)."
        ),
        request=FailedInputSerializer,
        parameters=[APPOINTMENT_ID],
        responses={
            200: AppointmentOutputSerializer,
            400: OpenApiResponse(description="Invalid body: the reason or what happens next is missing or unknown."),
            **ERRORS,
            **CONFLICT,
        },
    )
    def post(self, request, pk: str):
        return _step(
            request,
            pk,
            lambda appointment, reason, note, then: services.failed(
                appointment=appointment, actor=None, reason=reason, note=note, then=then
            ),
            FailedInputSerializer,
        )
