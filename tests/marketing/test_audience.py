"""A campaign's audience: the station's villagers who agreed to promotional SMS and have a phone, optionally only
those who collected something of a category within the last months; consent to order SMS is not enough."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from marketing import selectors
from orders.models import Order, OrderLine
from partners.models import Warehouse
from tests.factories import CategoryFactory, ProductFactory, UserFactory, VillagerFactory, WarehouseFactory


@pytest.fixture
def seeds(db):
    return CategoryFactory(name="种子")


def collected(villager, product, *, at, status=Order.Status.COLLECTED) -> Order:
    """An order of ``villager`` for one ``product``, collected at ``at`` (written directly: only its result matters)."""
    station = villager.service_center
    warehouse = Warehouse.objects.filter(county=station.village.county).first() or WarehouseFactory(
        county=station.village.county
    )
    order = Order.objects.create(
        number=f"N{villager.pk}-{product.pk}",
        service_center=station,
        villager=villager,
        placed_by=UserFactory(),
        warehouse=warehouse,
        status=status,
        delivery_method=Order.DeliveryMethod.STATION_PICKUP,
        payment_method=Order.PaymentMethod.CASH_AT_STATION,
        pickup_code="123456",
        idempotency_key=f"k{villager.pk}-{product.pk}",
        collected_at=at,
    )
    OrderLine.objects.create(
        order=order,
        product=product,
        quantity=1,
        unit_price=product.price,
        line_total=product.price,
        commission_rate=Decimal("5"),
        commission_amount=Decimal("1.00"),
    )
    return order


def test_it_chooses_only_villagers_who_agreed_to_promotions_and_have_a_phone(station_a, station_b):
    # given villagers of station A with every combination, and one of station B who agreed
    yes = VillagerFactory(service_center=station_a, marketing_consent=True)
    family_phone = VillagerFactory(
        service_center=station_a, phone="", code_phone="+8613900000009", marketing_consent=True
    )
    VillagerFactory(service_center=station_a, marketing_consent=False)  # order SMS only: not an audience
    VillagerFactory(service_center=station_a, phone="", marketing_consent=True)  # no phone
    gone = VillagerFactory(service_center=station_a, marketing_consent=True)
    gone.anonymised_at = timezone.now()
    gone.save(update_fields=["anonymised_at"])
    VillagerFactory(service_center=station_b, marketing_consent=True)

    # when the audience of station A is chosen, then it is exactly these, counted in one query
    assert list(selectors.audience(station_a)) == [yes, family_phone]


def test_it_filters_by_what_they_collected_of_a_category_within_the_months(station_a, seeds, django_assert_num_queries):
    now = timezone.now()
    vegetable_seeds = CategoryFactory(name="菜籽", parent=seeds)
    recent = VillagerFactory(service_center=station_a, marketing_consent=True)
    subcategory = VillagerFactory(service_center=station_a, marketing_consent=True)
    long_ago = VillagerFactory(service_center=station_a, marketing_consent=True)
    other_goods = VillagerFactory(service_center=station_a, marketing_consent=True)
    returned = VillagerFactory(service_center=station_a, marketing_consent=True)
    never = VillagerFactory(service_center=station_a, marketing_consent=True)
    collected(recent, ProductFactory(category=seeds), at=now - timedelta(days=20))
    collected(subcategory, ProductFactory(category=vegetable_seeds), at=now - timedelta(days=40))
    collected(long_ago, ProductFactory(category=seeds), at=now - timedelta(days=200))
    collected(other_goods, ProductFactory(), at=now - timedelta(days=5))
    collected(returned, ProductFactory(category=seeds), at=now - timedelta(days=5), status=Order.Status.RETURNED)

    with time_machine.travel(now, tick=False):
        within_three = selectors.audience(station_a, category=seeds, months=3)
        ever = selectors.audience(station_a, category=seeds)
        with django_assert_num_queries(1):
            count = within_three.count()

    assert count == 2
    assert list(within_three) == [recent, subcategory]
    assert list(ever) == [recent, subcategory, long_ago]
    assert never not in selectors.audience(station_a, category=seeds)
    assert len(selectors.audience(station_a)) == 6
