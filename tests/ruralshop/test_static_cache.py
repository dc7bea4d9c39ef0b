"""Static files are cached for good under hashed names (ruralshop/static_storage.py).

A partner's phone on a slow link loads the style sheet and scripts once; every later page asks for
none of them.  The files are collected into a folder of the test's own with the storage production
and ``make run`` use, then served by WhiteNoise through the real middleware.
"""

import re

import pytest
from django.core.management import call_command
from django.test import override_settings

HASHED = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "ruralshop.static_storage.HashedStaticFilesStorage"},
}
ASSET = re.compile(r'<(?:script[^>]+src|link[^>]+href)="(/static/[^"]+)"')
FOREVER = "max-age=315360000, public, immutable"


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    with override_settings(STORAGES=HASHED, STATIC_ROOT=folder):
        call_command("collectstatic", "--noinput", verbosity=0)
        yield folder


@pytest.mark.parametrize("debug", [False, True], ids=["production", "make-run"])
def test_a_page_names_its_files_by_their_hash_and_they_are_kept_for_good(collected, client_a, settings, debug):
    settings.DEBUG = debug  # make run serves with DEBUG: the names keep their hash there too
    page = client_a.get("/")
    assets = ASSET.findall(page.content.decode())
    assert any(url.endswith(".css") for url in assets) and any(url.endswith(".js") for url in assets)
    for url in assets:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", url), f"{url} carries no content hash"
        response = client_a.get(url, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200, url
        assert response["Cache-Control"] == FOREVER, url
        b"".join(response.streaming_content)
        response.close()


def test_a_file_under_its_plain_name_is_kept_only_a_minute(collected, client_a):
    response = client_a.get("/static/ruralshop/app.css")
    assert response.status_code == 200
    assert response["Cache-Control"] == "max-age=60, public"  # may change between releases
    b"".join(response.streaming_content)
    response.close()


def test_a_file_added_since_the_last_collection_is_served_under_its_plain_name(collected, settings):
    from django.templatetags.static import static

    settings.DEBUG = True
    assert static("ruralshop/not-collected-yet.css") == "/static/ruralshop/not-collected-yet.css"
    assert re.fullmatch(r"/static/ruralshop/app\.[0-9a-f]{12}\.css", static("ruralshop/app.css"))
