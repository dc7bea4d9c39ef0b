"""Station A with fertilizer in stock (168.00 a bag) and the order fixtures of the orders tests."""

import pytest
from django.utils import translation

from tests.orders.conftest import deliver, order_placed, place_at_a  # noqa: F401 - fixtures used by name


@pytest.fixture(autouse=True)
def in_english(client):
    client.cookies["django_language"] = "en"  # refusals matched on their English text
    with translation.override("en"):
        yield
