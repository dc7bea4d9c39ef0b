"""Reads of orders and the catalog, scoped to the station that asks."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DateTimeField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from catalog.models import Category, Product, Stock
from catalog.money import to_fen
from partners.models import ServiceCenter

from .models import Order, OrderEvent, OrderLine


def orders_of_station(
    station: ServiceCenter,
    *,
    status: str = "",
    villager_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    query: str = "",
) -> QuerySet[Order]:
    orders = Order.objects.filter(service_center=station).select_related("villager")
    if status:
        orders = orders.filter(status=status)
    if villager_id:
        orders = orders.filter(villager_id=villager_id)
    if date_from:
        orders = orders.filter(created_at__gte=_start_of(date_from))
    if date_to:
        orders = orders.filter(created_at__lt=_start_of(date_to + timedelta(days=1)))
    query = query.strip()
    if query:
        orders = orders.filter(Q(number__icontains=query) | Q(villager__name__icontains=query))
    return orders.order_by("-created_at", "-pk")


def get_order_of_station(station: ServiceCenter, number: str) -> Order:
    """One order with everything its page shows; another station's order is a 404."""
    try:
        return (
            Order.objects.select_related("villager", "placed_by", "service_center__village__county", "warehouse")
            .prefetch_related(
                Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("pk")),
                Prefetch("events", queryset=OrderEvent.objects.select_related("actor").order_by("created_at", "pk")),
            )
            .get(service_center=station, number=number)
        )
    except Order.DoesNotExist:
        raise Http404("No such order at this station") from None


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def dashboard_figures(station: ServiceCenter) -> dict:
    """Today's orders and value, orders waiting for payment, orders waiting for pickup: one query."""
    today = _start_of(timezone.localdate())
    live = ~Q(status__in=[Order.Status.CANCELLED, Order.Status.DRAFT])
    figures = Order.objects.filter(service_center=station).aggregate(
        today_count=Count("pk", filter=Q(created_at__gte=today) & live),
        today_value=Sum("total", filter=Q(created_at__gte=today) & live),
        awaiting_payment=Count("pk", filter=Q(status=Order.Status.PLACED)),
        awaiting_pickup=Count("pk", filter=Q(status=Order.Status.AT_STATION)),
    )
    # SQLite sums decimals as floats: bring the figure back to the fen.
    figures["today_value"] = to_fen(figures["today_value"] or Decimal("0.00"))
    return figures


def arrival_time() -> Subquery:
    """When the order reached the station: its (latest) event to at_station, for ``.annotate(arrived_at=...)``.

    The event is the record (the order has no arrival column); the OrderEvent index on order finds it.
    """
    events = OrderEvent.objects.filter(order=OuterRef("pk"), to_status=Order.Status.AT_STATION)
    return Subquery(events.order_by("-created_at", "-pk").values("created_at")[:1])


def with_arrival(orders: QuerySet[Order]) -> QuerySet[Order]:
    """``orders`` with ``arrived_at``: set for an order at the station, None for any other (no subquery run for it)."""
    arrived = Case(
        When(status=Order.Status.AT_STATION, then=arrival_time()), default=None, output_field=DateTimeField()
    )
    return orders.annotate(arrived_at=arrived)


def waiting_for_pickup(station: ServiceCenter, *, limit: int) -> list[Order]:
    """The station's orders at the station, the longest waiting first, with ``arrived_at``: one query."""
    orders = Order.objects.filter(service_center=station, status=Order.Status.AT_STATION).select_related("villager")
    return list(orders.annotate(arrived_at=arrival_time()).order_by("arrived_at", "pk")[:limit])


def catalog(*, warehouse_id: int | None, query: str = "", category: Category | None = None) -> QuerySet[Product]:
    """Products on sale, with the units available at the station's county warehouse.

    ``query`` finds products by name, SKU, seller and category (or a parent's) name, in Chinese or in
    pinyin ("hf" and "huafei" find 化肥); every word must match. Best matches first: the exact SKU, then
    a name or SKU that starts with the query, a name that contains it, then the rest.
    """
    products = Product.objects.filter(is_active=True).select_related("category")
    query = " ".join(query.split())
    order = ["category__position", "name", "pk"]
    if query:
        for word in query.lower().split()[:5]:  # the stored text is lower-cased (catalog.search_text)
            products = products.filter(search_text__icontains=word)
        products = products.annotate(
            rank=Case(
                When(sku__iexact=query, then=Value(0)),
                When(Q(name__istartswith=query) | Q(sku__istartswith=query), then=Value(1)),
                When(name__icontains=query, then=Value(2)),
                default=Value(3),
            )
        )
        order.insert(0, "rank")
    if category is not None:
        products = products.filter(Q(category=category) | Q(category__parent=category))
    return products.prefetch_related(
        Prefetch("stock", queryset=Stock.objects.filter(warehouse_id=warehouse_id), to_attr="local_stock")
    ).order_by(*order)


def available_units(product: Product) -> int:
    stock = getattr(product, "local_stock", None)
    return stock[0].available if stock else 0
