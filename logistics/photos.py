"""Photos of missing or damaged parcels: read by Pillow, re-encoded small and clean, stored with the parcel.

An upload is never stored as it came.  Pillow must open it as a JPEG, PNG or
WebP; it is turned upright by its EXIF orientation, flattened onto white,
shrunk to at most ``MAX_SIDE`` px and written again as a JPEG on a fresh
canvas, so nothing of the original file (EXIF with GPS position and phone
model, XMP, comments, a payload appended after the image) reaches the disk.
A small thumbnail is written alongside for the county's queue.

``process_photo`` does the reading (before anything changes, so a bad file is
a form error and the delivery is not received); ``receive_stop_with_photos``
and ``attach_photo`` store the result.  The files are private: only
``views.parcel_photo`` serves them, to whoever may see the parcel.
"""

import io
import struct
import warnings
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from . import services
from .models import BatchStop, Parcel, ParcelPhoto

MAX_SIDE = 1280  # px, the longest side of the stored photo
THUMB_SIDE = 240  # px, the county queue's thumbnail
JPEG_QUALITY = 80
THUMB_QUALITY = 70
FORMATS = ("JPEG", "PNG", "WEBP")  # what phones and their browsers send; a JPEG with MPO frames opens as JPEG
# Pixels Pillow may decode.  A JPEG decodes at a fraction of its size (``draft``), so a 48 MP phone
# photo is cheap; a PNG or WebP decodes whole, so it gets less.  Larger is refused before decoding:
# a small file can claim a huge canvas (a decompression bomb).
MAX_PIXELS_JPEG = 64_000_000
MAX_PIXELS_OTHER = 24_000_000

# What Pillow's decoders raise on a malformed or hostile file: a form error, never a 500.
UNREADABLE = (
    OSError,  # UnidentifiedImageError, a truncated file
    ValueError,
    SyntaxError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ArithmeticError,
    MemoryError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,  # raised as an error below
)


class PhotoError(Exception):
    """An upload that is not a photo we keep; the text is for the user."""


@dataclass(frozen=True)
class ProcessedPhoto:
    image: bytes  # the JPEG to store
    thumbnail: bytes
    width: int
    height: int


def process_photo(upload) -> ProcessedPhoto:
    """Check ``upload`` (a Django UploadedFile or any file with ``size``) and make the JPEG and thumbnail to store.

    Raises ``PhotoError`` for anything that is not a readable JPEG, PNG or WebP of a sane size.
    """
    size = getattr(upload, "size", None) or 0
    if size <= 0:
        raise PhotoError(_("The photo is empty."))
    if size > settings.PARCEL_PHOTO_MAX_BYTES:
        raise PhotoError(
            _("The photo is larger than %(mb)s MB; take it again at a lower resolution.")
            % {"mb": settings.PARCEL_PHOTO_MAX_BYTES // (1024 * 1024)}
        )
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(upload, formats=FORMATS) as source:
                limit = MAX_PIXELS_JPEG if source.format in ("JPEG", "MPO") else MAX_PIXELS_OTHER
                if source.width * source.height > limit:
                    raise PhotoError(_("The photo has too many pixels; take it again at a lower resolution."))
                # A JPEG is decoded at the smallest scale (1/2, 1/4, 1/8) still larger than MAX_SIDE.
                source.draft("RGB", (MAX_SIDE, MAX_SIDE))
                upright = ImageOps.exif_transpose(source)  # a decoded copy, turned as the camera was held
        photo = _flat_rgb(upright)
        photo.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
        thumbnail = photo.copy()
        thumbnail.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
        return ProcessedPhoto(
            image=_jpeg(photo, JPEG_QUALITY),
            thumbnail=_jpeg(thumbnail, THUMB_QUALITY),
            width=photo.width,
            height=photo.height,
        )
    except PhotoError:
        raise
    except UNREADABLE:
        raise PhotoError(_("This file is not a photo we can read; send a JPEG, PNG or WebP picture.")) from None


def private_jpeg(file, *, filename: str) -> FileResponse:
    """A stored photo served to the one who may see it: kept by that browser, never by a shared cache (the file
    never changes under its URL).  A file gone from the storage is a 404."""
    try:
        handle = file.storage.open(file.name, "rb")
    except FileNotFoundError:
        raise Http404("The photo's file is missing") from None
    response = FileResponse(handle, content_type="image/jpeg", filename=filename)
    response["Cache-Control"] = "private, max-age=86400"
    return response


def _flat_rgb(image: Image.Image) -> Image.Image:
    """The picture in RGB on a new white canvas: transparency flattened, no metadata of the file carried over."""
    canvas = Image.new("RGB", image.size, "white")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        canvas.paste(rgba, mask=rgba.getchannel("A"))
    else:
        canvas.paste(image.convert("RGB"))
    return canvas


def _jpeg(image: Image.Image, quality: int) -> bytes:
    # No exif=, icc_profile= or comment=: the JPEG carries pixels only.
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


# --- storing ---------------------------------------------------------------------------------------


def receive_stop_with_photos(
    *, stop: BatchStop, actor, problems: dict[int, tuple[str, str]], photos: dict[int, ProcessedPhoto]
) -> BatchStop:
    """``services.receive_stop``, and the photos of the parcels it marked missing or damaged, in one transaction.

    ``photos`` is {parcel id: processed photo}; a photo of a parcel this receipt did not mark (received, or
    reported missing or damaged before) is dropped.
    A stop already received (the form sent twice) stores no photo: the first receipt decided.
    """
    written: list[str] = []
    try:
        with transaction.atomic():
            # Locked before receive_stop locks it again (the same row, the same order): whether this
            # call is the one that receives the stop cannot change under us.
            first_receipt = (
                BatchStop.objects.select_for_update().filter(pk=stop.pk).values_list("status", flat=True).get()
                != BatchStop.Status.RECEIVED
            )
            # Only the parcels this receipt marks keep a photo: one the driver reported before stays as reported.
            on_the_truck = set(
                Parcel.objects.filter(batch_stop=stop, pk__in=list(photos), status=Parcel.Status.LOADED).values_list(
                    "pk", flat=True
                )
            )
            stop = services.receive_stop(stop=stop, actor=actor, problems=problems)
            if first_receipt and on_the_truck:
                marked = Parcel.objects.filter(
                    batch_stop=stop, pk__in=on_the_truck, status__in=services.PROBLEM_KINDS
                ).order_by("pk")
                for parcel in marked:
                    _store(parcel, photos[parcel.pk], taken_by=actor, written=written)
    except BaseException:
        _delete(written)  # the rows rolled back: their files go too
        raise
    return stop


def attach_photo(*, parcel: Parcel, photo: ProcessedPhoto, taken_by=None) -> ParcelPhoto | None:
    """The photo of a parcel already reported missing or damaged (the logistics API); None if it has one already."""
    written: list[str] = []
    try:
        with transaction.atomic():
            parcel = Parcel.objects.select_for_update().get(pk=parcel.pk)
            if parcel.status not in services.PROBLEM_KINDS:
                raise services.DispatchError(
                    _("Parcel %(label)s is not missing or damaged: a photo is kept only of a problem.")
                    % {"label": parcel.label}
                )
            return _store(parcel, photo, taken_by=taken_by, written=written)
    except BaseException:
        _delete(written)
        raise


def _store(parcel: Parcel, photo: ProcessedPhoto, *, taken_by, written: list[str]) -> ParcelPhoto | None:
    """One photo per parcel: the first stays (the database says so), a second is dropped with its files."""
    if ParcelPhoto.objects.filter(parcel=parcel).exists():
        return None
    record = ParcelPhoto(
        parcel=parcel, taken_by=taken_by, width=photo.width, height=photo.height, size_bytes=len(photo.image)
    )
    record.image.save("photo.jpg", ContentFile(photo.image), save=False)
    written.append(record.image.name)
    record.thumbnail.save("thumb.jpg", ContentFile(photo.thumbnail), save=False)
    written.append(record.thumbnail.name)
    try:
        with transaction.atomic():  # a savepoint: a photo stored meanwhile by another request loses nothing else
            record.save()
    except IntegrityError:
        _delete(written[-2:])
        del written[-2:]
        return None
    return record


def _delete(names: list[str]) -> None:
    storage = ParcelPhoto._meta.get_field("image").storage
    for name in names:
        storage.delete(name)
