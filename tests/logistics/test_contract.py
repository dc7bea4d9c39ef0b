"""The published OpenAPI schema holds: schemathesis generates requests for every logistics operation.

Runs against the Django WSGI application in-process (the test database,
real views), at least 50 examples per operation, with schemathesis' default
checks: no server error, status codes, content types, headers and bodies as
the schema documents them.
"""

import pytest
import schemathesis
import time_machine
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings

from logistics import services
from logistics.clients import create_client
from ruralshop.wsgi import application

from .conftest import DAY, local


@pytest.fixture
def api_schema(db):
    # Calling the WSGI app directly fires request_finished, which would close
    # the test's database connection (Django's test client switches this off too).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schemathesis.openapi.from_wsgi("/api/schema/", application)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def logistics_key(warehouse_a, big_truck, confirm, station_a, station_a2):
    """A client with a real batch to find, so generated requests also reach the happy paths."""
    confirm(station_a, bags=2)
    confirm(station_a2)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    return create_client(name="契约测试物流", warehouse_codes=[warehouse_a.code])[1]


def test_the_logistics_api_keeps_its_contract(api_schema, logistics_key):
    # schemathesis' pytest plugin does not yet run under pytest 9, so each
    # operation's hypothesis strategy is driven here directly.
    headers = {"Authorization": f"Token {logistics_key}"}
    operations = [
        result.ok() for result in api_schema.include(path_regex=r"^/api/v1/(batches|parcels)").get_all_operations()
    ]
    assert len(operations) == 8

    for operation in operations:

        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def holds(case):
            cache.clear()  # the per-client throttle is in the contract, but not what this test is about
            case.call_and_validate(headers=headers)

        holds()


def test_the_schema_documents_errors_of_every_logistics_operation(api_schema):
    raw = api_schema.raw_schema
    for path, operations in raw["paths"].items():
        if not path.startswith(("/api/v1/batches", "/api/v1/parcels")):
            continue
        for method, operation in operations.items():
            assert {"401", "404", "429"} <= set(operation["responses"]), (method, path)


def test_the_station_api_keeps_its_contract(api_schema, staff_a, villager_a, fertilizer_stock):
    """The default checks but one: a well-formed order may name a villager or SKU this station does not have.

    Whether an id exists is not something a schema can say, so such a body is a
    documented 400, which schemathesis' positive_data_acceptance check would
    count against us.  Every other check applies.
    """
    from rest_framework.authtoken.models import Token
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    headers = {"Authorization": f"Token {Token.objects.create(user=staff_a).key}"}
    station_api = api_schema.include(path_regex=r"^/api/v1/(orders|catalog|villagers)")
    operations = [result.ok() for result in station_api.get_all_operations()]
    # list, place, detail; confirm, hand over, cancel, return; the catalog and villagers copies
    assert len(operations) == 9

    for operation in operations:

        @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def holds(case):
            case.call_and_validate(
                headers={**(case.headers or {}), **headers}, excluded_checks=[positive_data_acceptance]
            )

        holds()
