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
