"""The county warehouse receives the goods its runs bring back: the pickups page, counting in, the manifest."""

import pytest
import time_machine

from catalog import stock as stocks
from catalog.models import StockMovement
from logistics import services
from logistics.models import DeliveryBatch, Parcel, Pickup
from orders.models import GoodsReturn, Order
from tests.factories import CountyManagerFactory, UserFactory

from .conftest import DAY, NEXT_DAY, local, stock_of

P = Pickup.Status
K = StockMovement.Kind


@pytest.fixture(autouse=True)
def ledgered(bag, warehouse_a):
    """The bags' stock row made by the factory, as an opening balance: the ledger then explains every unit."""
    stock = stock_of(bag, warehouse_a)
    StockMovement.objects.create(
        product=bag, warehouse=warehouse_a, kind=K.OPENING, on_hand_delta=stock.on_hand, reserved_delta=0
    )


@pytest.fixture
def manager(client, county_manager):
    client.force_login(county_manager)
    client.cookies["django_language"] = "en"  # refusals are matched on their English text
    return client


def receive_url(pickup) -> str:
    return f"/county/pickups/{pickup.label}/"


def counts(goods, sellable: int, damaged: int, note: str = "") -> dict:
    line = goods.lines.get()
    return {f"sellable-{line.pk}": str(sellable), f"damaged-{line.pk}": str(damaged), "note": note}


def test_the_county_counts_a_pickup_in_with_one_damaged_unit(manager, way_back, staff_a, bag, warehouse_a):
    # given the run left and station A handed the goods to the driver as it received its parcels
    pickup = way_back.depart_and_collect(staff_a)
    assert pickup.status == P.COLLECTED
    before = stock_of(bag, warehouse_a)
    listing = manager.get("/county/pickups/").content.decode()
    page = manager.get(receive_url(pickup))

    # when the warehouse counts 2 sellable and 1 damaged
    response = manager.post(receive_url(pickup), counts(way_back.goods, 2, 1, "一袋破了"))

    # then the goods are received, 2 back on the shelf, 1 in quarantine, each move recorded
    assert pickup.label in listing and way_back.batch.code in listing
    assert page.status_code == 200
    assert page.context["form"][f"sellable-{way_back.goods.lines.get().pk}"].initial == 3  # default: all sellable
    assert (response.status_code, response["Location"]) == (302, "/county/pickups/")
    after = stock_of(bag, warehouse_a)
    assert (after.on_hand - before.on_hand, after.quarantined - before.quarantined) == (2, 1)
    assert after.reserved == before.reserved
    moves = StockMovement.objects.filter(order=way_back.order, kind__in=[K.RETURNED, K.QUARANTINED])
    assert sorted(moves.values_list("kind", "on_hand_delta", "quarantined_delta")) == [
        (K.QUARANTINED, 0, 1),
        (K.RETURNED, 2, 0),
    ]
    assert set(moves.values_list("note", flat=True)) == {"一袋破了"}
    assert stocks.stock_mismatches() == []
    pickup.refresh_from_db()
    way_back.goods.refresh_from_db()
    line = way_back.goods.lines.get()
    assert (pickup.status, way_back.goods.status) == (P.RECEIVED, GoodsReturn.Status.RECEIVED)
    assert (line.sellable_quantity, line.damaged_quantity) == (2, 1)
    # received: off the list, and posting again changes nothing
    assert manager.get("/county/pickups/").context["runs"] == []
    assert manager.post(receive_url(pickup), counts(way_back.goods, 3, 0)).status_code == 302
    assert stock_of(bag, warehouse_a).on_hand == after.on_hand


def test_a_pickup_on_a_run_that_left_is_received_even_before_the_driver_reports_it(manager, way_back, bag, warehouse_a):
    services.depart_batch(batch=way_back.batch)
    assert way_back.pickup.label in manager.get("/county/pickups/").content.decode()

    response = manager.post(receive_url(way_back.pickup), counts(way_back.goods, 3, 0))

    assert response.status_code == 302
    way_back.pickup.refresh_from_db()
    assert (way_back.pickup.status, way_back.pickup.collected_at is not None) == (P.RECEIVED, True)
    assert stocks.stock_mismatches() == []


def test_the_scan_box_jumps_to_the_pickup_and_says_so_when_the_label_is_unknown(manager, way_back, staff_a):
    pickup = way_back.depart_and_collect(staff_a)

    found = manager.get("/county/pickups/", {"label": f"  {pickup.label.lower()} "})
    unknown = manager.get("/county/pickups/", {"label": "B999999"})
    junk = manager.get("/county/pickups/", {"label": "P123\x00"})

    assert (found.status_code, found["Location"]) == (302, receive_url(pickup))
    assert unknown.status_code == 200
    assert "B999999" in unknown.context["find"].errors["label"][0]
    assert (junk.status_code, bool(junk.context["find"].errors)) == (200, True)


@pytest.mark.parametrize(
    ("sellable", "damaged"),
    [("3", "1"), ("4", "0"), ("-1", "0"), ("x", "0"), ("1e309", "0"), (str(10**30), "0"), ("", "")],
)
def test_counts_beyond_the_quantity_or_not_numbers_are_a_form_error_and_change_nothing(
    manager, way_back, staff_a, bag, warehouse_a, sellable, damaged
):
    pickup = way_back.depart_and_collect(staff_a)
    before = stock_of(bag, warehouse_a)
    line = way_back.goods.lines.get()

    response = manager.post(receive_url(pickup), {f"sellable-{line.pk}": sellable, f"damaged-{line.pk}": damaged})

    assert response.status_code == 200
    assert response.context["form"].errors
    pickup.refresh_from_db()
    assert pickup.status == P.COLLECTED
    assert stock_of(bag, warehouse_a).on_hand == before.on_hand


def test_a_pickup_whose_run_has_not_left_cannot_be_received_yet(manager, way_back, bag, warehouse_a):
    before = stock_of(bag, warehouse_a)

    page = manager.get(receive_url(way_back.pickup))
    response = manager.post(receive_url(way_back.pickup), counts(way_back.goods, 3, 0))

    assert page.status_code == 200
    assert not page.context["receivable"]
    assert way_back.pickup.label not in manager.get("/county/pickups/").content.decode().split('id="waiting"')[0]
    assert response.status_code == 200
    assert "not on its way back" in str(response.context["form"].non_field_errors())
    way_back.pickup.refresh_from_db()
    assert way_back.pickup.status == P.PLANNED
    assert stock_of(bag, warehouse_a).on_hand == before.on_hand


def test_goods_still_at_the_stations_show_their_run_or_why_they_wait(manager, way_back):
    planned = manager.get("/county/pickups/").content.decode()

    services.cancel_batch(batch=way_back.batch)
    cancelled = manager.get("/county/pickups/").content.decode()

    assert way_back.order.number in planned
    assert way_back.batch.code in planned.split('id="waiting"')[1]  # planned on that run
    assert way_back.batch.code in cancelled.split('id="waiting"')[1]  # "run ... was cancelled"
    assert GoodsReturn.objects.get(pk=way_back.goods.pk).waiting_reason


def test_a_damaged_parcels_goods_are_counted_damaged_by_default(
    manager, warehouse_a, big_truck, confirm, station_a, staff_a, bag
):
    order = confirm(station_a, bags=2)
    with time_machine.travel(local(DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=DAY)
    first = services.depart_batch(batch=DeliveryBatch.objects.get())
    services.report_parcel_exception(parcel=Parcel.objects.get(order=order), kind="damaged", note="压坏")
    services.receive_stop(stop=first.stops.get(), actor=staff_a, notify=False)
    confirm(station_a, at=local(NEXT_DAY, 9))
    with time_machine.travel(local(NEXT_DAY, 16, 1), tick=False):
        services.plan_dispatch(warehouse=warehouse_a, dispatch_date=NEXT_DAY)
    batch = services.depart_batch(batch=DeliveryBatch.objects.get(dispatch_date=NEXT_DAY))
    services.receive_stop(stop=batch.stops.get(), actor=staff_a, notify=False)
    pickup = Pickup.objects.get()
    before = stock_of(bag, warehouse_a)
    line = pickup.goods_return.lines.get()

    page = manager.get(receive_url(pickup))
    response = manager.post(receive_url(pickup), {f"sellable-{line.pk}": "0", f"damaged-{line.pk}": "2", "note": ""})

    assert page.context["form"][f"damaged-{line.pk}"].initial == 2
    assert page.context["form"][f"sellable-{line.pk}"].initial == 0
    assert response.status_code == 302
    after = stock_of(bag, warehouse_a)
    assert (after.on_hand - before.on_hand, after.quarantined - before.quarantined) == (0, 2)
    assert Order.objects.get(pk=order.pk).status == Order.Status.EXCEPTION  # the county still decides the order
    assert stocks.stock_mismatches() == []


def test_another_county_and_station_staff_do_not_see_the_pickups(
    client, client_a, way_back, staff_a, station_b, bag, warehouse_a
):
    pickup = way_back.depart_and_collect(staff_a)
    other = CountyManagerFactory(user=UserFactory(username="erin"), county=station_b.village.county).user
    before = stock_of(bag, warehouse_a)

    assert client_a.get("/county/pickups/").status_code == 404
    assert client_a.get(receive_url(pickup)).status_code == 404
    assert client_a.post(receive_url(pickup), counts(way_back.goods, 3, 0)).status_code == 404
    client.force_login(other)
    listing = client.get("/county/pickups/")
    assert listing.status_code == 200
    assert pickup.label not in listing.content.decode()
    assert client.get("/county/pickups/", {"label": pickup.label}).status_code == 200  # not found: a form error
    assert client.get(receive_url(pickup)).status_code == 404
    assert client.post(receive_url(pickup), counts(way_back.goods, 3, 0)).status_code == 404
    pickup.refresh_from_db()
    assert pickup.status == P.COLLECTED
    assert stock_of(bag, warehouse_a).on_hand == before.on_hand


def test_the_manifest_and_its_csv_list_each_stops_pickups(manager, way_back):
    page = manager.get(f"/county/batches/{way_back.batch.code}/manifest/").content.decode()
    csv = manager.get(f"/county/batches/{way_back.batch.code}/manifest.csv").content.decode("utf-8-sig")

    assert way_back.pickup.label in page
    rows = [line.split(",") for line in csv.splitlines()]
    assert rows[0][-1] == "kind"
    [pickup_row] = [r for r in rows if r[3] == way_back.pickup.label]
    assert (pickup_row[4], pickup_row[-2], pickup_row[-1]) == (way_back.order.number, "planned", "pickup")
    assert way_back.order.villager.name not in csv


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_manifest_csv_header_is_the_same_english_in_every_language(manager, way_back, settings, language):
    # the logistics company's systems read it: a contract, unlike the partners' CSVs, not translated
    manager.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    csv = manager.get(f"/county/batches/{way_back.batch.code}/manifest.csv").content.decode("utf-8-sig")

    assert csv.splitlines()[0] == (
        "stop,station,address,label,order,villager,weight_kg,volume_m3,delivery_method,home_address,status,kind"
    )


def test_the_workspace_counts_the_goods_coming_back_and_links_the_page(manager, way_back, staff_a):
    waiting = manager.get("/county/").context["returns"]
    way_back.depart_and_collect(staff_a)
    page = manager.get("/county/")

    assert waiting == {"goods_on_the_way": 0, "goods_waiting": 1}
    assert page.context["returns"] == {"goods_on_the_way": 1, "goods_waiting": 0}
    assert 'href="/county/pickups/"' in page.content.decode()
