"""Reads of orders and the catalog, scoped to the station that asks."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Case, Count, DateTimeField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value, When
from django.http import Http404
from django.utils import timezone

from catalog import pricing as catalog_pricing
from catalog.models import Category, Product, Stock
from catalog.money import to_fen
from partners.models import ServiceCenter, Villager

from .models import GoodsReturn, GoodsReturnLine, Order, OrderEvent, OrderLine, Refund


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


def at_station_since(order: Order) -> datetime | None:
    """When the order last arrived at the station, from its events (prefetched by ``get_order_of_station``)."""
    arrivals = [e.created_at for e in order.events.all() if e.to_status == Order.Status.AT_STATION]
    return max(arrivals, default=None)


def failed_installations_among(orders: QuerySet[Order]) -> QuerySet[Order]:
    """Those of ``orders`` in exception because their installation failed: their last step into exception came
    from the station (a lost or damaged parcel's came from transit).  Only these may the county book again.

    Each carries ``failed_note`` (the reason the installer gave) and ``failed_at``, read by subqueries: still one
    query for any number of orders.
    """
    last = OrderEvent.objects.filter(order=OuterRef("pk"), to_status=Order.Status.EXCEPTION).order_by("-pk")
    return (
        orders.filter(status=Order.Status.EXCEPTION)
        .annotate(
            came_from=Subquery(last.values("from_status")[:1]),
            failed_note=Subquery(last.values("note")[:1]),
            failed_at=Subquery(last.values("created_at")[:1]),
        )
        .filter(came_from=Order.Status.AT_STATION)
    )


def is_failed_installation(order: Order) -> bool:
    """Whether ``order`` is a failed installation waiting for the county (one query; none when not in exception)."""
    if order.status != Order.Status.EXCEPTION:
        return False
    return failed_installations_among(Order.objects.filter(pk=order.pk)).exists()


def way_back_of_order(order: Order) -> tuple[list[GoodsReturn], list[Refund]]:
    """The order's goods returns (with their lines and refund) and the refunds owed apart from a return
    (a paid order cancelled when its goods came back): three queries."""
    goods = list(
        order.goods_returns.select_related("refund")
        .prefetch_related(
            Prefetch("lines", queryset=GoodsReturnLine.objects.select_related("order_line__product").order_by("pk"))
        )
        .order_by("created_at", "pk")
    )
    others = list(order.refunds.filter(goods_return__isnull=True).order_by("created_at", "pk"))
    return goods, others


WAY_BACK = [GoodsReturn.Status.WAITING, GoodsReturn.Status.ON_ITS_WAY]


def goods_going_back(station: ServiceCenter) -> list[GoodsReturn]:
    """Goods of the station waiting for a truck (the oldest first), then those a driver took: three queries."""
    rows = (
        GoodsReturn.objects.filter(order__service_center=station, status__in=WAY_BACK)
        .select_related("order__villager")
        .prefetch_related(
            Prefetch("lines", queryset=GoodsReturnLine.objects.select_related("order_line__product").order_by("pk"))
        )
        .order_by("created_at", "pk")
    )
    return sorted(rows, key=lambda g: g.status != GoodsReturn.Status.WAITING)


def way_back_figures(station: ServiceCenter) -> dict:
    """For the dashboard: refunds owed (their sum, to how many villagers) and goods waiting for a truck: two queries."""
    owed = Refund.objects.filter(order__service_center=station, paid_at__isnull=True).aggregate(
        count=Count("pk"), villagers=Count("order__villager", distinct=True), total=Sum("amount")
    )
    return {
        "refunds_owed": owed["count"],
        "refund_villagers": owed["villagers"],
        "refunds_total": to_fen(owed["total"] or Decimal("0.00")),
        "goods_waiting": GoodsReturn.objects.filter(
            order__service_center=station, status=GoodsReturn.Status.WAITING
        ).count(),
    }


def refunds_owed(station: ServiceCenter) -> list[Refund]:
    """Refunds the station still owes, the oldest first, with their order, villager and return: one query."""
    return list(
        Refund.objects.filter(order__service_center=station, paid_at__isnull=True)
        .select_related("order__villager", "goods_return")
        .order_by("created_at", "pk")
    )


def refunds_paid_recently(station: ServiceCenter, *, limit: int = 20) -> list[Refund]:
    return list(
        Refund.objects.filter(order__service_center=station, paid_at__isnull=False)
        .select_related("order__villager", "paid_by")
        .order_by("-paid_at", "-pk")[:limit]
    )


def refund_of_station(station: ServiceCenter, pk: int) -> Refund:
    """One refund with its order and villager; another station's is a 404."""
    try:
        return Refund.objects.select_related("order__villager", "goods_return", "paid_by").get(
            pk=pk, order__service_center=station
        )
    except Refund.DoesNotExist:
        raise Http404("No such refund at this station") from None


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


# --- the offline counter's copies ---------------------------------------------------------------


def catalog_copy(station: ServiceCenter, *, at: datetime) -> list[dict]:
    """Every product on sale, at its price at ``at`` (promotions applied), with the units free at the station's
    county warehouse: the offline counter's copy of the catalog.  Three queries, however many products."""
    warehouse = station.warehouse
    products = list(catalog(warehouse_id=warehouse.pk if warehouse else None))
    prices = catalog_pricing.unit_prices(products, at=at)
    return [
        {
            "sku": product.sku,
            "name": product.name,
            "category": product.category.name,
            "unit": product.unit,
            "price": prices[product.pk],
            "needs_installation": product.needs_installation,
            "available": max(available_units(product), 0),
            "search": product.search_text,
        }
        for product in products
    ]


def villagers_copy(station: ServiceCenter) -> list[Villager]:
    """The station's villagers, with what the offline counter needs of them (``has_address`` set): one query."""
    villagers = list(
        Villager.objects.filter(service_center=station)
        .only("id", "name", "phone", "address", "code_phone", "sms_consent")
        .order_by("name", "pk")
    )
    for villager in villagers:
        # As placement checks it: a home delivery needs an address that is more than spaces.
        villager.has_address = bool(villager.address.strip())
    return villagers
