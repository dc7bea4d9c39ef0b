"""The logistics REST API: a company's batches, manifests, state changes, parcel exceptions and pickups collected.

Every lookup goes through ``logistics.selectors``, scoped to the client: an
object outside the client's warehouses does not exist (404) and nothing
changes; a path that cannot name one (``logistics.converters``) is a 404 too.
State changes that already happened answer 200 with the current state;
impossible ones 409.
"""

import django_filters
from django.core.validators import validate_slug
from django.http import Http404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from logistics import pickups, selectors, services
from logistics.models import BatchStop, DeliveryBatch, Parcel

from .authentication import IsLogisticsClient, LogisticsKeyAuthentication, PerClientThrottle
from .output import RenderedJSONResponse, batch_json, rendered_manifest
from .serializers import (
    BatchOutputSerializer,
    ErrorOutputSerializer,
    ManifestOutputSerializer,
    ParcelExceptionInputSerializer,
    ParcelTrackingSerializer,
    PickupsCollectedInputSerializer,
    StopOutputSerializer,
    StopPickupsOutputSerializer,
)

TAGS = ["logistics"]
ERRORS = {
    401: OpenApiResponse(ErrorOutputSerializer, description="No key, or a wrong, revoked or expired one."),
    404: OpenApiResponse(ErrorOutputSerializer, description="No such object among your warehouses."),
    429: OpenApiResponse(ErrorOutputSerializer, description="Too many requests; see the Retry-After header."),
}
NO_BATCH = "No such batch among your warehouses"
NO_PARCEL = "No such parcel among your warehouses"
NO_STOP = "No such stop in this batch"
CONFLICT = {409: OpenApiResponse(ErrorOutputSerializer, description="The change is impossible in the current state.")}


class LogisticsAPIView(APIView):
    authentication_classes = [LogisticsKeyAuthentication]
    permission_classes = [IsLogisticsClient]
    throttle_classes = [PerClientThrottle]


def _get_batch(request, code: str) -> DeliveryBatch:
    batch = selectors.client_batch(client=request.user, code=code)
    if batch is None:
        raise Http404(NO_BATCH)
    return batch


def _get_batch_row(request, code: str) -> dict:
    """The batch as a ``.values()`` row (BATCH_VALUES and its version), scoped to the client's warehouses."""
    row = selectors.client_batch_row(client=request.user, code=code)
    if row is None:
        raise Http404(NO_BATCH)
    return row


def _sequence(sequence: str) -> int:
    """A stop's number from the path, or 0 (no stop has it)."""
    # At most five digits: a stop number is a smallint, and int() refuses strings of over 4,300 digits.
    sequence = int(sequence) if len(sequence.lstrip("-")) <= 5 else 0
    return sequence if 1 <= sequence <= 32767 else 0


def _get_parcel(request, label: str) -> Parcel:
    parcel = selectors.client_parcel(client=request.user, label=label)
    if parcel is None:
        raise Http404(NO_PARCEL)
    return parcel


def _conflict(exc: Exception) -> Response:
    return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)


class BatchFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=DeliveryBatch.Status.choices)
    dispatch_date = django_filters.DateFilter()
    dispatch_date_from = django_filters.DateFilter(field_name="dispatch_date", lookup_expr="gte")
    dispatch_date_to = django_filters.DateFilter(field_name="dispatch_date", lookup_expr="lte")
    # Codes are slugs: anything else (a NUL byte, a paragraph) is a 400, never a query.
    warehouse = django_filters.CharFilter(field_name="warehouse__code", max_length=20, validators=[validate_slug])
    route = django_filters.CharFilter(field_name="route__code", max_length=20, validators=[validate_slug])

    class Meta:
        model = DeliveryBatch
        fields = ["status", "dispatch_date", "warehouse", "route"]


class BatchCursor(CursorPagination):
    ordering = ("dispatch_date", "id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


CODE_PATTERN = r"^[-a-zA-Z0-9_]{1,20}$"
SEQUENCE = OpenApiParameter(
    "sequence", int, OpenApiParameter.PATH, description="The stop's place in the route, from 1."
)


@extend_schema(
    tags=TAGS,
    parameters=[
        OpenApiParameter("warehouse", str, description="Warehouse code.", pattern=CODE_PATTERN),
        OpenApiParameter("route", str, description="Route code.", pattern=CODE_PATTERN),
    ],
    responses={
        200: BatchOutputSerializer(many=True),
        400: OpenApiResponse(description="A filter that cannot be read: the body names it."),
        **ERRORS,
    },
)
class BatchListApi(LogisticsAPIView, generics.ListAPIView):
    """Your warehouses' batches, oldest dispatch date first."""

    serializer_class = BatchOutputSerializer
    pagination_class = BatchCursor
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]
    filterset_class = BatchFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular inspecting the view
            return DeliveryBatch.objects.none()
        # Rows, not instances: 50 batches with their warehouse, route and vehicle were 200 model
        # instances and 50 serializer runs per page.  The cursor reads dispatch_date and id off the dicts.
        return selectors.client_batch_rows(client=self.request.user)

    def filter_queryset(self, queryset):
        # No filter named in the query string: the FilterSet (a form, validated) would filter nothing.
        if self.request.query_params.keys() & BatchFilter.base_filters.keys():
            return super().filter_queryset(queryset)
        return queryset

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        tz = timezone.get_current_timezone()
        return self.get_paginated_response([batch_json(row, tz) for row in page])


class BatchDetailApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="The manifest of a batch",
        description=(
            "Stops in route order with the station's contact, parcels per stop (villager names masked). "
            "Send the ETag back in If-None-Match to poll cheaply: 304 when nothing changed."
        ),
        responses={200: ManifestOutputSerializer, 304: OpenApiResponse(description="Not modified."), **ERRORS},
    )
    def get(self, request, code: str):
        # Queries: the key and client, the batch row; when the manifest is not cached yet, its stops
        # and its parcels.  Polls of an unchanged batch are served from the cache.
        etag, body = rendered_manifest(_get_batch_row(request, code))
        if etag in {t.strip() for t in request.headers.get("If-None-Match", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return RenderedJSONResponse(body, headers={"ETag": etag})


class BatchDepartApi(LogisticsAPIView):
    @extend_schema(tags=TAGS, request=None, responses={200: BatchOutputSerializer, **ERRORS, **CONFLICT})
    def post(self, request, code: str):
        """The truck left the county warehouse (repeating it is harmless)."""
        batch = _get_batch(request, code)
        try:
            batch = services.depart_batch(batch=batch)
        except services.DispatchError as exc:
            return _conflict(exc)
        return Response(BatchOutputSerializer(_get_batch(request, code)).data)


class StopArriveApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        request=None,
        parameters=[SEQUENCE],
        responses={200: StopOutputSerializer, **ERRORS, **CONFLICT},
    )
    def post(self, request, code: str, sequence):
        """The truck reached stop ``sequence`` (repeating it is harmless)."""
        batch = _get_batch(request, code)
        sequence = _sequence(sequence)
        if not sequence or not BatchStop.objects.filter(batch=batch, sequence=sequence).exists():
            raise Http404(NO_STOP)
        try:
            stop = services.arrive_at_stop(batch=batch, sequence=sequence)
        except services.DispatchError as exc:
            return _conflict(exc)
        return Response(StopOutputSerializer(stop).data)


class StopPickupsCollectedApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        summary="Pickups collected at a stop",
        description=(
            "The driver took these pickups (goods going back to the warehouse) at stop `sequence`: each is "
            "`collected` and a `pickup.collected` webhook is sent. Labels reported before are no change "
            "(200 with the current state). A label that is no pickup of this stop is a 404 naming it, "
            "and nothing is collected; a run not on the road is a 409."
        ),
        request=PickupsCollectedInputSerializer,
        parameters=[SEQUENCE],
        responses={
            200: StopPickupsOutputSerializer,
            400: OpenApiResponse(description="Invalid body: the labels are a list of 1 to 500 pickup labels."),
            **ERRORS,
            **CONFLICT,
        },
    )
    def post(self, request, code: str, sequence):
        batch = _get_batch(request, code)
        sequence = _sequence(sequence)
        stop = batch.stops.select_related("batch").filter(sequence=sequence).first() if sequence else None
        if stop is None:
            raise Http404(NO_STOP)
        body = PickupsCollectedInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            pickups.collect(stop=stop, labels=body.validated_data["labels"])
        except pickups.UnknownPickups as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_404_NOT_FOUND)
        except pickups.PickupError as exc:
            return _conflict(exc)
        stop.refresh_from_db()
        return Response(StopPickupsOutputSerializer(stop).data)


class BatchCompleteApi(LogisticsAPIView):
    @extend_schema(tags=TAGS, request=None, responses={200: BatchOutputSerializer, **ERRORS, **CONFLICT})
    def post(self, request, code: str):
        """The run is over: every stop was reached (repeating it is harmless)."""
        batch = _get_batch(request, code)
        try:
            services.complete_batch(batch=batch)
        except services.DispatchError as exc:
            return _conflict(exc)
        return Response(BatchOutputSerializer(_get_batch(request, code)).data)


class ParcelTrackingApi(LogisticsAPIView):
    @extend_schema(tags=TAGS, responses={200: ParcelTrackingSerializer, **ERRORS})
    def get(self, request, label: str):
        """Where a parcel is, and the status history of its order (no personal data)."""
        return Response(ParcelTrackingSerializer(_get_parcel(request, label)).data)


class ParcelExceptionApi(LogisticsAPIView):
    @extend_schema(
        tags=TAGS,
        request=ParcelExceptionInputSerializer,
        responses={
            200: ParcelTrackingSerializer,
            400: OpenApiResponse(description="Invalid body."),
            **ERRORS,
            **CONFLICT,
        },
    )
    def post(self, request, label: str):
        """Report a parcel missing or damaged while it is on the truck; its order goes into exception for the county."""
        parcel = _get_parcel(request, label)
        body = ParcelExceptionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.report_parcel_exception(
                parcel=parcel, kind=body.validated_data["kind"], note=body.validated_data["note"]
            )
        except services.DispatchError as exc:
            return _conflict(exc)
        return Response(ParcelTrackingSerializer(_get_parcel(request, label)).data)


@extend_schema(exclude=True)
class NotFoundApi(LogisticsAPIView):
    """What is left under batches/ and parcels/ (the converters refused the code or label): a JSON 404."""

    def _not_found(self, request, kind: str, rest: str):
        raise Http404(NO_BATCH if kind == "batches" else NO_PARCEL)

    get = post = put = patch = delete = _not_found
