"""The stock admin and its CSV import: on hand and reserved are never typed or imported, only moved by the services."""

import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from catalog import stock as stocks
from catalog.models import Stock, StockMovement
from tests.factories import ProductFactory

K = StockMovement.Kind


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def seeds_stock(warehouse_a, admin_user):
    seeds = ProductFactory(sku="SEED-RICE", name="杂交水稻种子 1kg")
    return stocks.receive_stock(product=seeds, warehouse=warehouse_a, quantity=5, actor=admin_user).stock


def levels(stock) -> tuple[int, int]:
    stock.refresh_from_db()
    return stock.on_hand, stock.reserved


def change_url(stock) -> str:
    return reverse("admin:catalog_stock_change", args=[stock.pk])


def as_typed(stock, *, on_hand: int) -> dict:
    """The fields a page that let people type stock had: a number for on hand, reserved as it was read (0)."""
    return {"product": stock.product_id, "warehouse": stock.warehouse_id, "on_hand": str(on_hand), "reserved": "0"}


# --- the stock page ---------------------------------------------------------------------------


def test_it_shows_on_hand_and_reserved_but_has_no_input_for_them(admin_client, fertilizer_stock):
    page = admin_client.get(change_url(fertilizer_stock)).content.decode()

    assert 'name="on_hand"' not in page
    assert 'name="reserved"' not in page
    assert 'name="operation"' in page
    assert 'name="quantity"' in page


def test_it_adds_to_what_is_on_hand_now_not_to_what_the_page_showed(admin_client, fertilizer_stock, admin_user):
    # given the page opened with 20 on hand, and then 10 more came in from the import
    admin_client.get(change_url(fertilizer_stock))
    stocks.receive_stock(
        product=fertilizer_stock.product, warehouse=fertilizer_stock.warehouse, quantity=10, actor=admin_user
    )

    # when the clerk, meaning to add 5, submits the page (an old form would type 25 into on hand)
    response = admin_client.post(
        change_url(fertilizer_stock),
        {**as_typed(fertilizer_stock, on_hand=25), "operation": "receive", "quantity": "5", "note": "truck 8"},
    )

    # then both receipts are there, and the clerk's is a movement in their name
    assert response.status_code == 302
    assert levels(fertilizer_stock) == (35, 0)
    movement = StockMovement.objects.latest("pk")
    assert (movement.kind, movement.on_hand_delta, movement.actor, movement.note) == (
        K.RECEIVED,
        5,
        admin_user,
        "truck 8",
    )


def test_it_never_writes_back_the_reserved_units_it_read(admin_client, fertilizer_stock, order_placed):
    # given an order holds 2 of the 20 and someone posts a page that says 0 reserved
    response = admin_client.post(
        change_url(fertilizer_stock),
        {**as_typed(fertilizer_stock, on_hand=18), "operation": "count", "quantity": "18", "note": "stock-take"},
    )

    assert response.status_code == 302
    assert levels(fertilizer_stock) == (18, 2)


def test_it_refuses_a_count_below_reserved_on_the_form(admin_client, fertilizer_stock, order_placed):
    response = admin_client.post(change_url(fertilizer_stock), {"operation": "count", "quantity": "1", "note": ""})

    assert response.status_code == 200
    assert "below the 2 units reserved" in response.content.decode()
    assert levels(fertilizer_stock) == (20, 2)
    assert not StockMovement.objects.filter(order__isnull=True).exists()  # only the placed order's reservation


@pytest.mark.parametrize(
    "data",
    [
        {"operation": "write_off", "quantity": "3", "note": ""},  # a write-off needs a reason
        {"operation": "receive", "quantity": "0", "note": ""},
        {"operation": "receive", "quantity": "-4", "note": ""},
        {"operation": "receive", "quantity": "1.5", "note": ""},
        {"operation": "receive", "quantity": "9" * 30, "note": ""},
        {"operation": "receive", "quantity": "", "note": ""},
        {"operation": "", "quantity": "4", "note": ""},  # a quantity of what?
        {"operation": "steal", "quantity": "4", "note": ""},
        {"operation": "receive", "quantity": "4", "note": "x" * 501},
        {"operation": "write_off", "quantity": "19", "note": "flood"},  # only 18 are free
    ],
)
def test_it_answers_bad_changes_with_form_errors(admin_client, fertilizer_stock, order_placed, data):
    response = admin_client.post(change_url(fertilizer_stock), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert levels(fertilizer_stock) == (20, 2)


def test_it_reports_a_refusal_under_the_row_lock_as_a_message(
    admin_client, fertilizer_stock, order_placed, monkeypatch
):
    # given the form's check passed on numbers that changed before the lock (as when an order reserves meanwhile)
    monkeypatch.setattr(stocks, "check_write_off", lambda **kwargs: None)

    response = admin_client.post(
        change_url(fertilizer_stock), {"operation": "write_off", "quantity": "19", "note": "flood"}, follow=True
    )

    assert response.status_code == 200
    assert "only 18 units are free" in response.content.decode()
    assert levels(fertilizer_stock) == (20, 2)
    assert not StockMovement.objects.filter(order__isnull=True).exists()  # only the placed order's reservation
    assert not LogEntry.objects.exists()


def test_it_adds_a_stock_row_as_its_first_receipt(admin_client, admin_user, warehouse_a):
    product = ProductFactory(sku="HOSE-9")

    response = admin_client.post(
        reverse("admin:catalog_stock_add"),
        {"product": product.pk, "warehouse": warehouse_a.pk, "quantity": "40", "note": "opening delivery"},
    )

    assert response.status_code == 302
    stock = Stock.objects.get(product=product, warehouse=warehouse_a)
    assert (stock.on_hand, stock.reserved) == (40, 0)
    assert list(StockMovement.objects.values_list("kind", "on_hand_delta", "actor")) == [
        (K.RECEIVED, 40, admin_user.pk)
    ]


def test_it_keeps_the_stock_rows_on_the_product_page_read_only(admin_client, fertilizer_stock):
    page = admin_client.get(reverse("admin:catalog_product_change", args=[fertilizer_stock.product_id]))

    body = page.content.decode()
    assert page.status_code == 200
    assert "stock-0-on_hand" not in body
    assert "stock-0-reserved" not in body
    assert change_url(fertilizer_stock) in body  # the row's own page, where it is changed


def test_it_does_not_delete_a_stock_row(admin_client, fertilizer_stock):
    response = admin_client.post(reverse("admin:catalog_stock_delete", args=[fertilizer_stock.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert Stock.objects.filter(pk=fertilizer_stock.pk).exists()


def test_it_lists_the_movements_of_a_row(admin_client, fertilizer_stock, seeds_stock):
    page = admin_client.get(change_url(seeds_stock)).content.decode()
    link = reverse("admin:catalog_stockmovement_changelist") + (
        f"?product__id__exact={seeds_stock.product_id}&amp;warehouse__id__exact={seeds_stock.warehouse_id}"
    )
    assert link in page

    listing = admin_client.get(link.replace("&amp;", "&"))

    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == list(StockMovement.objects.filter(product=seeds_stock.product))


# --- the import -------------------------------------------------------------------------------


def upload(client, text: str):
    """The first step of the admin import: the rolled-back preview."""
    return client.post(
        reverse("admin:catalog_stock_import"),
        {
            "resource": "0",
            "format": "0",  # CSV
            "import_file": SimpleUploadedFile("stock.csv", text.encode(), content_type="text/csv"),
        },
    )


def after(row_result, column: str) -> str:
    """A cell of the preview as it will be: the diff's inserted and unchanged text, without what it deletes."""
    headers = ["sku", "warehouse", "received", "counted", "note", "on_hand", "reserved"]
    cell = row_result.diff[headers.index(column)]
    return re.sub(r"<[^>]+>", "", re.sub(r"<del[^>]*>.*?</del>", "", cell))


def confirm(client, preview):
    form = preview.context["confirm_form"]
    return client.post(reverse("admin:catalog_stock_process_import"), {k: form.initial[k] for k in form.initial})


def test_it_imports_receipts_and_counts_through_the_services_after_a_preview(
    admin_client, admin_user, fertilizer_stock, seeds_stock
):
    text = "sku,warehouse,received,counted,note\nFERT-50,WH-A,10,,truck 7\nSEED-RICE,WH-A,,7,\n"

    # when the file is uploaded, the preview changes nothing
    preview = upload(admin_client, text)
    assert preview.status_code == 200
    assert "confirm_form" in preview.context
    assert (levels(fertilizer_stock), levels(seeds_stock)) == ((20, 0), (5, 0))
    assert [after(r, "on_hand") for r in preview.context["result"].rows] == ["30", "7"]

    # and once confirmed, each row went through its service
    response = confirm(admin_client, preview)
    assert response.status_code == 302
    assert (levels(fertilizer_stock), levels(seeds_stock)) == ((30, 0), (7, 0))
    recorded = StockMovement.objects.order_by("pk").values_list(
        "product__sku", "kind", "on_hand_delta", "actor", "note"
    )
    assert list(recorded)[-2:] == [
        ("FERT-50", K.RECEIVED, 10, admin_user.pk, "truck 7"),
        ("SEED-RICE", K.COUNTED, 2, admin_user.pk, "import of stock.csv"),
    ]


@pytest.mark.parametrize(
    "header",
    ["sku,warehouse,on_hand,reserved", "sku,warehouse,received,reserved", "sku,warehouse,counted,on_hand"],
)
def test_it_refuses_a_file_that_carries_reserved_or_on_hand(admin_client, fertilizer_stock, order_placed, header):
    preview = upload(admin_client, f"{header}\nFERT-50,WH-A,30,0\n")

    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    with translation.override("en"):
        assert "never imported" in preview.content.decode()
    assert levels(fertilizer_stock) == (20, 2)


@pytest.mark.parametrize(
    "text",
    [
        "sku,warehouse\nFERT-50,WH-A\n",  # neither received nor counted
        "sku,warehouse,received,counted\nFERT-50,WH-A,1,1\n",  # both in one row
        "sku,warehouse,received,counted\nFERT-50,WH-A,,\n",  # neither in one row
        "sku,warehouse,received\nFERT-50,WH-A,1.5\n",
        "sku,warehouse,received\nFERT-50,WH-A,abc\n",
        "sku,warehouse,received\nFERT-50,WH-A,-3\n",
        "sku,warehouse,received\nFERT-50,WH-A,0\n",
        "sku,warehouse,received\nFERT-50,WH-A,99999999999999999999\n",
        "sku,warehouse,received\nNO-SUCH-SKU,WH-A,3\n",
        "sku,warehouse,received\nFERT-50,NOWHERE,3\n",
        "sku,warehouse,counted\nFERT-50,WH-A,1\n",  # below the 2 reserved
        "sku,warehouse,received,note\nFERT-50,WH-A,1," + "x" * 501 + "\n",
        "\x00\x01\x02",
    ],
)
def test_it_previews_a_bad_file_with_errors_and_changes_nothing(admin_client, fertilizer_stock, order_placed, text):
    preview = upload(admin_client, text)

    assert preview.status_code == 200
    assert "confirm_form" not in preview.context
    assert levels(fertilizer_stock) == (20, 2)
    assert not StockMovement.objects.filter(order__isnull=True).exists()  # only the placed order's reservation


def test_it_imports_nothing_when_a_row_is_refused_at_confirmation(
    admin_client, fertilizer_stock, seeds_stock, place_at_a
):
    # given a preview of "receive 10 fertilizer, count 3 seeds" that passed
    preview = upload(admin_client, "sku,warehouse,received,counted\nFERT-50,WH-A,10,\nSEED-RICE,WH-A,,3\n")
    assert "confirm_form" in preview.context
    # and orders then reserve 4 of the 5 seeds
    place_at_a((seeds_stock.product, 4), notify=False)

    # when the import is confirmed
    response = confirm(admin_client, preview)

    # then the whole file is refused, with the reason, and the receipt of the other row is undone too
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalog_stock_import")
    page = admin_client.get(response["Location"]).content.decode()
    assert "Nothing was imported" in page
    assert "below the 4 units reserved" in page
    assert (levels(fertilizer_stock), levels(seeds_stock)) == ((20, 0), (5, 4))
    assert (
        StockMovement.objects.filter(order__isnull=True).count() == 1
    )  # the seeds' first receipt only (and the reservation)


def test_it_exports_the_stock_as_csv(admin_client, fertilizer_stock, order_placed):
    form = admin_client.get(reverse("admin:catalog_stock_export")).context["form"]
    checked = {name: "on" for name in form.fields if name.startswith("stockexportresource_")}

    response = admin_client.post(reverse("admin:catalog_stock_export"), {"format": "0", "resource": "0", **checked})

    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert lines[0] == "sku,warehouse,on_hand,reserved,available"
    assert lines[1] == "FERT-50,WH-A,20,2,18"
