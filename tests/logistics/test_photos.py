"""A photo of a missing or damaged parcel (issue #14): taken at receiving, stored small and clean, shown to the county only.

Real files made by Pillow in the test, posted through the receiving page, stored under a
temporary MEDIA_ROOT and read back with Pillow.
"""

import io

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import ExifTags, Image

from logistics import photos, services
from logistics.models import BatchStop, DeliveryBatch, ParcelPhoto
from orders.models import Order
from tests.factories import CountyManagerFactory, UserFactory

from .conftest import DAY, local

RED, BLUE = (200, 30, 30), (30, 30, 200)
NOT_A_PHOTO = "无法识别此文件为照片"  # the pages and messages are in Chinese first


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def jpeg(size=(4000, 3000), *, orientation: int | None = None, gps: bool = True) -> bytes:
    """A phone-like photo: left half red, right half blue, with a camera model and (optionally) a GPS position."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "VillagePhone"
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    if gps:
        position = exif.get_ifd(ExifTags.IFD.GPSInfo)
        position[ExifTags.GPS.GPSLatitudeRef] = "N"
        position[ExifTags.GPS.GPSLatitude] = (29.0, 36.0, 41.5)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


def png(size=(800, 600), mode="RGBA") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (0, 120, 0, 0) if mode == "RGBA" else 0).save(out, "PNG")
    return out.getvalue()


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def departed(warehouse_a, big_truck, confirm, station_a):
    """Two orders of station A on a run that left: (the stop, the good order, the broken order)."""
    good, broken = confirm(station_a), confirm(station_a)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    services.depart_batch(batch=DeliveryBatch.objects.get())
    return BatchStop.objects.get(), good, broken


def receive(client, stop, broken, photo, *, outcome="damaged", note="箱子压坏了"):
    parcel = broken.parcels.get()
    data = {f"parcel-{parcel.pk}": outcome, f"note-{parcel.pk}": note}
    if photo is not None:
        data[f"photo-{parcel.pk}"] = photo
    return client.post(f"/deliveries/{stop.pk}/receive/", data)


def stored(photo: ParcelPhoto, field="image") -> tuple[Image.Image, bytes]:
    with getattr(photo, field).open("rb") as f:
        raw = f.read()
    return Image.open(io.BytesIO(raw)), raw


# --- taking the photo at receiving -------------------------------------------------------------


def test_a_damaged_parcels_photo_is_stored_upright_at_most_1280_px_and_without_exif(client_a, staff_a, departed):
    stop, good, broken = departed

    # a 4000x3000 photo taken with the phone turned (EXIF orientation 6: rotate 90° clockwise to show)
    response = receive(client_a, stop, broken, upload(jpeg(orientation=6)))

    assert response.status_code == 302 and response["Location"] == "/deliveries/"
    photo = ParcelPhoto.objects.get()
    assert photo.parcel == broken.parcels.get()
    assert photo.taken_by == staff_a
    image, raw = stored(photo)
    assert image.format == "JPEG"
    assert image.size == (960, 1280) == (photo.width, photo.height)  # upright: portrait now
    assert photo.size_bytes == len(raw) < 200_000
    # turned as the camera was held: the red left half of the sensor is the top of the picture
    assert image.getpixel((480, 20)) == pytest.approx(RED, abs=12)
    assert image.getpixel((480, 1260)) == pytest.approx(BLUE, abs=12)
    # no EXIF at all: no position, no phone model
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert b"VillagePhone" not in raw and b"Exif" not in raw
    thumbnail, _ = stored(photo, "thumbnail")
    assert max(thumbnail.size) == photos.THUMB_SIDE and dict(thumbnail.getexif()) == {}
    # the receipt itself happened as without a photo
    broken.refresh_from_db()
    good.refresh_from_db()
    assert broken.status == Order.Status.EXCEPTION and good.status == Order.Status.AT_STATION


def test_a_transparent_png_is_stored_as_a_jpeg_on_white(client_a, departed):
    stop, _good, broken = departed

    receive(client_a, stop, broken, upload(png(), name="screen.png", content_type="image/png"))

    image, _raw = stored(ParcelPhoto.objects.get())
    assert image.format == "JPEG" and image.size == (800, 600)  # smaller than 1280: not enlarged
    assert image.getpixel((400, 300)) == pytest.approx((255, 255, 255), abs=3)


def test_receiving_without_a_photo_still_works(client_a, departed):
    stop, good, broken = departed

    response = receive(client_a, stop, broken, None, outcome="missing")

    assert response.status_code == 302
    stop.refresh_from_db()
    assert stop.status == BatchStop.Status.RECEIVED
    assert not ParcelPhoto.objects.exists()


def test_a_large_delivery_with_an_empty_file_input_per_parcel_is_received(client_a, departed):
    # a browser sends every file input, chosen or not (filename=""): 300 parcels' worth of empty ones.  Django
    # counts them as fields, so its limit of 100 files (DATA_UPLOAD_MAX_NUMBER_FILES) does not refuse the form.
    stop, good, broken = departed
    empty_inputs = "".join(
        f'--B\r\nContent-Disposition: form-data; name="photo-{n}"; filename=""\r\n'
        "Content-Type: application/octet-stream\r\n\r\n\r\n"
        for n in range(300)
    )

    response = client_a.post(
        f"/deliveries/{stop.pk}/receive/", empty_inputs + "--B--\r\n", content_type="multipart/form-data; boundary=B"
    )

    assert response.status_code == 302
    stop.refresh_from_db()
    assert stop.status == BatchStop.Status.RECEIVED


def test_a_photo_of_a_parcel_marked_received_is_not_kept(client_a, departed, media_root):
    stop, good, broken = departed

    response = receive(client_a, stop, broken, upload(jpeg()), outcome="delivered")

    assert response.status_code == 302
    assert not ParcelPhoto.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_a_photo_of_a_parcel_the_driver_reported_before_is_not_kept(client_a, departed, media_root):
    # given the driver reported the parcel missing while the truck was out (found by the stateful test)
    stop, good, broken = departed
    services.report_parcel_exception(parcel=broken.parcels.get(), kind="missing", note="司机报告")

    # when the station receives the stop and marks it damaged, with a photo
    response = receive(client_a, stop, broken, upload(jpeg()))

    # then the receipt goes through; the parcel stays as reported and keeps no photo of this receipt's
    assert response.status_code == 302
    assert broken.parcels.get().status == "missing"
    assert not ParcelPhoto.objects.exists()
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("invoice.pdf", b"%PDF-1.4 not a picture", NOT_A_PHOTO),
        ("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", NOT_A_PHOTO),
        ("cut.jpg", jpeg()[:3000], NOT_A_PHOTO),  # cut off on a slow link
        ("empty.jpg", b"", "照片是空的"),
    ],
    ids=["pdf", "svg", "truncated-jpeg", "empty"],
)
def test_a_file_that_is_not_a_photo_is_a_form_error_and_nothing_is_received(client_a, departed, name, data, message):
    stop, good, broken = departed

    response = receive(client_a, stop, broken, upload(data, name=name, content_type="application/octet-stream"))

    assert response.status_code == 200
    page = response.content.decode()
    assert message in page
    # the choices and the note as sent, for the partner to confirm again
    parcel = broken.parcels.get()
    assert '<option value="damaged" selected>' in page
    assert 'value="箱子压坏了"' in page
    assert f'id="photo-{parcel.pk}"' in page
    stop.refresh_from_db()
    broken.refresh_from_db()
    assert stop.status != BatchStop.Status.RECEIVED
    assert broken.status == Order.Status.IN_TRANSIT
    assert not ParcelPhoto.objects.exists()


def test_a_photo_over_the_size_limit_is_refused_before_it_is_read(client_a, departed, settings):
    settings.PARCEL_PHOTO_MAX_BYTES = 1024 * 1024
    stop, _good, broken = departed

    response = receive(client_a, stop, broken, upload(jpeg() + b"\0" * 1024 * 1024))

    assert response.status_code == 200
    assert "照片超过 1 MB" in response.content.decode()
    assert not ParcelPhoto.objects.exists()


@pytest.mark.parametrize("size", [(10_000, 10_000), (6_000, 5_000)], ids=["pillow-bomb-limit", "our-png-limit"])
def test_a_small_file_claiming_a_huge_picture_is_refused(size):
    # a 1-bit PNG of 100 (or 30) million pixels is a few kilobytes: decoded as RGB it would be hundreds of MB
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")

    with pytest.raises(photos.PhotoError, match=f"像素过多|{NOT_A_PHOTO}"):
        photos.process_photo(upload(out.getvalue(), name="bomb.png", content_type="image/png"))


def test_the_form_sent_twice_keeps_the_first_photo(client_a, departed):
    stop, _good, broken = departed
    receive(client_a, stop, broken, upload(jpeg(size=(1000, 800))))

    again = receive(client_a, stop, broken, upload(jpeg(size=(2000, 1000))))

    assert again.status_code == 302
    assert ParcelPhoto.objects.get().width == 1000


def test_the_receive_page_asks_for_the_camera(client_a, departed):
    stop, _good, broken = departed

    page = client_a.get(f"/deliveries/{stop.pk}/receive/").content.decode()

    assert 'enctype="multipart/form-data"' in page
    assert f'name="photo-{broken.parcels.get().pk}" type="file" accept="image/*" capture="environment"' in page


# --- who sees it ------------------------------------------------------------------------------


@pytest.fixture
def photo(client_a, departed) -> ParcelPhoto:
    stop, _good, broken = departed
    receive(client_a, stop, broken, upload(jpeg()))
    client_a.logout()
    return ParcelPhoto.objects.get()


def test_the_station_that_took_it_and_its_county_see_the_photo(client, photo, staff_a, county_manager, admin_user):
    for user in (staff_a, county_manager, admin_user):
        client.force_login(user)
        for url in (f"/parcel-photos/{photo.pk}/", f"/parcel-photos/{photo.pk}/thumbnail/"):
            response = client.get(url)

            assert response.status_code == 200, (user, url)
            assert response["Content-Type"] == "image/jpeg"
            assert "private" in response["Cache-Control"]
            assert Image.open(io.BytesIO(b"".join(response.streaming_content))).format == "JPEG"


def test_another_station_another_county_and_strangers_get_a_404(client, photo, staff_a2, staff_b, station_b):
    other_county = CountyManagerFactory(user=UserFactory(username="dora"), county=station_b.village.county).user
    nobody = UserFactory(username="nemo")
    for user in (staff_a2, staff_b, other_county, nobody):  # A2 is in the same county: still another station
        client.force_login(user)

        assert client.get(f"/parcel-photos/{photo.pk}/").status_code == 404, user
        assert client.get(f"/parcel-photos/{photo.pk}/thumbnail/").status_code == 404, user


def test_an_anonymous_visitor_is_sent_to_log_in(client, photo):
    response = client.get(f"/parcel-photos/{photo.pk}/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_photo_whose_file_is_gone_is_a_404_not_a_500(client, photo, county_manager):
    photo.image.storage.delete(photo.image.name)
    client.force_login(county_manager)

    assert client.get(f"/parcel-photos/{photo.pk}/").status_code == 404


def test_the_files_are_not_under_a_public_url(client, photo, county_manager):
    client.force_login(county_manager)

    assert client.get("/" + photo.image.name).status_code == 404
    assert client.get("/media/" + photo.image.name).status_code == 404


# --- the county's queue -----------------------------------------------------------------------------


def test_the_exception_queue_shows_the_photo(client, photo, county_manager):
    client.force_login(county_manager)

    page = client.get("/county/exceptions/").content.decode()

    assert f'href="/parcel-photos/{photo.pk}/"' in page
    assert f'src="/parcel-photos/{photo.pk}/thumbnail/"' in page


def test_the_exception_queue_costs_the_same_queries_with_photos(client, client_a, departed, county_manager):
    stop, _good, broken = departed
    receive(client_a, stop, broken, None)
    client.force_login(county_manager)
    client.get("/county/exceptions/")
    with CaptureQueriesContext(connection) as without_photo:
        client.get("/county/exceptions/")
    photos.attach_photo(parcel=broken.parcels.get(), photo=photos.process_photo(upload(jpeg())))

    with CaptureQueriesContext(connection) as with_photo:
        page = client.get("/county/exceptions/").content.decode()

    assert "/thumbnail/" in page
    assert len(with_photo) == len(without_photo)


def test_the_station_sees_its_photo_on_the_received_delivery(client_a, departed):
    stop, _good, broken = departed
    receive(client_a, stop, broken, upload(jpeg()))

    page = client_a.get(f"/deliveries/{stop.pk}/receive/").content.decode()

    assert f'src="/parcel-photos/{ParcelPhoto.objects.get().pk}/thumbnail/"' in page
