"""The station JSON API: place an order, list the station's orders, read one; the offline counter's copies of
the catalog and the villagers; the counter's steps on an order (confirm, hand over, cancel, return).

One view per operation (HackSoft style): validate with an input serializer,
call a service or a selector, answer with an output serializer.
Domain errors become 4xx with a reason; no input makes a 500.
"""

import hashlib
import json
import re
from decimal import Decimal

from django.http import Http404, HttpResponseNotModified
from django.utils import timezone
from django.utils.http import parse_etags, quote_etag
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, ParseError, PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from orders import consent, payments, returns, selectors, services
from orders.errors import CreditLimitReached
from orders.models import Order, Refund, SlipPrint
from partners.access import STATION_ACTIONS, station_may
from partners.selectors import STATION_OF_USER, staff_of_user

from .serializers import (
    DOCUMENTED_ORDER,
    DOCUMENTED_PAID_ORDER,
    DOCUMENTED_RETURNED_ORDER,
    CancelInputSerializer,
    CatalogOutputSerializer,
    ConfirmInputSerializer,
    HandOverInputSerializer,
    InsufficientStockOutputSerializer,
    OrderCreateInputSerializer,
    OrderListFilterSerializer,
    OrderOutputSerializer,
    OrderPageOutputSerializer,
    PaidOrderOutputSerializer,
    PriceChangedOutputSerializer,
    RefusalOutputSerializer,
    ReturnedOrderOutputSerializer,
    ReturnInputSerializer,
    StationApiErrorSerializer,
    VillagersOutputSerializer,
    tender_of,
)

# Visible ASCII only: the key is stored and compared as text, and a NUL byte
# would make PostgreSQL refuse the query (a 500) instead of the client.
IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,64}")

TAGS = ["station orders"]
COPY_TAGS = ["offline counter"]
ORDER_NUMBER = re.compile(r"[0-9A-Z-]{6,20}")  # as orders.urls reads an order number

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
# Placement's 409s, told apart by ``code``.
PLACEMENT_REFUSALS = PolymorphicProxySerializer(
    component_name="PlacementRefusal",
    serializers={
        "insufficient_stock": InsufficientStockOutputSerializer,
        "price_changed": PriceChangedOutputSerializer,
    },
    resource_type_field_name="code",
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
            "pickup code. Idempotent per station and `Idempotency-Key`. The offline counter sends what it "
            "queued with the key it drew, the total it showed (`expected_total`) and when it took the order "
            "(`taken_at`); neither is part of the body the key stands for."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=OrderCreateInputSerializer,
        responses={
            201: OpenApiResponse(DOCUMENTED_ORDER, description="Order placed."),
            200: OpenApiResponse(DOCUMENTED_ORDER, description="Key seen before: the order it placed."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            409: OpenApiResponse(
                PLACEMENT_REFUSALS,
                description=(
                    "Refused, nothing placed or reserved: `code` says why. `insufficient_stock`: not enough "
                    "stock (`short_lines` names each short line). `price_changed`: the order costs other than "
                    "`expected_total` now (`total`, and its `lines` at today's prices)."
                ),
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
                expected_total=data.get("expected_total"),
                taken_at=data.get("taken_at"),
            )
        except (services.InsufficientStock, services.PriceChanged) as exc:
            return refusal(exc)
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


# --- refusals -------------------------------------------------------------------------------------

# The code of each refusal a client may want to tell apart (the first class that matches).
REFUSAL_CODES: tuple[tuple[type[services.OrderError], str], ...] = (
    (services.InvalidTransition, "invalid_transition"),
    (consent.WrongConsentCode, "wrong_consent_code"),
    (consent.ConsentRequired, "consent_required"),
    (services.WrongPickupCode, "wrong_pickup_code"),
    (services.PaymentRequired, "payment_required"),
    (payments.PartialPayment, "partial_payment"),
    (CreditLimitReached, "credit_limit_reached"),
)


def refusal(exc: services.OrderError) -> Response:
    """A service's refusal as a 409: ``code`` says which, ``detail`` says why, for the partner."""
    if isinstance(exc, services.InsufficientStock):
        body = InsufficientStockOutputSerializer(
            {"code": "insufficient_stock", "detail": str(exc), "short_lines": exc.short}
        ).data
    elif isinstance(exc, services.PriceChanged):
        body = PriceChangedOutputSerializer(
            {
                "code": "price_changed",
                "detail": str(exc),
                "expected_total": exc.expected_total,
                "total": exc.total,
                "lines": exc.lines,
            }
        ).data
    else:
        code = next((code for kind, code in REFUSAL_CODES if isinstance(exc, kind)), "refused")
        body = {"code": code, "detail": str(exc)}
        order = getattr(exc, "order", None)
        if code == "invalid_transition" and order is not None:
            body["status"] = order.status
    return Response(body, status=status.HTTP_409_CONFLICT)


# --- the offline counter's copies of the catalog and the villagers ---------------------------------

IF_NONE_MATCH_PARAMETER = OpenApiParameter(
    name="If-None-Match",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="The `ETag` of the copy you hold: 304 with no body when it is still the current one.",
)
ETAG_HEADER = OpenApiParameter(
    name="ETag",
    type=str,
    location=OpenApiParameter.HEADER,
    response=[200, 304],
    description="A hash of the copy (everything but `as_of`): send it back as `If-None-Match`.",
)
NOT_MODIFIED = OpenApiResponse(description="Your copy is the current one (its `ETag` matched): no body.")


def _etag(content) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return quote_etag(hashlib.sha256(text.encode()).hexdigest()[:40])


def _held(request, etag: str) -> bool:
    """Does If-None-Match name ``etag``?  (The weak comparison RFC 9110 asks of it: W/ is ignored.)"""
    header = request.headers.get("If-None-Match", "")
    if not header:
        return False
    tags = parse_etags(header)
    return tags == ["*"] or etag in {tag.removeprefix("W/") for tag in tags}


def copy_answer(request, data: dict, *, without: str = "as_of") -> Response | HttpResponseNotModified:
    """A copy for the offline counter, with an ETag of its content (``as_of`` aside: it changes every time);
    a 304 with no body when the client holds that content already."""
    etag = _etag({name: value for name, value in data.items() if name != without})
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if _held(request, etag):
        response = HttpResponseNotModified()
        for name, value in headers.items():
            response[name] = value
        return response
    return Response(data, headers=headers)


class CatalogApi(StationApiView):
    """Every product on sale, at today's prices, with what the county warehouse has free."""

    @extend_schema(
        operation_id="catalog_copy",
        tags=COPY_TAGS,
        summary="The catalog, for the offline counter's copy",
        description=(
            "Every product on sale (no paging: a few hundred), at today's prices with the promotions running "
            "now, and the units free at your station's county warehouse now. Keep the `ETag` and send it as "
            "`If-None-Match` next time: 304 when nothing changed."
        ),
        parameters=[IF_NONE_MATCH_PARAMETER, ETAG_HEADER],
        responses={200: CatalogOutputSerializer, 304: NOT_MODIFIED, **ACCESS_ERRORS},
    )
    def get(self, request):
        now = timezone.now()
        data = CatalogOutputSerializer({"as_of": now, "products": selectors.catalog_copy(request.station, at=now)})
        return copy_answer(request, data.data)


class VillagersApi(StationApiView):
    """Your station's villagers, for the offline counter's copy (phones masked)."""

    @extend_schema(
        operation_id="villagers_copy",
        tags=COPY_TAGS,
        summary="Your station's villagers, for the offline counter's copy",
        description=(
            "Every villager of your station (no paging), phone masked as the pages list it. `ETag` and "
            "`If-None-Match` as for the catalog."
        ),
        parameters=[IF_NONE_MATCH_PARAMETER, ETAG_HEADER],
        responses={200: VillagersOutputSerializer, 304: NOT_MODIFIED, **ACCESS_ERRORS},
    )
    def get(self, request):
        data = VillagersOutputSerializer(
            {"as_of": timezone.now(), "villagers": selectors.villagers_copy(request.station)}
        )
        return copy_answer(request, data.data)


# --- the counter's steps on an order ------------------------------------------------------------------

NUMBER_PARAMETER = OpenApiParameter("number", str, OpenApiParameter.PATH, description="The order number.")
REFUSED = OpenApiResponse(RefusalOutputSerializer, description="Refused, nothing changed: `code` and `detail` say why.")
NOT_OURS = OpenApiResponse(StationApiErrorSerializer, description="No such order at your station.")


class OrderStepApi(StationApiView):
    """One step of the counter on an order of the station, as the order page takes it."""

    def order_of_station(self, number: str) -> Order:
        # Anything that cannot be an order number is no order here (and a NUL byte never reaches the database).
        if not ORDER_NUMBER.fullmatch(number):
            raise Http404("No such order at this station")
        return selectors.get_order_of_station(self.request.station, number)

    def read(self, serializer_class, order: Order, **extra) -> dict:
        """The order as it is now (its lines and status read again), in ``serializer_class``'s shape."""
        fresh = selectors.get_order_of_station(self.request.station, order.number)
        for name, value in extra.items():
            setattr(fresh, name, value)
        return serializer_class(fresh, context=self.output_context()).data


class OrderConfirmApi(OrderStepApi):
    @extend_schema(
        operation_id="orders_confirm",
        tags=TAGS,
        summary="Confirm a placed order: the villager's say, and its payment",
        description=(
            "As the order page: the code from the villager's SMS or the signed slip's number (unless they "
            "agreed by replying), and for cash at the station how they paid (`tender`; absent: cash, "
            "exactly the total). Pay on pickup takes nothing now, within the station's limit."
        ),
        parameters=[NUMBER_PARAMETER],
        request=ConfirmInputSerializer,
        responses={
            200: OpenApiResponse(DOCUMENTED_PAID_ORDER, description="Confirmed; `change_given` to give back."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            404: NOT_OURS,
            409: REFUSED,
        },
    )
    def post(self, request, number: str):
        order = self.order_of_station(number)
        body = ConfirmInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            done = services.confirm_payment(
                order=order,
                actor=request.user,
                tender=tender_of(body.validated_data),
                consent_code=body.validated_data["consent_code"],
            )
        except services.OrderError as exc:
            return refusal(exc)
        change = getattr(done, "change_given", Decimal("0.00"))
        return Response(self.read(PaidOrderOutputSerializer, order, change_given=change))


class OrderHandOverApi(OrderStepApi):
    @extend_schema(
        operation_id="orders_hand_over",
        tags=TAGS,
        summary="Hand an order's goods over against the villager's pickup code",
        description=(
            "The order must be at the station. A pay-on-pickup order is paid in the same step: "
            "`payment_taken` (cash, exactly) or `tender`. An order with home installation is handed over "
            "by the installer at the villager's home, never here (409). Without the code: the order page "
            "only (the partner's)."
        ),
        parameters=[NUMBER_PARAMETER],
        request=HandOverInputSerializer,
        responses={
            200: OpenApiResponse(DOCUMENTED_PAID_ORDER, description="Collected; `change_given` to give back."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            404: NOT_OURS,
            409: REFUSED,
        },
    )
    def post(self, request, number: str):
        order = self.order_of_station(number)
        body = HandOverInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            done = services.hand_over(
                order=order,
                actor=request.user,
                pickup_code=data["pickup_code"],
                payment_taken=data["payment_taken"],
                tender=tender_of(data),
            )
        except services.OrderError as exc:
            return refusal(exc)
        change = getattr(done, "change_given", Decimal("0.00"))
        return Response(self.read(PaidOrderOutputSerializer, order, change_given=change))


class OrderCancelApi(OrderStepApi):
    @extend_schema(
        operation_id="orders_cancel",
        tags=TAGS,
        summary="Cancel an order before it is batched",
        description=(
            "A placed or confirmed order: its stock is released, and a paid one owes the villager a refund "
            "(the refunds page). The offline counter cancels an order it sent whose price or stock changed "
            "after it was placed."
        ),
        parameters=[NUMBER_PARAMETER],
        request=CancelInputSerializer,
        responses={
            200: OpenApiResponse(DOCUMENTED_ORDER, description="Cancelled."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            404: NOT_OURS,
            409: REFUSED,
        },
    )
    def post(self, request, number: str):
        order = self.order_of_station(number)
        body = CancelInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            services.cancel_order(order=order, actor=request.user, reason=body.validated_data["reason"].strip())
        except services.OrderError as exc:
            return refusal(exc)
        return Response(self.read(OrderOutputSerializer, order))


class OrderReturnApi(OrderStepApi):
    station_action = "return_order"  # money goes back to the villager and the commission is reversed

    @extend_schema(
        operation_id="orders_return",
        tags=TAGS,
        summary="Take units of a collected order back (the partner's only)",
        description=(
            "A return by line, as the order page records it: units of each line within its category's return "
            "window, and why. The refund owed is paid out of the drawer on the refunds page; the goods wait "
            "at the station for a truck. Every unit back makes the order `returned`. An assistant gets 403."
        ),
        parameters=[NUMBER_PARAMETER],
        request=ReturnInputSerializer,
        responses={
            200: OpenApiResponse(DOCUMENTED_RETURNED_ORDER, description="Recorded: the order and `goods_return`."),
            400: BAD_REQUEST,
            **ACCESS_ERRORS,
            404: NOT_OURS,
            409: REFUSED,
        },
    )
    def post(self, request, number: str):
        order = self.order_of_station(number)
        body = ReturnInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        line_of = {line.product.sku: line for line in order.lines.all()}
        unknown = [line["sku"] for line in data["lines"] if line["sku"] not in line_of]
        if unknown:
            raise ValidationError(
                {
                    "lines": [
                        _("Not part of order %(number)s: %(skus)s.")
                        % {"number": order.number, "skus": ", ".join(unknown)}
                    ]
                }
            )
        back = [returns.LineBack(line_of[line["sku"]].pk, line["quantity"], line["reason"]) for line in data["lines"]]
        try:
            goods = returns.return_lines(order=order, actor=request.user, lines=back, note=data["note"])
        except services.OrderError as exc:
            return refusal(exc)
        refund = Refund.objects.filter(goods_return=goods).values_list("amount", flat=True).first()
        taken_back = {
            "id": goods.pk,
            "refund": refund if refund is not None else Decimal("0.00"),
            "lines": list(goods.lines.select_related("order_line__product").order_by("pk")),
        }
        return Response(self.read(ReturnedOrderOutputSerializer, order, goods_return=taken_back))
