"""The station JSON API: place an order, list the station's orders, read one.

One view per operation (HackSoft style): validate with an input serializer,
call ``services.place_order`` or a selector, answer with an output serializer.
Domain errors become 4xx with a reason; no input makes a 500.
"""

import re

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, ParseError, PermissionDenied
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import consent, selectors, services
from orders.models import SlipPrint
from partners.access import STATION_ACTIONS, station_may
from partners.selectors import STATION_OF_USER, staff_of_user

from .serializers import (
    DOCUMENTED_ORDER,
    InsufficientStockOutputSerializer,
    OrderCreateInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
    OrderPageOutputSerializer,
    StationApiErrorSerializer,
)

# Visible ASCII only: the key is stored and compared as text, and a NUL byte
# would make PostgreSQL refuse the query (a 500) instead of the client.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")

TAGS = ["station orders"]

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=True,
    pattern=r"^[!-~]{1,64}$",
    description=(
        "1 to 64 visible ASCII characters (a UUID will do), new for each order. Resending the same key "
        "returns the first order (200) instead of placing a second one; the same key with a different "
        "body is refused (422)."
    ),
)
BAD_REQUEST = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input: field errors keyed by field name, or `detail` with the reason.",
)
# Every endpoint: who may call it.
ACCESS_ERRORS = {
    401: OpenApiResponse(StationApiErrorSerializer, description="No credentials, or an unknown token."),
    403: OpenApiResponse(StationApiErrorSerializer, description="Not staff of a station (or no CSRF token)."),
}


class StationTokenAuthentication(TokenAuthentication):
    """DRF's token check, with the user's station read in the same query (one query instead of two)."""

    def authenticate_credentials(self, key):
        model = self.get_model()
        token = model.objects.select_related(f"user__{STATION_OF_USER}").filter(key=key).first()
        if token is None:
            raise AuthenticationFailed(_("Invalid token."))
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        return token.user, token


class StationApiView(APIView):
    """Staff of a station, by token or session; ``request.station`` is their station, ``request.station_role`` their role.

    The one place that scopes the API, as ``partners.access.station_required``
    does for the pages, and with the same table of who may do what
    (``STATION_ACTIONS``): a view with ``station_action = "commissions"`` refuses
    an assistant (403), and ``output_context()`` tells the serializers whether
    the commission may be shown.  Token first, so an anonymous call is a 401
    with a ``WWW-Authenticate: Token`` challenge rather than a bare 403.
    """

    authentication_classes = [StationTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    station_action: str | None = None  # a key of STATION_ACTIONS: only the roles it names get through

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.station_action is not None and cls.station_action not in STATION_ACTIONS:
            raise ValueError(f"Unknown station action {cls.station_action!r}: add it to STATION_ACTIONS")

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # No query with a token (it loaded the membership with the user); one with a session, as before.
        staff = staff_of_user(request.user)
        request.station = staff.service_center if staff else None
        request.station_role = staff.role if staff else None
        if request.station is None:
            raise PermissionDenied(
                _("Your account is not staff of any service station, and only station staff can use this API.")
            )
        if self.station_action is not None and not station_may(request.station_role, self.station_action):
            raise PermissionDenied(_("Only the station's partner may do this: ask the partner of your station."))

    def output_context(self) -> dict:
        """What the output serializers may show this user: the commission only to the roles allowed to see it."""
        return {"commissions": station_may(self.request.station_role, "commissions")}


def _idempotency_key(request) -> str:
    key = request.headers.get("Idempotency-Key", "").strip()
    if not IDEMPOTENCY_KEY.fullmatch(key):
        raise ParseError(
            _(
                "Send an Idempotency-Key header of 1 to 64 visible ASCII characters (a UUID will do), "
                "new for each order and the same when you retry it."
            )
        )
    return key


class OrderCreateApi(StationApiView):
    """Place an order for a villager of your station (send an Idempotency-Key header)."""

    @extend_schema(
        operation_id="orders_create",
        tags=TAGS,
        summary="Place an order for a villager of your station",
        description=(
            "Reserves the stock at the county warehouse, freezes prices and commission, and issues a "
            "pickup code. Idempotent per station and `Idempotency-Key`."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=OrderCreateInputSerializer,
        responses={
            201: OpenApiResponse(DOCUMENTED_ORDER, description="Order placed."),
            200: OpenApiResponse(DOCUMENTED_ORDER, description="Key seen before: the order it placed."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            409: OpenApiResponse(
                InsufficientStockOutputSerializer, description="Not enough stock; nothing was reserved."
            ),
            422: OpenApiResponse(StationApiErrorSerializer, description="Key already used with a different body."),
        },
    )
    def post(self, request):
        key = _idempotency_key(request)
        body = OrderCreateInputSerializer(data=request.data, context={"station": request.station})
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            placement = services.place_order(
                station=request.station,
                villager=data["villager"],
                placed_by=request.user,
                lines=[services.LineRequest(line["sku"], line["quantity"]) for line in data["lines"]],
                delivery_method=data["delivery_method"],
                payment_method=data["payment_method"],
                notes=data["notes"],
                idempotency_key=key,
            )
        except services.InsufficientStock as exc:
            error = InsufficientStockOutputSerializer({"detail": str(exc), "short_lines": exc.short})
            return Response(error.data, status=status.HTTP_409_CONFLICT)
        except services.IdempotencyConflict as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        except services.OrderError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)

        if placement.created:
            if consent.slip_carries_code(placement.order):
                # The client prints the villager's slip from this answer: that is the slip's one print.
                consent.print_slip(order=placement.order, actor=request.user, channel=SlipPrint.Channel.API)
            # Answered from what placement just wrote: reading it back would cost three queries.
            return Response(
                OrderOutputSerializer.of_placement(placement, context=self.output_context()),
                status=status.HTTP_201_CREATED,
            )
        order = selectors.get_order_of_station(request.station, placement.order.number)
        return Response(OrderOutputSerializer(order, context=self.output_context()).data, status=status.HTTP_200_OK)


class OrderPagination(CursorPagination):
    # A cursor, not page numbers: no COUNT(*) per request, and a page does not
    # shift when orders are placed while a client walks the list.
    ordering = ("-created_at", "-pk")
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 100


class OrderListApi(StationApiView):
    """Your station's orders, newest first."""

    @extend_schema(
        operation_id="orders_list",
        tags=TAGS,
        summary="Your station's orders, newest first",
        description="Cursor-paginated (25 a page unless `page_size` says otherwise); `status` filters.",
        parameters=[
            OrderListFilterSerializer,
            OpenApiParameter("cursor", str, description="From `next` or `previous` of the page before."),
            OpenApiParameter("page_size", int, description="Orders per page, 25 unless asked (at most 100)."),
        ],
        responses={
            200: OrderPageOutputSerializer,
            400: BAD_REQUEST,
            404: OpenApiResponse(StationApiErrorSerializer, description="A cursor that is not one of ours."),
            **ACCESS_ERRORS,
        },
    )
    def get(self, request):
        filters = OrderListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = OrderOutputSerializer.with_related(
            selectors.orders_of_station(request.station, status=filters.validated_data.get("status", ""))
        )
        paginator = OrderPagination()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(
            OrderOutputSerializer(page, many=True, context=self.output_context()).data
        )


# Two operations on one URL need one view class to route to: each method, its
# serializers and its schema still live in its own view above.
class OrderCollectionApi(OrderListApi, OrderCreateApi):
    """Your station's orders: GET lists them, newest first; POST places one (send an Idempotency-Key header)."""


class OrderDetailApi(StationApiView):
    """One order of your station."""

    @extend_schema(
        operation_id="orders_retrieve",
        tags=TAGS,
        summary="One order of your station",
        description="Another station's order does not exist here: 404.",
        parameters=[OpenApiParameter("number", str, OpenApiParameter.PATH, description="The order number.")],
        responses={
            200: DOCUMENTED_ORDER,
            **ACCESS_ERRORS,
            404: OpenApiResponse(StationApiErrorSerializer, description="No such order at your station."),
        },
    )
    def get(self, request, number: str):
        order = selectors.get_order_of_station(request.station, number)
        return Response(OrderOutputSerializer(order, context=self.output_context()).data)
