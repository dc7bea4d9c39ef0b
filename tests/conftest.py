"""Named people of the tests: staff of station A, staff of station B, a county manager, an admin."""

import pytest
from django.conf import settings

from ruralshop.folders import create_var_folders
from tests.factories import (
    CountyManagerFactory,
    ServiceCenterFactory,
    StationStaffFactory,
    UserFactory,
    VillagerFactory,
)

requires_postgres = pytest.mark.skipif(
    not settings.DATABASE_IS_POSTGRES, reason="needs PostgreSQL: set DATABASE_URL=postgres://..."
)
requires_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL=redis://...")


def pytest_configure(config) -> None:
    # The test database's folder (SQLite) and the static and broker folders: pytest runs no manage.py.
    create_var_folders()


# Under pytest-xdist (`make test`: -n 2 --dist loadgroup) tests of one group run in one worker.  A module is a
# group, so its module-scoped fixtures (a seeded demo, collected static files) are built once, not in each
# worker; the drills are one group, for they share fixed ports (gunicorn's, the private Redis servers');
# the modules listed here are many independent slow cases, spread over the workers one by one.
SPREAD = {"tests/test_bad_input.py"}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        if module.startswith("tests/drills/"):
            item.add_marker(pytest.mark.xdist_group("drills"))
        elif module not in SPREAD:
            item.add_marker(pytest.mark.xdist_group(module))


@pytest.fixture
def station_a(db):
    return ServiceCenterFactory(code="A-001", name="里叶村服务站")


@pytest.fixture
def station_b(db):
    return ServiceCenterFactory(code="B-001", name="下姜村服务站")


@pytest.fixture
def staff_a(station_a):
    return StationStaffFactory(user=UserFactory(username="alice"), service_center=station_a).user


@pytest.fixture
def staff_b(station_b):
    return StationStaffFactory(user=UserFactory(username="bob"), service_center=station_b).user


@pytest.fixture
def county_manager(station_a):
    return CountyManagerFactory(user=UserFactory(username="carol"), county=station_a.village.county).user


@pytest.fixture
def admin_user(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def villager_a(station_a):
    return VillagerFactory(service_center=station_a, name="王建国", phone="+8613812345678")


@pytest.fixture
def villager_b(station_b):
    return VillagerFactory(service_center=station_b, name="李秀英", phone="+8613987654321")


@pytest.fixture
def client_a(client, staff_a):
    client.force_login(staff_a)
    return client


# --- orders: a warehouse for each station's county, a product in stock at station A's warehouse ---

from decimal import Decimal  # noqa: E402

from tests.factories import ProductFactory, StockFactory, WarehouseFactory  # noqa: E402


@pytest.fixture
def warehouse_a(station_a):
    return WarehouseFactory(county=station_a.village.county, code="WH-A")


@pytest.fixture
def warehouse_b(station_b):
    return WarehouseFactory(county=station_b.village.county, code="WH-B")


@pytest.fixture
def fertilizer(db):
    return ProductFactory(sku="FERT-50", name="复合肥 50kg", price=Decimal("168.00"))


@pytest.fixture
def fertilizer_stock(fertilizer, warehouse_a):
    return StockFactory(product=fertilizer, warehouse=warehouse_a, on_hand=20)
