"""Deployment security: `check --deploy` is clean, every HTML page carries its security headers, no inline code.

The deploy check runs in a fresh interpreter with production settings, since
settings are read once per process.
"""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

ROOT = Path(__file__).resolve().parents[2]

# What a deployment behind a TLS-terminating proxy sets (README, "Settings").
TLS_ENV = {
    "BEHIND_TLS_PROXY": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
}
# The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process: a deployment never has it.
_NOT_INHERITED = {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def check_deploy(tmp_path, **environ) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED and not k.startswith(("SECURE_", "BEHIND_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "ruralshop.settings",
            "RURALSHOP_VAR_DIR": str(tmp_path),
            "RURALSHOP_ENV": "production",
            "SECRET_KEY": secrets.token_urlsafe(50),  # 67 random characters
            "ALLOWED_HOSTS": "shop.example.org",
        }
    )
    env.update(environ)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_behind_a_tls_proxy_passes_check_deploy_without_a_warning(tmp_path):
    result = check_deploy(tmp_path, **TLS_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_with_nothing_said_about_https_fails_check_deploy(tmp_path):
    """An unset variable never hides a warning: the deployer has to decide about HTTPS and HSTS."""
    result = check_deploy(tmp_path)

    assert result.returncode != 0
    assert "security.W004" in result.stderr  # no HSTS
    assert "security.W008" in result.stderr  # no HTTPS redirect


def test_a_plain_http_lan_deployment_silences_exactly_what_it_opted_out_of(tmp_path):
    result = check_deploy(tmp_path, SECURE_SSL_REDIRECT="false", SECURE_HSTS_SECONDS="0")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "(2 silenced)" in result.stdout


def test_a_weak_secret_key_fails_check_deploy(tmp_path):
    result = check_deploy(tmp_path, SECRET_KEY="x" * 50, **TLS_ENV)

    assert result.returncode != 0
    assert "security.W009" in result.stderr


# --- Headers on the pages ----------------------------------------------------------------------

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
}


def csp_directives(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] for d in (p.strip() for p in header.split(";")) if d}


def assert_security_headers(response) -> None:
    directives = csp_directives(response)
    for name, value in EXPECTED_CSP.items():
        assert directives.get(name) == value, (name, directives)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_the_login_page_carries_every_security_header(client):
    response = client.get(reverse("login"))

    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["dashboard", "order-create", "villager-list", "order-list"])
def test_partner_pages_carry_every_security_header(client, staff_a, name):
    client.force_login(staff_a)

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_the_api_docs_carry_the_same_policy_and_load_their_script_from_a_url(client, admin_user):
    client.force_login(admin_user)

    page = client.get(reverse("api-docs"))
    script = client.get(reverse("api-docs") + "?script")

    assert page.status_code == 200
    assert_security_headers(page)
    html = page.content.decode()
    assert "<style" not in html
    assert all(m.group(1) for m in re.finditer(r"<script([^>]*)>", html)), "an inline <script> on /api/docs/"
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")


@pytest.mark.django_db
def test_a_404_page_carries_the_policy_too(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Content-Security-Policy" in response.headers


# --- No inline code in our templates -----------------------------------------------------------

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"<style\b", re.I), "a <style> block"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an on*= handler"),
    (re.compile(r"\sstyle\s*=", re.I), "a style= attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on", re.I), "an hx-on handler (evaluated as inline script)"),
]


def test_our_templates_have_no_inline_script_or_style():
    found = []
    for template in sorted((ROOT / "templates").rglob("*.html")):
        text = template.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{template.relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)


@pytest.mark.django_db
def test_behind_a_tls_proxy_plain_http_is_redirected_except_the_healthcheck(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    plain = client.get(reverse("login"))
    through_the_proxy = client.get(reverse("login"), headers={"X-Forwarded-Proto": "https"})
    health = client.get(reverse("healthz"))

    assert plain.status_code == 301 and plain["Location"].startswith("https://")
    assert through_the_proxy.status_code == 200
    assert health.status_code != 301
