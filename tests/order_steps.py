"""Walking one order through departure and arrival with the services a batch uses (no batch needed).

``orders.services.depart_orders`` and ``arrive_orders`` are what
``logistics.services.depart_batch`` and ``receive_stop`` call for a run's
orders; these call them for one order and keep its ``status`` in step, as a
transition does.
"""

import itertools
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from orders import services
from orders.models import Order, OrderLine

_numbers = itertools.count(1)


def depart(*, order: Order, actor=None) -> Order:
    """The order's run left the warehouse: in transit, its units out of the stock."""
    services.depart_orders([order.pk], actor=actor)
    order.status = Order.Status.IN_TRANSIT
    return order


def arrive(*, order: Order, actor=None, notify: bool = True) -> Order:
    """The order's parcel was checked in at the station: at the station, the villager told by SMS (``notify``)."""
    services.arrive_orders([order.pk], actor=actor, notify=notify)
    order.status = Order.Status.AT_STATION
    return order


def sold(station, villager, lines: dict, *, on: date | None = None, status=Order.Status.COLLECTED, returned=None):
    """An order of ``lines`` ({product: quantity}) written straight to the tables, for figures over many orders:
    collected on the local day ``on`` (placed two days before), or left in ``status`` (placed now)."""
    from tests.factories import UserFactory

    returned = returned or {}
    collected = datetime.combine(on, time(10), tzinfo=ZoneInfo("Asia/Shanghai")) if on else None
    n = next(_numbers)
    order = Order.objects.create(
        number=f"T{n:08d}",
        service_center=station,
        villager=villager,
        placed_by=UserFactory(),
        warehouse=station.village.county.warehouse,
        status=status,
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        total=sum((p.price * q for p, q in lines.items()), Decimal("0")),
        pickup_code="123456",
        idempotency_key=f"sold-{n}",
        request_hash="x",
        collected_at=collected if status == Order.Status.COLLECTED else None,
    )
    if collected:
        Order.objects.filter(pk=order.pk).update(created_at=collected - timedelta(days=2))
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            quantity=quantity,
            unit_price=product.price,
            line_total=product.price * quantity,
            commission_rate=Decimal("5.00"),
            commission_amount=(product.price * quantity * Decimal("0.05")).quantize(Decimal("0.01")),
            returned_quantity=returned.get(product, 0),
        )
        for product, quantity in lines.items()
    )
    return order
