"""Receiving a run in a real Chromium at 360 px: one parcel damaged, with a photo from the phone (issue #14).

The page fits the screen, its controls are at least 44 px tall, the photo goes up with the
form and comes back as the thumbnail on the received delivery (same-origin, so the CSP allows it).
"""

import io
import re
from datetime import time

import pytest
import time_machine
from PIL import Image

from logistics import services as dispatch
from logistics.models import BatchStop, DeliveryBatch, ParcelPhoto
from orders import services
from orders.models import Order
from tests.factories import RouteFactory, RouteStopFactory, VehicleFactory, VillagerFactory
from tests.logistics.conftest import DAY, local

from .conftest import PASSWORD, fits_the_screen, log_in, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def run_at_station_a(transactional_db, settings, tmp_path, staff_a, station_a, warehouse_a, fertilizer_stock):
    """Two orders of 里叶村服务站 on a run that left the warehouse; alice (its partner) can log in."""
    settings.MEDIA_ROOT = tmp_path / "media"
    staff_a.set_password(PASSWORD)
    staff_a.save()
    route = RouteFactory(warehouse=warehouse_a, cutoff_time=time(16, 0))
    RouteStopFactory(route=route, service_center=station_a, sequence=1)
    route.vehicles.add(VehicleFactory(warehouse=warehouse_a))
    villager = VillagerFactory(service_center=station_a)
    orders = []
    with time_machine.travel(local(DAY, 9), tick=False):
        for key in ("photo-1", "photo-2"):
            order = services.place_order(
                station=station_a,
                villager=villager,
                placed_by=staff_a,
                lines=[services.LineRequest(fertilizer_stock.product.sku, 1)],
                delivery_method="station_pickup",
                payment_method="cash_at_station",
                idempotency_key=key,
                notify=False,
            ).order
            orders.append(services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a))
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        dispatch.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    dispatch.depart_batch(batch=DeliveryBatch.objects.get())
    return BatchStop.objects.get(), orders


def test_a_partner_marks_a_parcel_damaged_with_a_photo_on_a_phone(phone, run_at_station_a, tmp_path):
    page = phone
    stop, (good, broken) = run_at_station_a
    parcel = broken.parcels.get()
    photo = tmp_path / "damaged.jpg"
    Image.new("RGB", (3000, 4000), (150, 90, 40)).save(photo, "JPEG")
    log_in(page, "alice")

    page.goto(f"/deliveries/{stop.pk}/receive/")
    shot(page, "receive-01-form-360")
    photo_input = page.locator(f"#photo-{parcel.pk}")
    assert not photo_input.is_visible()  # asked for only once the parcel is marked missing or damaged
    page.select_option(f"select[name=parcel-{parcel.pk}]", "damaged")
    assert photo_input.is_visible()
    shot(page, "receive-02-damaged-360")
    short = page.evaluate(
        """() => [...document.querySelectorAll('main form select, main form input:not([type=hidden]), main form button')]
              .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
              .map(e => e.name || e.id || e.tagName)"""
    )
    assert short == [], f"tap targets under 44 px: {short}"
    page.fill(f"input[name=note-{parcel.pk}]", "箱子压坏了")
    page.set_input_files(f"#photo-{parcel.pk}", str(photo))
    page.locator("main form button.primary").click()
    page.wait_for_url(re.compile(r"/deliveries/$"))

    stored = ParcelPhoto.objects.get()
    assert stored.parcel == parcel and (stored.width, stored.height) == (960, 1280)
    broken.refresh_from_db()
    assert broken.status == Order.Status.EXCEPTION
    page.goto(f"/deliveries/{stop.pk}/receive/")
    thumbnail = page.locator(f"img[src='/parcel-photos/{stored.pk}/thumbnail/']")
    thumbnail.wait_for()
    page.wait_for_function(
        "src => { const i = document.querySelector(`img[src='${src}']`); return i && i.complete && i.naturalWidth > 0; }",
        arg=f"/parcel-photos/{stored.pk}/thumbnail/",
    )
    assert Image.open(io.BytesIO(stored.thumbnail.read())).size == (180, 240)
    shot(page, "receive-03-received-with-photo-360")
    fits_the_screen(page)
