"""Path converters for batch codes, parcel and pickup labels: a path that cannot name one is a 404 from the resolver.

A NUL byte (``%00``, which PostgreSQL refuses in a query) or a 10,000-character
code never reaches a view or the database.
"""

from django.urls import register_converter


class BatchCodeConverter:
    """``<route code>-<YYMMDD>-<4 letters>`` (``services._commit_batch``): a route code is a slug; at most 50 (``DeliveryBatch.code``)."""

    regex = "[-a-zA-Z0-9_]{1,50}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class ParcelLabelConverter:
    """``P<order number>``, ``-<n>`` for the order's n-th parcel: at most 40 (``Parcel.label``)."""

    regex = "P[-0-9A-Z]{1,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class PickupLabelConverter:
    """``B<goods id>`` (``L<lot id>`` for a produce lot), ``-<n>`` for its n-th pickup (``pickups.Goods.label``):
    at most 40 (``Pickup.label``)."""

    regex = "[BL][-0-9]{1,39}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(BatchCodeConverter, "batch_code")
register_converter(ParcelLabelConverter, "parcel_label")
register_converter(PickupLabelConverter, "pickup_label")
