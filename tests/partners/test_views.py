import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from partners.models import Villager
from tests.factories import UserFactory, VillagerFactory

STATION_PAGES = ["/", "/villagers/", "/villagers/new/"]


@pytest.mark.parametrize("url", STATION_PAGES + ["/villagers/1/", "/villagers/1/edit/"])
def test_every_partner_page_requires_login(client, db, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("suffix", ["", "edit/"])
def test_another_stations_villager_is_a_404(client_a, villager_b, suffix):
    response = client_a.get(f"/villagers/{villager_b.pk}/{suffix}")

    assert response.status_code == 404


def test_another_stations_villager_cannot_be_edited_by_post(client_a, villager_b):
    response = client_a.post(f"/villagers/{villager_b.pk}/edit/", {"name": "改名", "phone": ""})

    assert response.status_code == 404
    villager_b.refresh_from_db()
    assert villager_b.name == "李秀英"


@pytest.mark.parametrize("url", STATION_PAGES)
def test_a_user_without_a_station_sees_a_clear_page(client, db, url):
    client.force_login(UserFactory(username="nobody"))
    client.cookies["django_language"] = "en"

    response = client.get(url)

    assert response.status_code == 403
    assert b"not linked to a station" in response.content


def test_a_county_manager_without_a_station_sees_their_county(client, county_manager, station_a):
    client.force_login(county_manager)

    response = client.get("/", follow=True)  # home is the county workspace (issue #12)

    assert response.redirect_chain == [("/county/", 302)]
    assert station_a.village.county.name in response.content.decode()


def test_the_dashboard_names_the_station(client_a, station_a, villager_a):
    response = client_a.get("/")

    assert response.status_code == 200
    assert station_a.name in response.content.decode()
    assert "1 位村民" in response.content.decode()


def test_the_list_shows_only_the_stations_villagers_with_masked_phones(client_a, villager_a, villager_b):
    response = client_a.get("/villagers/")

    page = response.content.decode()
    assert villager_a.name in page
    assert "138****5678" in page
    assert "13812345678" not in page
    assert villager_b.name not in page


@pytest.mark.parametrize("query", ["王建", "5678", "138123"])
def test_it_finds_villagers_by_name_or_phone(client_a, villager_a, station_a, query):
    VillagerFactory(service_center=station_a, name="赵小红", phone="+8615900001111")

    response = client_a.get("/villagers/", {"q": query})

    page = response.content.decode()
    assert villager_a.name in page
    assert "赵小红" not in page


def test_the_live_search_returns_only_the_rows(client_a, villager_a):
    response = client_a.get("/villagers/", {"q": "王"}, HTTP_HX_REQUEST="true")

    assert villager_a.name in response.content.decode()
    assert b"<html" not in response.content


def test_the_list_costs_the_same_queries_for_5_or_50_villagers(client_a, station_a):
    # session, user, station, count, page of villagers, then the session
    # saved again for the idle timeout (BEGIN/UPDATE/COMMIT on SQLite)
    VillagerFactory.create_batch(5, service_center=station_a)
    with CaptureQueriesContext(connection) as few:
        client_a.get("/villagers/")
    VillagerFactory.create_batch(45, service_center=station_a)
    with CaptureQueriesContext(connection) as many:
        client_a.get("/villagers/")

    assert len(few) == len(many) <= 8


def test_it_registers_a_villager(client_a, staff_a, station_a):
    response = client_a.post(
        "/villagers/new/", {"name": " 陈桂兰 ", "phone": "139 1234 0000", "sms_consent": "on", "notes": "腿脚不便"}
    )

    villager = Villager.objects.get(service_center=station_a, name="陈桂兰")
    assert response.status_code == 302
    assert response["Location"] == f"/villagers/{villager.pk}/"
    assert str(villager.phone) == "+8613912340000"
    assert villager.sms_consent is True
    assert villager.created_by == staff_a


def test_it_returns_to_the_order_form_with_the_new_villager_chosen(client_a, station_a):
    response = client_a.post("/villagers/new/?next=/orders/new/", {"name": "陈桂兰", "phone": ""})

    villager = Villager.objects.get(service_center=station_a, name="陈桂兰")
    assert response["Location"] == f"/orders/new/?villager={villager.pk}"


def test_it_does_not_redirect_to_another_site(client_a, station_a):
    response = client_a.post("/villagers/new/?next=https://evil.example/", {"name": "陈桂兰", "phone": ""})

    villager = Villager.objects.get(service_center=station_a, name="陈桂兰")
    assert response["Location"] == f"/villagers/{villager.pk}/"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "phone": ""}, "name"),
        ({"name": "   ", "phone": ""}, "name"),
        ({"name": "张" * 10_000, "phone": ""}, "name"),
        ({"name": "a\x00b", "phone": ""}, "name"),
        ({"name": "张三", "phone": "12345"}, "phone"),
        ({"name": "张三", "phone": "+1 202 555 0100"}, "phone"),
        ({"name": "张三", "phone": "", "sms_consent": "on"}, "sms_consent"),
        ({"name": "张三", "phone": "<script>alert(1)</script>"}, "phone"),
    ],
)
def test_it_answers_bad_input_with_a_form_error(client_a, station_a, data, field):
    response = client_a.post("/villagers/new/", data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not station_a.villagers.exists()


def test_a_duplicate_phone_is_a_form_error_naming_the_other_villager(client_a, villager_a, station_a):
    response = client_a.post("/villagers/new/", {"name": "另一人", "phone": "13812345678"})

    assert response.status_code == 200
    assert villager_a.name in " ".join(response.context["form"].errors["phone"])
    assert station_a.villagers.count() == 1


def test_it_edits_a_villager(client_a, villager_a):
    response = client_a.post(f"/villagers/{villager_a.pk}/edit/", {"name": "王建国", "phone": "", "notes": "搬家了"})

    assert response.status_code == 302
    villager_a.refresh_from_db()
    assert villager_a.phone == ""
    assert villager_a.sms_consent is False
    assert villager_a.notes == "搬家了"


def test_the_villagers_own_page_shows_the_full_phone(client_a, villager_a):
    response = client_a.get(f"/villagers/{villager_a.pk}/")

    assert "138 1234 5678" in response.content.decode()


def test_pages_speak_chinese_first_and_english_on_request(client_a, villager_a):
    # an English browser at a village station still gets Chinese until someone switches
    assert "登记村民" in client_a.get("/villagers/", HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()

    client_a.post("/i18n/setlang/", {"language": "en", "next": "/villagers/"})

    assert "Register a villager" in client_a.get("/villagers/").content.decode()
