"""Produce fixtures: eggs station A's county buys by the piece, a live animal it has not allowed, a listed lot."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from produce import services
from produce.models import ProduceKind
from tests.logistics.conftest import bag, big_truck, confirm, route, small_truck, station_a2  # noqa: F401 (fixtures)


@pytest.fixture
def county_a(station_a):
    return station_a.village.county


@pytest.fixture
def eggs(county_a):
    return ProduceKind.objects.create(
        county=county_a,
        name="鸡蛋",
        unit=ProduceKind.Unit.PIECE,
        grades="一级,二级",
        perishable=True,
        keeps_days=7,
    )


@pytest.fixture
def black_chicken(county_a):
    return ProduceKind.objects.create(
        county=county_a,
        name="黑鸡（活）",
        unit=ProduceKind.Unit.HEAD,
        grades="一级",
        restricted=True,
        allowed=False,
        needs_certificate=True,
    )


@pytest.fixture
def tomorrow():
    return timezone.localdate() + timedelta(days=1)


@pytest.fixture
def list_eggs(station_a, villager_a, eggs, staff_a, tomorrow):
    """List a lot of eggs of villager_a at station A; any argument of list_lot may be changed."""

    def list_(**changes):
        arguments = {
            "station": station_a,
            "villager": villager_a,
            "kind": eggs,
            "quantity": "120",
            "grade": "一级",
            "price_asked": "0.90",
            "ready_on": tomorrow,
            "actor": staff_a,
        } | changes
        return services.list_lot(**arguments)

    return list_


@pytest.fixture
def lot(list_eggs):
    return list_eggs()


@pytest.fixture
def accepted(lot, county_manager):
    return services.accept_lot(lot=lot, price=Decimal("0.85"), actor=county_manager)


@pytest.fixture
def received(accepted, county_manager):
    return services.receive_lot(lot=accepted, quantity="12", grade="一级", actor=county_manager)
