"""Orders placed through the real services, and a helper that carries one to the station."""

from decimal import Decimal

import pytest

from catalog.models import Product
from orders import services
from orders.models import Order
from tests.factories import ProductFactory, StockFactory
from tests.order_steps import arrive, depart


@pytest.fixture
def seeds(db):
    return ProductFactory(
        sku="SEED-RICE",
        name="杂交水稻种子 1kg",
        price=Decimal("45.50"),
        weight_kg=Decimal("1.000"),
        volume_m3=Decimal("0.0020"),
    )


@pytest.fixture
def seeds_stock(seeds, warehouse_a):
    return StockFactory(product=seeds, warehouse=warehouse_a, on_hand=10)


@pytest.fixture
def place_at_a(station_a, villager_a, staff_a, warehouse_a):
    """Place an order at station A: ``place_at_a((product_or_sku, quantity), ..., key="k")`` returns the Placement."""

    def place(
        *lines,
        key: str = "key-1",
        station=station_a,
        villager=villager_a,
        placed_by=staff_a,
        delivery_method: str = Order.DeliveryMethod.STATION_PICKUP,
        payment_method: str = Order.PaymentMethod.CASH_AT_STATION,
        notes: str = "",
        notify: bool = True,
    ) -> services.Placement:
        return services.place_order(
            station=station,
            villager=villager,
            placed_by=placed_by,
            lines=[services.LineRequest(p.sku if isinstance(p, Product) else p, qty) for p, qty in lines],
            delivery_method=delivery_method,
            payment_method=payment_method,
            idempotency_key=key,
            notes=notes,
            notify=notify,
        )

    return place


@pytest.fixture
def order_placed(place_at_a, fertilizer_stock) -> Order:
    """Two bags of fertilizer (168.00 each) for villager A, placed by alice; 20 on hand."""
    return place_at_a((fertilizer_stock.product, 2)).order


@pytest.fixture
def deliver():
    """Carry an order from placed to at_station the way the system does: confirm, batch, depart, arrive."""

    def deliver(order: Order, *, actor) -> Order:
        services.confirm_payment(order=order, consent_code=order.consent_code, actor=actor)
        services.transition(order, to=Order.Status.BATCHED, actor=actor)
        depart(order=order, actor=actor)
        arrive(order=order, actor=actor, notify=False)
        return order

    return deliver


def place(station, villager, user, product, *, quantity=1, key="k1") -> Order:
    """One line of ``product`` placed through the service (no SMS queued)."""
    return services.place_order(
        station=station,
        villager=villager,
        placed_by=user,
        lines=[services.LineRequest(product.sku, quantity)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key=key,
        notify=False,
    ).order


@pytest.fixture
def order_a(station_a, villager_a, staff_a, fertilizer_stock):
    return place(station_a, villager_a, staff_a, fertilizer_stock.product)


@pytest.fixture
def order_b(station_b, villager_b, staff_b, warehouse_b, fertilizer):
    StockFactory(product=fertilizer, warehouse=warehouse_b, on_hand=5)
    return place(station_b, villager_b, staff_b, fertilizer)
