"""A photo of the lot, taken when listing (optional, one picture): re-encoded as a parcel's photo is (upright, at most
1280 px, no EXIF), stored privately, served only to the station that listed the lot and to its county's managers,
and shown small on the lot's page and the county's produce page."""

import io

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import ExifTags, Image

from logistics import photos
from produce import services
from produce.models import ProduceLot
from tests.factories import CountyManagerFactory, StationStaffFactory, UserFactory

RED, BLUE = (200, 30, 30), (30, 30, 200)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def english(client_a):
    client_a.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client_a


def jpeg(size=(3000, 2000)) -> bytes:
    """A phone's photo: left half red, right half blue, with the phone's model, a GPS position and orientation 6."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VillagePhone"
    exif[ExifTags.Base.Orientation] = 6
    position = exif.get_ifd(ExifTags.IFD.GPSInfo)
    position[ExifTags.GPS.GPSLatitudeRef] = "N"
    position[ExifTags.GPS.GPSLatitude] = (29.0, 36.0, 41.5)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def upload(data: bytes, name="eggs.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


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


def read(file) -> tuple[Image.Image, bytes]:
    with file.open("rb") as f:
        raw = f.read()
    return Image.open(io.BytesIO(raw)), raw


@pytest.fixture
def with_photo(english, villager_a, eggs) -> ProduceLot:
    assert english.post("/produce/new/", new_lot(villager_a, eggs, photo=upload(jpeg()))).status_code == 302
    return ProduceLot.objects.get()


def test_it_stores_the_listing_photo_upright_small_and_without_exif(with_photo, media_root):
    lot = with_photo
    assert lot.photo.name.startswith("produce-photos/") and lot.number not in lot.photo.name
    image, raw = read(lot.photo)
    assert image.format == "JPEG"
    assert image.size == (853, 1280)  # turned upright (portrait), at most 1280 px
    assert image.getpixel((426, 20)) == pytest.approx(RED, abs=12)  # the sensor's red left half is the top now
    assert dict(image.getexif()) == {} and "exif" not in image.info
    assert b"VillagePhone" not in raw and b"Exif" not in raw
    thumbnail, _raw = read(lot.photo_thumbnail)
    assert max(thumbnail.size) == photos.THUMB_SIDE and dict(thumbnail.getexif()) == {}
    assert (media_root / lot.photo.name).is_file()


def test_a_lot_is_listed_without_a_photo(english, villager_a, eggs):
    assert english.post("/produce/new/", new_lot(villager_a, eggs)).status_code == 302
    lot = ProduceLot.objects.get()
    assert not lot.photo and not lot.photo_thumbnail
    assert english.get(f"/produce-photos/{lot.number}/").status_code == 404
    assert "produce-photos" not in english.get(f"/produce/{lot.number}/").content.decode()


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (b"%PDF-1.4 not a picture", "eggs.jpg", "image/jpeg"),
        (b"GIF89a\x01\x00\x01\x00", "eggs.gif", "image/gif"),
        (jpeg()[:400], "cut.jpg", "image/jpeg"),  # a truncated upload
    ],
)
def test_a_file_that_is_not_a_photo_is_a_form_error_and_lists_nothing(
    english, villager_a, eggs, media_root, data, name, content_type
):
    answer = english.post("/produce/new/", new_lot(villager_a, eggs, photo=upload(data, name, content_type)))

    assert answer.status_code == 400
    assert "This file is not a photo we can read" in answer.content.decode()
    assert not ProduceLot.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.jpg"))


def test_the_station_and_its_county_see_the_photo_another_station_or_county_gets_a_404(
    with_photo, english, county_manager, station_b, staff_b, villager_a, station_a
):
    lot = with_photo
    full, thumbnail = f"/produce-photos/{lot.number}/", f"/produce-photos/{lot.number}/thumbnail/"

    answer = english.get(full)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert answer["Cache-Control"] == "private, max-age=86400"
    assert Image.open(io.BytesIO(b"".join(answer.streaming_content))).size == (853, 1280)
    assert english.get(thumbnail).status_code == 200
    # an assistant of the station too
    assistant = StationStaffFactory(user=UserFactory(), service_center=station_a, role="assistant").user
    other = Client()
    other.force_login(assistant)
    assert other.get(full).status_code == 200

    manager = Client()
    manager.force_login(county_manager)
    assert manager.get(full).status_code == 200 and manager.get(thumbnail).status_code == 200

    for outsider in (staff_b, CountyManagerFactory(user=UserFactory(), county=station_b.village.county).user):
        client = Client()
        client.force_login(outsider)
        assert client.get(full).status_code == 404
        assert client.get(thumbnail).status_code == 404
    assert Client().get(full).status_code == 302  # to the login page


def test_it_is_shown_small_on_the_lots_page_and_the_countys(with_photo, english, county_manager):
    lot = with_photo
    thumb = f'src="/produce-photos/{lot.number}/thumbnail/"'
    assert thumb in english.get(f"/produce/{lot.number}/").content.decode()
    manager = Client()
    manager.force_login(county_manager)
    assert thumb in manager.get("/county/produce/").content.decode()


def test_a_lot_that_is_not_listed_leaves_no_file(list_eggs, villager_b, media_root):
    processed = photos.process_photo(upload(jpeg()))
    with pytest.raises(services.ProduceError):
        list_eggs(villager=villager_b, photo=processed)  # not a villager of the station
    assert not media_root.exists() or not any(media_root.rglob("*.jpg"))

    lot = list_eggs(photo=processed)
    assert read(lot.photo)[0].size == (853, 1280)


def test_a_nul_in_the_number_is_a_404(english):
    assert english.get("/produce-photos/P%00/").status_code == 404
