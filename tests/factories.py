"""Test data factories: one per model, with plausible defaults."""

import factory
from django.contrib.auth import get_user_model

from partners.models import County, CountyManager, ServiceCenter, StationStaff, Village, Villager, Warehouse
from partners.signals import villager_consent_changed


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw-for-tests")


class CountyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = County

    code = factory.Sequence(lambda n: f"{330100 + n:06d}")
    name = factory.Sequence(lambda n: f"县{n}")
    province = "浙江省"


class WarehouseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Warehouse

    county = factory.SubFactory(CountyFactory)
    code = factory.Sequence(lambda n: f"WH{n}")
    name = factory.Sequence(lambda n: f"仓库{n}")


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    county = factory.SubFactory(CountyFactory)
    town = "城关镇"
    name = factory.Sequence(lambda n: f"村{n}")


class ServiceCenterFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceCenter

    code = factory.Sequence(lambda n: f"ST{n:04d}")
    name = factory.Sequence(lambda n: f"服务站{n}")
    village = factory.SubFactory(VillageFactory)
    address = "村委会旁"


class StationStaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StationStaff

    user = factory.SubFactory(UserFactory)
    service_center = factory.SubFactory(ServiceCenterFactory)
    role = StationStaff.Role.PARTNER


class CountyManagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CountyManager

    user = factory.SubFactory(UserFactory)
    county = factory.SubFactory(CountyFactory)


class VillagerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Villager
        skip_postgeneration_save = True

    service_center = factory.SubFactory(ServiceCenterFactory)
    name = factory.Sequence(lambda n: f"王{n}")
    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    sms_consent = True

    @factory.post_generation
    def consent_recorded(villager, create, extracted, **kwargs):
        """Their answer in the consent record, as registering them at the counter records it."""
        if create and villager.phone and extracted is not False:
            villager_consent_changed.send(sender=Villager, villager=villager, granted=villager.sms_consent)


# --- orders ---------------------------------------------------------------------

from decimal import Decimal  # noqa: E402

from catalog.models import Category, Product, Promotion, Seller, Stock  # noqa: E402
from orders.models import CommissionRule  # noqa: E402


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"卖家{n}")
    default_commission_rate = Decimal("3.00")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"类目{n}")
    slug = factory.Sequence(lambda n: f"cat-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"商品{n}")
    category = factory.SubFactory(CategoryFactory)
    seller = factory.SubFactory(SellerFactory)
    unit = "袋"
    price = Decimal("100.00")
    weight_kg = Decimal("50.000")
    volume_m3 = Decimal("0.0600")


class StockFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stock

    product = factory.SubFactory(ProductFactory)
    warehouse = factory.SubFactory(WarehouseFactory)
    on_hand = 100
    reserved = 0


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion

    name = "6.18"


class CommissionRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommissionRule


# --- logistics -----------------------------------------------------------------

import datetime as _dt  # noqa: E402

from logistics.models import Route, RouteStop, Vehicle  # noqa: E402


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    warehouse = factory.SubFactory(WarehouseFactory)
    plate = factory.Sequence(lambda n: f"浙A{n:05d}")
    capacity_kg = Decimal("1000")
    capacity_m3 = Decimal("8")


class RouteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Route

    warehouse = factory.SubFactory(WarehouseFactory)
    code = factory.Sequence(lambda n: f"R{n}")
    name = factory.Sequence(lambda n: f"线路{n}")
    cutoff_time = _dt.time(16, 0)
    departure_weekdays = "1234567"


class RouteStopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RouteStop

    route = factory.SubFactory(RouteFactory)
    service_center = factory.SubFactory(ServiceCenterFactory)
    sequence = factory.Sequence(lambda n: n + 1)
