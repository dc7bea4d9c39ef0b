"""What sells on a 360 px phone: every table and chart full, nothing scrolls sideways, the tap targets are 44 px."""

import pytest
from django.utils import timezone

from catalog.models import Category
from orders import insights
from tests.factories import ProductFactory, ServiceCenterFactory, VillageFactory, VillagerFactory, WarehouseFactory
from tests.order_steps import sold

from .conftest import PASSWORD, log_in
from .test_way_back import check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_fits_a_phone_with_every_table_full(phone, staff_a, station_a):
    staff_a.set_password(PASSWORD)
    staff_a.save()
    WarehouseFactory(county=station_a.village.county, code="WH-A")
    other = ServiceCenterFactory(village=VillageFactory(county=station_a.village.county))
    fertilizer = Category.objects.create(name="化肥", slug="fertilizer")
    ours = [
        ProductFactory(name=f"复合肥料 第{i}号 五十公斤装 高氮型", category=fertilizer) for i in range(insights.TOP)
    ]
    theirs = [ProductFactory(name=f"喷雾器 第{i}号 十六升 电动背负式") for i in range(insights.TOP)]
    buyer = VillagerFactory(service_center=other)
    today = timezone.localdate()
    for i in range(insights.TOP):
        villager = VillagerFactory(service_center=station_a, name=f"王建国{i}")
        sold(station_a, villager, {ours[i]: i + 1}, on=today.replace(day=1) if today.day > 1 else today)
        sold(station_a, villager, {ours[-1 - i]: 1}, on=today)
        last_year = VillagerFactory(service_center=station_a, name=f"李秀英{i}")  # to remind
        sold(station_a, last_year, {ours[i]: 2}, on=today - insights.YEAR)
    sold(other, buyer, {p: 3 for p in theirs}, on=today)
    page = phone
    log_in(page, staff_a.username)

    page.goto("/insights/")

    assert page.locator("img.chart").count() == 5
    assert page.locator("table.insight").count() == 5
    check(page, "insights-phone")
