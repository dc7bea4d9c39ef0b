"""Login brute-force protection: 5 failures lock one username from one address for 15 minutes."""

from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory

PASSWORD = "correct horse battery"  # noqa: S105
LOCKED = "Too many failed log-in attempts"


@pytest.fixture
def partner(db):
    user = UserFactory(username="partner")
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def admin(db):
    user = UserFactory(username="root", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def client(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switch; Chinese is the default
    return client


def log_in(client, username, password, *, ip="10.0.0.1", url=None, **headers):
    return client.post(url or reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def fail(client, username, times, **kwargs):
    return [log_in(client, username, "wrong", **kwargs) for _ in range(times)]


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def test_it_locks_a_username_from_one_address_after_five_failures(client, partner):
    # given
    first_four = fail(client, "partner", 4)
    assert all(r.status_code == 200 and LOCKED not in r.content.decode() for r in first_four)

    # when: the fifth failure, then the right password
    fail(client, "partner", 1)
    response = log_in(client, "partner", PASSWORD)

    # then: refused on the login page, with why and for how long, not a bare error page
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page and "15 minutes" in page
    assert 'name="password"' in page  # it is the login form again
    assert "_auth_user_id" not in client.session


def test_it_shows_the_lockout_in_chinese(client, partner, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    fail(client, "partner", 5)
    response = log_in(client, "partner", PASSWORD)
    assert response.status_code == 429
    assert "15 分钟" in response.content.decode()


def test_it_lets_the_same_username_in_from_another_address(client, partner):
    fail(client, "partner", 5, ip="10.0.0.1")
    assert logged_in(log_in(client, "partner", PASSWORD, ip="10.0.0.2"))


def test_it_lets_another_username_in_from_the_same_address(client, partner):
    # two stations behind one village NAT: a typo storm at one does not lock out the other
    neighbour = UserFactory(username="neighbour")
    neighbour.set_password(PASSWORD)
    neighbour.save()
    fail(client, "partner", 5, ip="10.0.0.1")
    assert logged_in(log_in(client, "neighbour", PASSWORD, ip="10.0.0.1"))


def test_it_ignores_a_forged_x_forwarded_for(client, partner, settings):
    # given no proxy is configured, a new X-Forwarded-For on every attempt...
    assert settings.TRUSTED_PROXY_COUNT == 0
    for n in range(5):
        log_in(client, "partner", "wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")

    # ...does not make a new address: the count went on and the account is locked
    response = log_in(client, "partner", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "10.0.0.1"


def test_it_trusts_only_what_our_own_proxy_appended(client, partner, settings):
    # given one proxy in front: it appends the address it saw; anything left of that is the client's word
    settings.TRUSTED_PROXY_COUNT = 1
    for n in range(5):
        log_in(client, "partner", "wrong", ip="192.168.0.10", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7")
    response = log_in(client, "partner", PASSWORD, ip="192.168.0.10", HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.7")
    assert response.status_code == 429
    assert AccessAttempt.objects.get().ip_address == "198.51.100.7"
    # another client behind the same proxy is someone else
    assert logged_in(log_in(client, "partner", PASSWORD, ip="192.168.0.10", HTTP_X_FORWARDED_FOR="198.51.100.8"))


def test_it_lets_the_user_in_after_the_cool_off(client, partner):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fail(client, "partner", 5)
        assert log_in(client, "partner", PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert log_in(client, "partner", PASSWORD).status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert logged_in(log_in(client, "partner", PASSWORD))


def test_it_forgets_failures_after_a_successful_log_in(client, partner):
    fail(client, "partner", 4)
    assert logged_in(log_in(client, "partner", PASSWORD))
    client.logout()
    fail(client, "partner", 4)
    assert logged_in(log_in(client, "partner", PASSWORD))


def test_it_locks_the_admin_log_in_too(client, admin):
    url = reverse("admin:login")
    for _ in range(5):
        log_in(client, "root", "wrong", url=url)
    response = log_in(client, "root", PASSWORD, url=url)
    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_lets_an_admin_unlock_a_user(client, partner, admin):
    # given partner is locked out
    fail(client, "partner", 5)
    assert log_in(client, "partner", PASSWORD).status_code == 429

    # when an admin deletes the lockout in the admin (axes' access attempts)
    client.force_login(admin)
    attempt = AccessAttempt.objects.get(username="partner")
    changelist = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert changelist.status_code == 200
    response = client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert response.status_code == 302
    client.logout()

    # then partner logs in again
    assert logged_in(log_in(client, "partner", PASSWORD))
