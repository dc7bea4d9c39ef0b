"""Every partner page, with the scripts and styles it loads, stays under 60 KB compressed.

Stations sit on slow rural links; the budget counts what a browser downloads
the first time, gzip-compressed as WhiteNoise serves it, and allows no other host.
"""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders

BUDGET = 60 * 1024
ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+href)="([^"]+)"')


def page_weight(html: bytes) -> tuple[int, list[str]]:
    total = len(gzip.compress(html))
    assets = ASSET.findall(html.decode())
    for url in assets:
        if url.startswith("data:"):
            continue  # inline, already counted with the HTML
        assert url.startswith("/static/"), f"{url} is not served by us"
        path = finders.find(url.removeprefix("/static/"))
        with open(path, "rb") as f:
            total += len(gzip.compress(f.read()))
    return total, assets


@pytest.fixture
def partner_pages(villager_a):
    return [
        "/",
        "/villagers/",
        "/villagers/new/",
        f"/villagers/{villager_a.pk}/",
        f"/villagers/{villager_a.pk}/edit/",
        "/cash/",
        "/cash/close/",
        "/cash/remittances/new/",
        "/orders/new/",
        "/orders/offline/",  # the offline counter, with its own script
        "/installations/",
        "/produce/",
        "/produce/new/",
        "/insights/",  # what sells: five charts, here empty (full ones below)
        "/campaigns/",
        "/campaigns/new/",  # every promotion, product and category in its selects
    ]


def test_every_partner_page_is_under_budget(client_a, partner_pages):
    for url in partner_pages:
        response = client_a.get(url)
        assert response.status_code == 200, url

        weight, assets = page_weight(response.content)

        assert weight < BUDGET, f"{url}: {weight} bytes"
        assert any("htmx" in a for a in assets)


def test_the_login_page_is_under_budget(client, db):
    weight, _ = page_weight(client.get("/accounts/login/").content)

    assert weight < BUDGET


def test_the_order_pages_and_the_printed_slip_are_under_budget(client_a, station_a, staff_a, fertilizer_stock):
    from orders import services
    from tests.factories import VillagerFactory

    no_sms = VillagerFactory(service_center=station_a, phone="", sms_consent=False)
    order = services.place_order(
        station=station_a,
        villager=no_sms,
        placed_by=staff_a,
        lines=[services.LineRequest(fertilizer_stock.product.sku, 2)],
        delivery_method="station_pickup",
        payment_method="cash_at_station",
        idempotency_key="weight",
    ).order
    pages = [
        client_a.get(f"/orders/{order.number}/"),
        client_a.get(f"/orders/{order.number}/receipt/"),
        client_a.post(f"/orders/{order.number}/slip/"),  # the slip with the pickup code and its QR code
        client_a.get("/orders/new/"),
        client_a.get("/orders/"),
    ]
    for response in pages:
        assert response.status_code == 200
        weight, _ = page_weight(response.content)
        assert weight < BUDGET, f"{response.request['PATH_INFO']}: {weight} bytes"


def test_the_installers_page_is_under_budget(client, station_a):
    from installations.models import Installer
    from tests.factories import UserFactory

    installer = Installer.objects.create(county=station_a.village.county, name="张师傅", user=UserFactory())
    client.force_login(installer.user)
    response = client.get("/installer/")
    assert response.status_code == 200

    weight, _ = page_weight(response.content)

    assert weight < BUDGET, weight


def test_the_produce_lot_page_is_under_budget_in_each_state(client_a, station_a, villager_a, staff_a):
    """The station's lot page: listed (the withdraw form), received (both pay forms), paid."""
    from django.utils import timezone

    from produce import services
    from produce.models import ProduceKind
    from tests.factories import UserFactory

    eggs = ProduceKind.objects.create(county=station_a.village.county, name="土鸡蛋", unit="piece", grades="一级,二级")
    lot = services.list_lot(
        station=station_a,
        villager=villager_a,
        kind=eggs,
        quantity="120",
        grade="一级",
        price_asked="0.90",
        ready_on=timezone.localdate(),
        actor=staff_a,
    )
    manager = UserFactory()
    steps = [
        lambda: None,
        lambda: services.receive_lot(
            lot=services.accept_lot(lot=lot, price="0.85", actor=manager), quantity="118", grade="二级", actor=manager
        ),
        lambda: services.pay_lot(lot=lot, actor=staff_a),
    ]
    for step in steps:
        step()
        response = client_a.get(f"/produce/{lot.number}/")
        assert response.status_code == 200

        weight, assets = page_weight(response.content)

        assert weight < BUDGET, f"{lot.number}: {weight} bytes"
        assert any("htmx" in a for a in assets)


def test_what_sells_with_every_table_and_chart_full_is_under_budget(client_a, station_a, villager_a):
    from datetime import date, datetime, time
    from zoneinfo import ZoneInfo

    import time_machine

    from catalog.models import Category
    from orders import insights
    from tests.factories import ProductFactory, ServiceCenterFactory, VillageFactory, VillagerFactory, WarehouseFactory
    from tests.order_steps import sold

    WarehouseFactory(county=station_a.village.county, code="WH-A")
    other = ServiceCenterFactory(village=VillageFactory(county=station_a.village.county))
    fertilizer = Category.objects.create(name="化肥", slug="fertilizer")
    # long names, as the catalog has them: the charts and tables show the first characters
    ours = [
        ProductFactory(name=f"复合肥料 第{i}号 五十公斤装 高氮型", category=fertilizer) for i in range(insights.TOP)
    ]
    theirs = [ProductFactory(name=f"喷雾器 第{i}号 十六升 电动背负式") for i in range(insights.TOP)]
    villagers = [VillagerFactory(service_center=station_a, name=f"王建国{i}") for i in range(insights.TOP)]
    buyer = VillagerFactory(service_center=other)
    with time_machine.travel(datetime.combine(date(2026, 12, 2), time(12), tzinfo=ZoneInfo("Asia/Shanghai"))):
        for i, villager in enumerate(villagers):
            sold(station_a, villager, {ours[i]: i + 1}, on=date(2026, 10, 1))
            sold(station_a, villager, {ours[-1 - i]: 1}, on=date(2026, 11, 1))
            # last year, and not since: to remind
            sold(
                station_a, VillagerFactory(service_center=station_a, name=f"李{i}"), {ours[i]: 2}, on=date(2025, 10, 1)
            )
        sold(other, buyer, {p: 3 for p in theirs}, on=date(2026, 11, 5))
        sold(other, buyer, dict.fromkeys(ours, 1), on=date(2026, 11, 6))
        sold(station_a, villager_a, {ours[0]: 1}, on=date(2026, 11, 9))
        response = client_a.get("/insights/")
    html = response.content.decode()
    assert response.status_code == 200 and html.count('<img class="chart"') == 5
    assert "王*" in html and "李*" in html and "喷雾器" in html

    weight, _ = page_weight(response.content)

    assert weight < BUDGET, weight
    print(f"what sells, full: {weight} bytes")


def test_the_campaign_preview_a_campaign_and_calling_it_off_are_under_budget(client_a, station_a, staff_a):
    from marketing import services
    from tests.factories import ProductFactory, VillagerFactory

    for _ in range(3):
        VillagerFactory(service_center=station_a, marketing_consent=True)
    for n in range(50):  # a station's catalogue in the product select
        ProductFactory(name=f"复合肥 {n} 号 50kg")
    campaign = services.create_campaign(station=station_a, actor=staff_a, body="复合肥特价")
    preview = client_a.post("/campaigns/new/", {"body": "复合肥特价，今冬最低价", "step": "preview"})
    detail = client_a.get(f"/campaigns/{campaign.pk}/")
    call_off = client_a.get(f"/campaigns/{campaign.pk}/cancel/")

    for response in (preview, detail, call_off):
        assert response.status_code == 200
        weight, _ = page_weight(response.content)
        assert weight < BUDGET, f"{response.request['PATH_INFO']}: {weight} bytes"
