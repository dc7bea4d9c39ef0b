"""Sessions on shared PCs: idle timeout, and "log out everywhere" from the user menu and the admin."""

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse

from accounts.models import UserSession
from accounts.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


def logged_in(user) -> Client:
    """A browser of its own, logged in through the login form (a real session, as a station PC has)."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def is_logged_in(client: Client) -> bool:
    response = client.get(reverse("dashboard"))
    return response.status_code == 200


def test_a_session_ends_after_idle_hours_and_when_the_browser_closes():
    assert settings.SESSION_COOKIE_AGE == 8 * 3600
    assert settings.SESSION_SAVE_EVERY_REQUEST is True  # idle time, not time since login
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True


def test_a_session_row_knows_its_user(staff_a):
    client = logged_in(staff_a)

    session = UserSession.objects.get(session_key=client.session.session_key)
    assert session.user == staff_a
    assert session.get_decoded()[SESSION_KEY] == str(staff_a.pk)


def test_log_out_everywhere_ends_every_session_of_the_user_and_no_one_elses(staff_a, staff_b):
    shop_pc, phone = logged_in(staff_a), logged_in(staff_a)
    other_station = logged_in(staff_b)
    assert is_logged_in(shop_pc) and is_logged_in(phone) and is_logged_in(other_station)

    response = phone.post(reverse("logout-everywhere"), follow=True)

    assert response.redirect_chain[-1][0] == reverse("login")
    assert "2" in str(list(response.context["messages"])[0])  # both of alice's sessions ended
    assert not is_logged_in(phone)
    assert not is_logged_in(shop_pc)
    assert is_logged_in(other_station)
    assert not UserSession.objects.filter(user=staff_a).exists()


def test_log_out_everywhere_is_a_post_with_a_csrf_token(staff_a):
    client = logged_in(staff_a)
    assert client.get(reverse("logout-everywhere")).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies

    assert strict.post(reverse("logout-everywhere")).status_code == 403
    assert is_logged_in(client)


def test_the_button_is_in_the_user_menu_of_the_partner_pages(staff_a):
    client = logged_in(staff_a)

    html = client.get(reverse("dashboard")).content.decode()

    assert f'action="{reverse("logout-everywhere")}" method="post"' in html
    assert "退出所有设备" in html  # "Log out everywhere", in Chinese by default


def test_a_cycled_session_key_keeps_its_user_so_it_can_still_be_ended(staff_a):
    """Django cycles the key on a password change (update_session_auth_hash); the new row must still be alice's."""
    store = SessionStore()
    store[SESSION_KEY] = str(staff_a.pk)
    store.create()
    old_key = store.session_key

    store.cycle_key()

    assert store.session_key != old_key
    assert UserSession.objects.get(session_key=store.session_key).user == staff_a
    assert not UserSession.objects.filter(session_key=old_key).exists()


def test_the_admin_action_logs_the_selected_users_out_everywhere(admin_user, staff_a, staff_b):
    alice_pc, alice_phone, bob = logged_in(staff_a), logged_in(staff_a), logged_in(staff_b)
    admin = Client()
    admin.force_login(admin_user)

    response = admin.post(
        reverse("admin:auth_user_changelist"),
        {"action": "log_out_everywhere", "_selected_action": [staff_a.pk]},
        follow=True,
    )

    assert response.status_code == 200
    assert "2" in str(list(response.context["messages"])[0])
    assert not is_logged_in(alice_pc)
    assert not is_logged_in(alice_phone)
    assert is_logged_in(bob)
    assert admin.get(reverse("admin:index")).status_code == 200  # the admin's own session survives


def test_a_user_without_a_station_can_log_out_everywhere_too(db):
    user = UserFactory(username="nobody")
    client = logged_in(user)

    client.post(reverse("logout-everywhere"))

    assert not UserSession.objects.filter(user=user).exists()
