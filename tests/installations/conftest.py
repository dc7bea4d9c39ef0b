"""The orders fixtures the installation tests place with."""

from tests.orders.conftest import place_at_a  # noqa: F401 - a fixture
