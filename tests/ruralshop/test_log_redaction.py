"""No full phone number and no API key in the logs or error reports, through a whole order's life.

The flow runs in-process with every logger at DEBUG (SQL included, whose
parameters hold the phone numbers), pytest's ``caplog``, the configured
handlers' own output and the error e-mails captured, and everything is scanned.
The same flow without the filter proves the scan finds what it looks for.
"""

import io
import logging
import re
import sys
from datetime import date, datetime, time
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.views.debug import ExceptionReporter
from rest_framework.test import APIClient

from logistics import services as dispatch
from logistics.clients import create_client
from logistics.models import BatchStop, DeliveryBatch
from notifications import services as notifications
from notifications.models import Notification
from notifications.tasks import send_notification
from orders.models import Order
from partners.models import Villager
from ruralshop.celery import app as celery_app
from ruralshop.logfilters import RedactFilter, RedactingExceptionReporter, redact
from tests.factories import ProductFactory, RouteFactory, RouteStopFactory, StockFactory, VehicleFactory

PHONE = "13912340000"
STAFF_PHONE = "15800001111"  # typed as a username on the login page
DAY = date(2026, 11, 24)
SHANGHAI = ZoneInfo("Asia/Shanghai")
PHONE_ANYWHERE = re.compile(r"(?:(?<!\d)|(?<=86))1[3-9]\d{9}(?!\d)")


@celery_app.task(name="tests.text_a_villager")
def text_a_villager(phone: str) -> str:
    raise ValueError(f"gateway refused {phone}")


def at(hour: int) -> datetime:
    return datetime.combine(DAY, time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def captured(caplog, settings):
    """Every log record (caplog), what the configured handlers write, and the error e-mails."""
    settings.ADMINS = [("ops", "ops@example.com")]
    caplog.set_level(logging.DEBUG)
    for name in ("django", "django.db.backends", "django.request", "celery", "axes", "ruralshop"):
        caplog.set_level(logging.DEBUG, logger=name)
    streams = []
    for logger in (logging.getLogger(), logging.getLogger("django.server")):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                if type(handler).__module__.startswith("_pytest"):
                    continue
                buffer = io.StringIO()
                streams.append((handler, handler.setStream(buffer), buffer))
    connection.force_debug_cursor = True  # SQL logged as with DEBUG=True: the parameters hold phone numbers
    try:
        yield lambda: "\n".join(
            [caplog.text]
            + [record.getMessage() for record in caplog.records]
            + [buffer.getvalue() for _, _, buffer in streams]
            + [f"{m.subject}\n{m.body}" for m in mail.outbox]
        )
    finally:
        connection.force_debug_cursor = False
        for handler, original, _ in streams:
            handler.setStream(original)


@pytest.fixture
def without_redaction():
    """The control: the same configuration with the filter and the redacting reporter taken out."""
    removed = []
    for logger in [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]:
        for handler in logger.handlers:
            for f in [f for f in handler.filters if isinstance(f, RedactFilter)]:
                handler.removeFilter(f)
                removed.append((handler, f))
            if getattr(handler, "reporter_class", None) is RedactingExceptionReporter:
                handler.reporter_class = ExceptionReporter
                removed.append((handler, None))
    yield
    for handler, f in removed:
        if f is None:
            handler.reporter_class = RedactingExceptionReporter
        else:
            handler.filters.insert(0, f)


def run_the_whole_flow(*, station, staff, warehouse) -> str:
    """Register, place, confirm, plan, depart and arrive (API with a key), receive, SMS, hand over; errors."""
    product = ProductFactory(sku="FERT-50", name="复合肥 50kg", price=Decimal("168.00"), weight_kg=Decimal("50"))
    StockFactory(product=product, warehouse=warehouse, on_hand=20)
    route = RouteFactory(warehouse=warehouse, code="JD-R1", cutoff_time=time(16, 0))
    RouteStopFactory(route=route, service_center=station, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse, capacity_kg=Decimal("1000"), capacity_m3=Decimal("8")))
    _, key = create_client(name="顺丰县域", warehouse_codes=[warehouse.code])

    traveller = time_machine.travel(at(9), tick=False)
    clock = traveller.start()
    try:
        return _flow(station=station, staff=staff, warehouse=warehouse, key=key, clock=clock)
    finally:
        traveller.stop()


def _flow(*, station, staff, warehouse, key, clock) -> str:
    partner = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    partner.force_login(staff)
    # 9:00, before the route's cutoff
    # a villager registered with a phone, found by it
    response = partner.post("/villagers/new/", {"name": "陈桂兰", "phone": PHONE, "sms_consent": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert response.url.startswith("/villagers/"), response.url
    villager = Villager.objects.get(name="陈桂兰")
    assert partner.get(f"/villagers/?q={PHONE}").status_code == 200

    # placed through the station API and confirmed at the counter
    api = APIClient()
    api.force_login(staff)
    body = {
        "villager": villager.pk,
        "lines": [{"sku": "FERT-50", "quantity": 1}],
        "delivery_method": "station_pickup",
        "payment_method": "cash_at_station",
        "notes": f"call {PHONE} before",
    }
    response = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="flow-1")
    assert response.status_code == 201, response.content
    order = Order.objects.get()
    assert partner.post(f"/orders/{order.number}/confirm/", {"consent_code": order.consent_code}).status_code == 302

    clock.move_to(at(16) + (at(17) - at(16)) / 60)  # 16:01, after the cutoff
    dispatch.plan_dispatch(warehouse=warehouse, dispatch_date=DAY)
    batch = DeliveryBatch.objects.get()

    # the logistics company, with its key (and once with a wrong one)
    logistics = APIClient()
    logistics.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert logistics.get("/api/v1/batches/").status_code == 200
    assert logistics.post(f"/api/v1/batches/{batch.code}/depart/").status_code == 200
    assert logistics.post(f"/api/v1/batches/{batch.code}/stops/1/arrive/").status_code == 200
    assert logistics.get(f"/api/v1/batches/{batch.code}/nope/?api_key={key}").status_code == 404
    intruder = APIClient()
    intruder.credentials(HTTP_AUTHORIZATION=f"Token {key[:9]}{'x' * 32}")
    assert intruder.get("/api/v1/batches/").status_code == 401

    # received at the station: the villager is texted (console backend, through the task)
    stop = BatchStop.objects.get()
    assert partner.post(f"/deliveries/{stop.pk}/receive/").status_code == 302
    for notification in Notification.objects.filter(status=Notification.Status.PENDING):
        send_notification.apply(args=[notification.pk])
    assert Notification.objects.filter(status=Notification.Status.SENT).exists()
    notifications.logger.info("resent to %s", PHONE)  # as a careless log line would
    text_a_villager.apply(args=[PHONE])  # a failing task: Celery logs its arguments and the exception

    # handed over against the pickup code
    order.refresh_from_db()
    response = partner.post(f"/orders/{order.number}/hand-over/", {"pickup_code": order.pickup_code})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.status == Order.Status.COLLECTED

    # a phone number typed as a username, until the lockout
    stranger = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(6):
        stranger.post("/accounts/login/", {"username": STAFF_PHONE, "password": "wrong"})

    # a 404 with the phone in the path, and a 500 whose exception names the phone and the key
    assert partner.get(f"/villagers/{PHONE}/").status_code == 404

    def explode(station, pk):
        raise RuntimeError(f"SMS gateway refused {PHONE} (Authorization: Token {key})")

    with mock.patch("partners.views.selectors.get_villager_of_station", side_effect=explode):
        assert partner.get(f"/villagers/{villager.pk}/?phone={PHONE}").status_code == 500
    return key


def findings(text: str, key: str) -> list[str]:
    secret = key.partition(".")[2]
    return PHONE_ANYWHERE.findall(text) + ([secret] if secret in text else [])


@pytest.mark.django_db(transaction=True)
def test_it_keeps_phone_numbers_and_keys_out_of_every_log(captured, station_a, staff_a, warehouse_a):
    key = run_the_whole_flow(station=station_a, staff=staff_a, warehouse=warehouse_a)

    text = captured()
    assert len(text) > 10_000  # the flow really logged (SQL, requests, tasks, SMS, the error report)
    assert "139****0000" in text  # masked, not dropped
    assert mail.outbox and "Traceback" in mail.outbox[-1].body
    assert findings(text, key) == []


@pytest.mark.django_db(transaction=True)
def test_the_scan_finds_them_without_the_filter(captured, without_redaction, station_a, staff_a, warehouse_a):
    key = run_the_whole_flow(station=station_a, staff=staff_a, warehouse=warehouse_a)

    found = findings(captured(), key)
    assert PHONE in found
    assert key.partition(".")[2] in found


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("SMS to 13812345678", "SMS to 138****5678"),
        ("+8613812345678 and 0086 138 1234 5678", "138****5678 and 138****5678"),
        ("order RS2026112313812345678", "order RS2026112313812345678"),  # not a phone: part of a longer number
        ("Authorization: Token abcdEFGH.0123456789abcdef0123456789ABCDEF", "Authorization: Token [redacted]"),
        ("key abcdEFGH.0123456789abcdef0123456789ABCDEF used", "key abcdEFGH.[redacted] used"),
        ("'HTTP_X_API_KEY': 'Api-Key s3cr3tvalue1'", "'HTTP_X_API_KEY': 'Api-Key [redacted]'"),
        ("GET /x/?api_key=s3cr3t&page=2", "GET /x/?api_key=[redacted]&page=2"),
        ("Bearer eyJhbGciOi.JIUzI1NiJ9", "Bearer [redacted]"),
    ],
)
def test_it_redacts(raw, clean):
    assert redact(raw) == clean


def test_every_configured_handler_redacts():
    """A handler added to LOGGING without the filter would log around it."""
    unfiltered = []
    for name, logger in [("root", logging.getLogger())] + list(logging.Logger.manager.loggerDict.items()):
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, logging.NullHandler) or type(handler).__module__.startswith("_pytest"):
                continue
            if not any(isinstance(f, RedactFilter) for f in handler.filters):
                unfiltered.append((name, handler))
    assert unfiltered == []


def test_it_redacts_arguments_and_exceptions_of_a_record():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "texting %s with %r", (PHONE, {"p": PHONE}), None)
    try:
        raise ValueError(f"no route to {PHONE}")
    except ValueError:
        record.exc_info = sys.exc_info()

    assert RedactFilter().filter(record) is True
    out = logging.Formatter().format(record)
    assert PHONE not in out and "139****0000" in out
    assert "ValueError: no route to 139****0000" in out
