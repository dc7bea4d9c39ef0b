"""The JSON of batch lists and manifests, built from ``.values()`` rows as plain dicts.

Byte for byte what ``BatchOutputSerializer`` and ``ManifestOutputSerializer``
produce (they stay the schema in ``serializers.py``; the tests compare the
two), without a model instance and a nested serializer per parcel: a manifest
of 1,000 parcels took 60 ms of Python that way, most of it in DRF field
machinery.

A manifest is cached rendered, with the ETag of its bytes, under a key that
holds the batch's row and its ``version`` (bumped by every service that
changes the batch, its stops, its parcels, its pickups or its orders'
installation appointments).  Edits that bypass the services
(a station's phone or a villager's name in the admin) show within
``MANIFEST_CACHE_SECONDS``.
"""

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.core.cache import cache
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from logistics import appointments
from logistics.models import BatchStop, Parcel, Pickup
from partners.phones import mask_name

MANIFEST_CACHE_SECONDS = 60
MANIFEST_FORMAT = 5  # bump when the manifest's JSON changes shape: old cache entries are then never read

_EXPONENT = {places: Decimal(1).scaleb(-places) for places in range(5)}


def _decimal(value: Decimal, places: int) -> str:
    """As DRF's DecimalField(decimal_places=places) renders it: fixed point, never an exponent."""
    return f"{value.quantize(_EXPONENT[places]):f}"


def _datetime(value: datetime | None, tz) -> str | None:
    """As DRF's DateTimeField renders an aware datetime: ISO 8601 in the current time zone, UTC as Z."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _str(value) -> str | None:
    return None if value is None else str(value)


def batch_json(row: dict, tz=None) -> dict:
    """One batch as BatchOutputSerializer renders it (``tz``: the current time zone, looked up once per page)."""
    tz = tz or timezone.get_current_timezone()
    weight, volume = row["total_weight_kg"], row["total_volume_m3"]
    capacity_kg, capacity_m3 = row["vehicle__capacity_kg"], row["vehicle__capacity_m3"]
    return {
        "code": row["code"],
        "status": row["status"],
        "dispatch_date": row["dispatch_date"].isoformat(),
        "warehouse": row["warehouse__code"],
        "route": row["route__code"],
        "vehicle": row["vehicle__plate"],
        "parcel_count": row["parcel_count"],
        "total_weight_kg": _decimal(weight, 3),
        "total_volume_m3": _decimal(volume, 4),
        # DeliveryBatch.load_percent, on the row's values
        "load_percent": round(max(weight / capacity_kg, volume / capacity_m3) * 100),
        "departed_at": _datetime(row["departed_at"], tz),
        "completed_at": _datetime(row["completed_at"], tz),
    }


def manifest_json(row: dict) -> dict:
    """The manifest of a batch (its row from ``BATCH_VALUES``), as ManifestOutputSerializer renders it: 3 queries,
    and one more for the appointments when the batch carries installation orders."""
    tz = timezone.get_current_timezone()
    parcels = defaultdict(list)
    homes = defaultdict(list)  # per stop: (parcel, order id, delivery method) of the goods going on to a house
    for stop_id, label, order_id, number, villager, weight, volume, status, delivery, address in (
        Parcel.objects.filter(batch_stop__batch_id=row["id"])
        .order_by("label")
        .values_list(
            "batch_stop_id",
            "label",
            "order_id",
            "order__number",
            "order__villager__name",
            "weight_kg",
            "volume_m3",
            "status",
            "order__delivery_method",
            "order__villager__address",
        )
        .iterator(chunk_size=2000)
    ):
        parcel = {
            "label": label,
            "order": number,
            "villager": mask_name(villager),
            "weight_kg": _decimal(weight, 3),
            "volume_m3": _decimal(volume, 4),
            "status": status,
            "delivery_method": delivery,
            "address": "" if delivery == "station_pickup" else address,
        }
        parcels[stop_id].append(parcel)
        if delivery != "station_pickup":
            homes[stop_id].append((parcel, order_id, delivery))
    # One query for all the batch's installation orders (none without them): the live appointment of each.
    booked = appointments.live_for(
        order_id for stop in homes.values() for _, order_id, delivery in stop if delivery == "home_installation"
    )
    pickups = defaultdict(list)
    for stop_id, label, lot, weight, volume, status in (
        Pickup.objects.filter(batch_stop__batch_id=row["id"])
        .order_by("label")
        .values_list("batch_stop_id", "label", "lot_number", "weight_kg", "volume_m3", "status")
        .iterator(chunk_size=2000)
    ):
        pickups[stop_id].append(
            {
                "label": label,
                "what": "produce" if lot else "goods",
                "lot": lot,
                "weight_kg": _decimal(weight, 3),
                "volume_m3": _decimal(volume, 4),
                "status": status,
            }
        )
    stops = [
        {
            "sequence": stop["sequence"],
            "status": stop["status"],
            "arrived_at": _datetime(stop["arrived_at"], tz),
            "received_at": _datetime(stop["received_at"], tz),
            "station": {
                "code": stop["service_center__code"],
                "name": stop["service_center__name"],
                "address": stop["service_center__address"],
                "phone": _str(stop["service_center__phone"]),
            },
            "parcels": parcels[stop["id"]],
            "pickups": pickups[stop["id"]],
            "home_deliveries": [
                {**parcel, "appointment": appointments.as_json(booked.get(order_id))}
                for parcel, order_id, _ in homes[stop["id"]]
            ],
        }
        for stop in BatchStop.objects.filter(batch_id=row["id"])
        .order_by("sequence")
        .values(
            "id",
            "sequence",
            "status",
            "arrived_at",
            "received_at",
            "service_center__code",
            "service_center__name",
            "service_center__address",
            "service_center__phone",
        )
    ]
    return {
        **batch_json(row, tz),
        "vehicle_detail": {
            "plate": row["vehicle__plate"],
            "capacity_kg": _decimal(row["vehicle__capacity_kg"], 1),
            "capacity_m3": _decimal(row["vehicle__capacity_m3"], 2),
        },
        "stops": stops,
    }


def _manifest_key(row: dict) -> str:
    # The whole batch row is in the key (a change to the batch itself needs no bump), and the version
    # covers its stops and parcels.  Hashed: cache keys have a length limit.
    identity = repr((MANIFEST_FORMAT, sorted(row.items()))).encode()
    return f"logistics:manifest:{row['id']}:{hashlib.sha256(identity).hexdigest()[:32]}"


def rendered_manifest(row: dict) -> tuple[str, bytes]:
    """(ETag, JSON bytes) of a batch's manifest: from the cache, or built, rendered and cached."""
    key = _manifest_key(row)
    cached = cache.get(key)
    if cached is None:
        body = JSONRenderer().render(manifest_json(row))
        cached = ('"' + hashlib.sha256(body).hexdigest()[:32] + '"', body)
        cache.set(key, cached, MANIFEST_CACHE_SECONDS)
    return cached


class RenderedJSONResponse(Response):
    """A response whose JSON was rendered beforehand (and cached).

    JSON without an ``indent`` parameter is sent as it is; any other rendering
    (the browsable API, ``Accept: application/json; indent=4``) renders the
    decoded data as usual.
    """

    def __init__(self, body: bytes, **kwargs):
        super().__init__(None, **kwargs)
        self.body = body

    @property
    def data(self):
        return None if self.body is None else json.loads(self.body)

    @data.setter
    def data(self, value):  # Response.__init__ assigns it
        pass

    @property
    def rendered_content(self):
        renderer = self.accepted_renderer
        if type(renderer) is JSONRenderer and renderer.get_indent(self.accepted_media_type, {}) is None:
            self["Content-Type"] = self.content_type or renderer.media_type
            return self.body
        return super().rendered_content
