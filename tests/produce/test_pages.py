"""The produce pages: the station lists a lot and pays it; the county buys, declines, receives, labels."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from cashbook.models import CashEntry
from produce import services
from produce.models import ProduceKind, ProduceLot
from tests.factories import StationStaffFactory, UserFactory

S = ProduceLot.Status


@pytest.fixture
def eggs(station_a):
    return ProduceKind.objects.create(
        county=station_a.village.county, name="鸡蛋", unit="piece", grades="一级,二级", perishable=True, keeps_days=7
    )


@pytest.fixture
def english(client_a):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client_a


@pytest.fixture
def manager(county_manager) -> Client:
    client = Client()
    client.force_login(county_manager)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def new_lot(villager, kind, **changes) -> dict:
    return {
        "villager": villager.pk,
        "kind": kind.pk,
        "quantity": "30",
        "grade": "一级",
        "price_asked": "1.20",
        "ready_on": timezone.localdate().isoformat(),
        **changes,
    }


def test_a_lot_goes_from_the_counter_to_the_county_and_is_paid_once_at_the_counter(
    english, manager, villager_a, eggs, station_a
):
    listed = english.post("/produce/new/", new_lot(villager_a, eggs))
    lot = ProduceLot.objects.get()
    assert listed.status_code == 302 and listed["Location"] == f"/produce/{lot.number}/"
    assert lot.number in english.get("/produce/").content.decode()

    county = manager.get("/county/produce/").content.decode()
    assert lot.number in county and "鸡蛋" in county and villager_a.name not in county  # masked for the county
    assert manager.post(f"/county/produce/{lot.number}/", {"step": "accept", "price": "1.10"}).status_code == 302
    assert (
        manager.post(
            f"/county/produce/{lot.number}/", {"step": "receive", "quantity": "28", "grade": "二级"}
        ).status_code
        == 302
    )
    lot.refresh_from_db()
    assert (lot.status, lot.value) == (S.RECEIVED, Decimal("30.80"))
    label = manager.get(f"/county/produce/{lot.number}/label/")
    assert label.status_code == 200 and "<svg" in label.content.decode() and lot.number in label.content.decode()

    page = english.get(f"/produce/{lot.number}/").content.decode()
    assert "Pay ¥30.80" in page
    paid = english.post(f"/produce/{lot.number}/", {"step": "pay", "value": "30.80"})
    assert paid.status_code == 302
    again = english.post(f"/produce/{lot.number}/", {"step": "pay", "value": "30.80"})
    assert again.status_code == 409
    entry = CashEntry.objects.get(kind="produce")
    assert (entry.amount, entry.reference, entry.station) == (Decimal("-30.80"), lot.number, station_a)


def test_an_assistant_lists_but_does_not_pay(villager_a, eggs, station_a, county_manager):
    assistant = StationStaffFactory(user=UserFactory(), service_center=station_a, role="assistant").user
    client = Client()
    client.force_login(assistant)
    assert client.post("/produce/new/", new_lot(villager_a, eggs)).status_code == 302
    lot = ProduceLot.objects.get()
    services.accept_lot(lot=lot, price="1.00", actor=county_manager)
    services.receive_lot(lot=lot, quantity="30", grade="一级", actor=county_manager)
    assert client.post(f"/produce/{lot.number}/", {"step": "pay", "value": "30.00"}).status_code == 403
    assert not CashEntry.objects.filter(kind="produce").exists()


@pytest.mark.parametrize(
    "changes",
    [{"quantity": "0"}, {"quantity": "abc"}, {"price_asked": "-1"}, {"grade": "特级"}, {"quantity": "1.234"}],
)
def test_bad_input_is_a_form_error_and_lists_nothing(english, villager_a, eggs, changes):
    answer = english.post("/produce/new/", new_lot(villager_a, eggs, **changes))
    assert answer.status_code == 400
    assert not ProduceLot.objects.exists()


def test_another_stations_lot_is_a_404_and_another_countys_too(client_a, manager, station_b, villager_b, staff_b):
    kind_b = ProduceKind.objects.create(county=station_b.village.county, name="土豆", grades="一级")
    lot = services.list_lot(
        station=station_b,
        villager=villager_b,
        kind=kind_b,
        quantity="50",
        grade="一级",
        price_asked="2",
        ready_on=timezone.localdate(),
        actor=staff_b,
    )
    assert client_a.get(f"/produce/{lot.number}/").status_code == 404
    assert manager.post(f"/county/produce/{lot.number}/", {"step": "accept", "price": "2"}).status_code == 404
    assert ProduceLot.objects.get(pk=lot.pk).status == S.LISTED
    assert lot.number not in manager.get("/county/produce/").content.decode()


def test_an_accepted_lot_past_its_keeping_days_is_overdue_for_the_county_and_the_station(
    english, manager, villager_a, eggs, station_a, staff_a, county_manager
):
    lot = services.list_lot(
        station=station_a,
        villager=villager_a,
        kind=eggs,
        quantity="30",
        grade="一级",
        price_asked="1",
        ready_on=timezone.localdate(),
        actor=staff_a,
    )
    services.accept_lot(lot=lot, price="1.00", actor=county_manager)
    ProduceLot.objects.filter(pk=lot.pk).update(ready_on=timezone.localdate() - timedelta(days=8))
    assert "Overdue" in manager.get("/county/produce/").content.decode()
    assert "overdue" in english.get("/produce/").content.decode()
    # the county declines what never came: the lot ends, the villager is told
    assert manager.post(f"/county/produce/{lot.number}/", {"step": "decline", "reason": "没有送到"}).status_code == 302
    assert ProduceLot.objects.get(pk=lot.pk).status == S.DECLINED


def test_the_new_lot_form_offers_today_as_the_day_it_is_ready(client_a, eggs):
    page = client_a.get("/produce/new/").content.decode()  # in Chinese, the site's first language
    assert f'type="date" name="ready_on" value="{timezone.localdate().isoformat()}"' in page


def test_a_listed_lot_past_its_keeping_days_offers_the_county_only_declining(
    county_manager, villager_a, eggs, station_a, staff_a, time_machine
):
    lot = services.list_lot(
        station=station_a,
        villager=villager_a,
        kind=eggs,
        quantity="30",
        grade="一级",
        price_asked="1",
        ready_on=timezone.localdate(),
        actor=staff_a,
    )
    time_machine.move_to(timezone.now() + timedelta(days=eggs.keeps_days + 1))  # nobody decided meanwhile
    manager = Client()
    manager.force_login(county_manager)
    page = manager.get("/county/produce/").content.decode()
    item = page[page.index(lot.number) :]
    item = item[: item.index("</li>")]
    assert "data-too-late" in item and 'value="accept"' not in item and 'value="decline"' in item
    # a stale page's buy is refused with the reason, and nothing changes
    response = manager.post(f"/county/produce/{lot.number}/", {"step": "accept", "price": "1.00"}, follow=True)
    assert ProduceLot.objects.get(pk=lot.pk).status == S.LISTED
    assert lot.number in "".join(str(m) for m in response.context["messages"])
