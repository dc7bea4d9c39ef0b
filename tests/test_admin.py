"""Every admin page of every registered model opens for a superuser (with demo data in it)."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product
from orders import services
from orders.models import Order
from tests.factories import CommissionRuleFactory, PromotionFactory
from tests.order_steps import arrive, depart

MODELS = sorted(admin.site._registry, key=lambda m: m._meta.label)


@pytest.fixture
def demo(station_a, staff_a, county_manager, villager_a, fertilizer_stock):
    """A row of every model, made through the services where there is one."""
    order = services.place_order(
        station=station_a,
        villager=villager_a,
        placed_by=staff_a,
        lines=[services.LineRequest(fertilizer_stock.product.sku, 2)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key="admin-test",
    ).order
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    services.transition(order, to="batched")
    depart(order=order)
    arrive(order=order)
    services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)
    product = fertilizer_stock.product
    PromotionFactory(
        product=product, price="150.00", starts_at=timezone.now(), ends_at=timezone.now() + timedelta(days=1)
    )
    CommissionRuleFactory(seller=product.seller, rate="4.00")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_it_lists_and_searches_every_model(client, admin_user, demo, model):
    client.force_login(admin_user)
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")

    assert client.get(url).status_code == 200
    assert client.get(url, {"q": "王"}).status_code == 200


def test_it_shows_an_order_with_its_lines_and_events(client, admin_user, demo):
    client.force_login(admin_user)
    order = Order.objects.get(status="collected")

    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert order.number in page
    assert order.lines.first().product.name in page


def test_it_exports_the_catalog_as_csv(client, admin_user, demo):
    client.force_login(admin_user)

    response = client.post(
        reverse("admin:catalog_product_export"),
        {"format": "0", "resource": "0", **{f"productresource_{f}": "on" for f in ["sku", "name", "price"]}},
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert "sku" in body.splitlines()[0]
    assert Product.objects.first().sku in body
