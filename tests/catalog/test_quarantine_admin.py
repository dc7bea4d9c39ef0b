"""Quarantine in the stock admin: shown, and emptied only through catalog.stock (released or written off, with a note)."""

import pytest
from django.urls import reverse

from catalog.models import Stock, StockMovement
from tests.factories import StockFactory

K = StockMovement.Kind


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def broken_pumps(fertilizer, warehouse_a):
    """20 on the shelf, 3 back from villages damaged and waiting for inspection."""
    return StockFactory(product=fertilizer, warehouse=warehouse_a, on_hand=20, quarantined=3)


def change_url(stock) -> str:
    return reverse("admin:catalog_stock_change", args=[stock.pk])


def levels(stock) -> tuple[int, int, int]:
    stock.refresh_from_db()
    return stock.on_hand, stock.reserved, stock.quarantined


def test_the_list_and_the_page_show_quarantined_units_without_an_input(admin_client, broken_pumps):
    listing = admin_client.get(reverse("admin:catalog_stock_changelist"), {"quarantine": "yes"})
    page = admin_client.get(change_url(broken_pumps)).content.decode()

    assert list(listing.context["cl"].queryset) == [broken_pumps]
    assert "column-quarantined" in listing.content.decode()
    assert 'name="quarantined"' not in page
    assert 'value="release"' in page and 'value="quarantine_write_off"' in page


def test_inspected_units_are_released_back_on_the_shelf_with_a_note(admin_client, broken_pumps, admin_user):
    response = admin_client.post(
        change_url(broken_pumps), {"operation": "release", "quantity": "2", "note": "检查完好"}
    )

    assert response.status_code == 302
    assert levels(broken_pumps) == (22, 0, 1)
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.quarantined_delta, movement.actor, movement.note) == (
        K.RELEASED_FROM_QUARANTINE,
        2,
        -2,
        admin_user,
        "检查完好",
    )


def test_units_that_cannot_be_sold_are_written_off_from_quarantine(admin_client, broken_pumps):
    response = admin_client.post(
        change_url(broken_pumps), {"operation": "quarantine_write_off", "quantity": "3", "note": "漏水"}
    )

    assert response.status_code == 302
    assert levels(broken_pumps) == (20, 0, 0)
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.quarantined_delta) == (
        K.WRITTEN_OFF_FROM_QUARANTINE,
        0,
        -3,
    )


@pytest.mark.parametrize(
    "data",
    [
        {"operation": "release", "quantity": "4", "note": "ok"},  # only 3 in quarantine
        {"operation": "quarantine_write_off", "quantity": "4", "note": "broken"},
        {"operation": "release", "quantity": "1", "note": ""},  # say what the inspection found
        {"operation": "quarantine_write_off", "quantity": "1", "note": "  "},
        {"operation": "release", "quantity": "0", "note": "ok"},
        {"operation": "release", "quantity": "-1", "note": "ok"},
    ],
)
def test_bad_quarantine_changes_are_form_errors(admin_client, broken_pumps, data):
    response = admin_client.post(change_url(broken_pumps), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert levels(broken_pumps) == (20, 0, 3)
    assert not StockMovement.objects.exists()


def test_a_release_checks_what_is_in_quarantine_now_not_what_the_page_showed(admin_client, broken_pumps):
    # given the page was read with 3 in quarantine, then 2 were written off elsewhere
    assert admin_client.get(change_url(broken_pumps)).status_code == 200
    Stock.objects.filter(pk=broken_pumps.pk).update(quarantined=1)

    response = admin_client.post(change_url(broken_pumps), {"operation": "release", "quantity": "3", "note": "ok"})

    assert response.status_code == 200
    assert "Only 1 unit is in quarantine" in response.content.decode()
    assert levels(broken_pumps) == (20, 0, 1)
    assert not StockMovement.objects.exists()
