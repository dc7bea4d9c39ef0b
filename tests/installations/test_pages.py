"""The station's installation page: the free times, booking one, a taken time, bad input, other stations."""

import pytest

from installations import services
from installations.models import Appointment, Installer
from orders.models import Order
from tests.factories import ProductFactory, StockFactory


@pytest.fixture
def installer(station_a):
    return Installer.objects.create(county=station_a.village.county, name="张师傅", capacity=1, work_weekdays="1234567")


@pytest.fixture
def installation(place_at_a, villager_a, warehouse_a):
    villager_a.address = "三组 12 号"
    villager_a.save()
    aircon = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True)
    StockFactory(product=aircon, warehouse=warehouse_a, on_hand=5)
    return place_at_a((aircon, 1), delivery_method=Order.DeliveryMethod.HOME_INSTALLATION).order


def value(slot) -> str:
    return f"{slot.day.isoformat()}|{slot.half_day}"


def test_the_order_page_leads_to_the_appointment_and_booking_lands_back_there(client_a, installation, installer):
    page = client_a.get(f"/orders/{installation.number}/")
    assert f'href="/orders/{installation.number}/installation/"' in page.content.decode()
    first = services.slots_for(installation)[0]

    shown = client_a.get(f"/orders/{installation.number}/installation/")
    assert value(first) in shown.content.decode()
    booked = client_a.post(f"/orders/{installation.number}/installation/", {"slot": value(first)})

    assert booked.status_code == 302 and booked["Location"] == f"/orders/{installation.number}/"
    appointment = services.live_appointment(installation)
    assert (appointment.day, appointment.half_day, appointment.installer) == (first.day, first.half_day, installer)
    assert "张师傅" in client_a.get(f"/orders/{installation.number}/installation/").content.decode()


def test_a_time_taken_meanwhile_is_refused_with_the_next_one_chosen(client_a, installation, installer, place_at_a):
    first, second = services.slots_for(installation)[:2]
    other = place_at_a((installation.lines.get().product, 1), key="other", delivery_method="home_installation").order
    services.book(order=other, day=first.day, half_day=first.half_day, actor=None)

    refused = client_a.post(f"/orders/{installation.number}/installation/", {"slot": value(first)})

    assert refused.status_code == 400
    text = refused.content.decode()
    assert "fully booked" in text or "已约满" in text
    assert f'value="{value(second)}" required checked' in text
    assert not Appointment.objects.filter(order=installation).exists()


@pytest.mark.parametrize("slot", ["", "tomorrow|am", "2026-13-01|am", "2026-12-07|noon", "2026-12-07|am|x", "\x00"])
def test_a_bad_time_is_a_400_with_nothing_booked(client_a, installation, installer, slot):
    refused = client_a.post(f"/orders/{installation.number}/installation/", {"slot": slot})
    assert refused.status_code == 400
    assert not Appointment.objects.exists()


def test_an_order_without_installation_has_no_such_page(client_a, place_at_a, fertilizer_stock):
    order = place_at_a((fertilizer_stock.product, 1)).order
    assert client_a.get(f"/orders/{order.number}/installation/").status_code == 404


def test_another_stations_order_is_a_404(client, staff_b, installation, installer):
    client.force_login(staff_b)
    assert client.get(f"/orders/{installation.number}/installation/").status_code == 404
    assert client.post(f"/orders/{installation.number}/installation/", {"slot": "x"}).status_code == 404
