"""Error pages in the site's layout, translated, with a way home (issue #12, item 11); and the log-out page."""

import pytest
from django.contrib.auth import SESSION_KEY
from django.template import loader
from django.test import Client
from django.urls import get_resolver, path

from tests.factories import CountyManagerFactory, UserFactory

EN = {"django_language": "en"}


def boom(request):
    raise RuntimeError("a bug")


# A test urlconf: the project's patterns and one view that fails (for the 500 page).
urlpatterns = [*get_resolver().url_patterns, path("boom/", boom)]


def english_client(**kwargs) -> Client:
    client = Client(**kwargs)
    client.cookies.load(EN)
    return client


def in_the_layout(response, template: str) -> str:
    """The page used ``template`` inside base.html: the header, and a link back home."""
    names = [t.name for t in response.templates]
    assert template in names
    assert "base.html" in names
    body = response.content.decode()
    assert '<header class="top' in body
    assert 'href="/"' in body
    return body


@pytest.fixture
def logged_in(staff_a):
    client = english_client()
    client.force_login(staff_a)
    return client


# --- 404 -------------------------------------------------------------------------------------------------------


def test_an_unknown_url_is_our_404_page(logged_in):
    response = logged_in.get("/no/such/page/")

    assert response.status_code == 404
    body = in_the_layout(response, "404.html")
    assert "Page not found" in body
    assert "Log out" in body  # the header knows who is logged in


def test_a_404_page_is_translated(staff_a):
    client = Client()
    client.force_login(staff_a)
    client.cookies.load({"django_language": "zh-hans"})

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert '<html lang="zh-hans">' in response.content.decode()


def test_another_stations_object_is_our_404_page_too(client, staff_b, staff_a, villager_a):
    client.force_login(staff_b)
    client.cookies.load(EN)

    response = client.get(f"/villagers/{villager_a.pk}/")

    assert response.status_code == 404
    in_the_layout(response, "404.html")


def test_under_debug_an_unknown_url_is_our_404_page_not_the_url_list(logged_in, settings):
    settings.DEBUG = True

    response = logged_in.get("/no/such/page/")

    assert response.status_code == 404
    body = in_the_layout(response, "404.html")
    assert "URLconf" not in body
    assert "api/v1/" not in body


def test_under_debug_a_404_raised_by_a_view_keeps_djangos_explanation(client, staff_b, villager_a, settings):
    settings.DEBUG = True
    client.force_login(staff_b)

    response = client.get(f"/villagers/{villager_a.pk}/")

    assert response.status_code == 404
    assert "No such villager at this station" in response.content.decode()


def test_debug_404_page_off_brings_back_djangos_url_list(logged_in, settings):
    settings.DEBUG = True
    settings.DEBUG_404_PAGE = False

    response = logged_in.get("/no/such/page/")

    assert response.status_code == 404
    assert "URLconf" in response.content.decode()


def test_under_debug_a_url_missing_its_slash_is_still_redirected(logged_in, settings):
    settings.DEBUG = True

    response = logged_in.get("/orders")

    assert response.status_code == 301
    assert response["Location"] == "/orders/"


# --- 403 -------------------------------------------------------------------------------------------------------


def test_a_refusal_is_our_403_page(client, station_a):
    # a county manager is staff with no admin permission: the admin refuses (PermissionDenied)
    manager = CountyManagerFactory(user=UserFactory(username="carol", is_staff=True), county=station_a.village.county)
    client.force_login(manager.user)
    client.cookies.load(EN)

    response = client.get("/admin/orders/order/")

    assert response.status_code == 403
    body = in_the_layout(response, "403.html")
    assert "You may not open this page" in body


def test_a_csrf_failure_is_our_page(staff_a):
    client = english_client(enforce_csrf_checks=True)
    client.force_login(staff_a)

    response = client.post("/accounts/logout/")

    assert response.status_code == 403
    body = in_the_layout(response, "403_csrf.html")
    assert "The form has expired" in body
    assert client.session.get(SESSION_KEY)  # still logged in: the refused POST did nothing


# --- 500 -------------------------------------------------------------------------------------------------------


@pytest.mark.urls(__name__)
def test_a_server_error_is_our_500_page_with_debug_off(staff_a, settings):
    settings.DEBUG = False
    client = english_client(raise_request_exception=False)
    client.force_login(staff_a)

    response = client.get("/boom/")

    assert response.status_code == 500
    body = in_the_layout(response, "500.html")
    assert "Something went wrong on our side" in body
    assert "a bug" not in body
    assert "<form" not in body  # no request, no CSRF token: no forms


def test_the_500_page_renders_without_a_request_or_the_database():
    # no db fixture: pytest-django makes any query an error here
    body = loader.get_template("500.html").render()

    assert '<header class="top' in body
    assert 'href="/"' in body


# --- logging out ---------------------------------------------------------------------------------------------------


def test_get_logout_is_a_page_with_a_log_out_button(logged_in):
    response = logged_in.get("/accounts/logout/")

    assert response.status_code == 200
    body = in_the_layout(response, "registration/logout.html")
    assert '<form method="post" action="/accounts/logout/"' in body
    assert "csrfmiddlewaretoken" in body
    assert logged_in.session.get(SESSION_KEY)  # a GET does not log out


def test_the_log_out_button_logs_out(logged_in):
    response = logged_in.post("/accounts/logout/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not logged_in.session.get(SESSION_KEY)


def test_get_logout_when_logged_out_offers_to_log_in(db):
    response = english_client().get("/accounts/logout/")

    assert response.status_code == 200
    assert 'href="/accounts/login/"' in in_the_layout(response, "registration/logout.html")
