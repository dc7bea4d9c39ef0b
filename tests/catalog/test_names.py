"""The words a county types in Chinese (categories, product units, produce kinds and their grades) in the page's
language: English when the partner reads English and the county kept an English name, Chinese otherwise."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from catalog.models import Category, Product, unit_label
from produce import services as produce
from produce.forms import LotForm
from produce.models import ProduceKind
from tests.factories import CategoryFactory, ProductFactory, StockFactory, WarehouseFactory
from tests.order_steps import sold
from tests.orders.conftest import place


def in_language(client: Client, language: str) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def fertilizers(db):
    return CategoryFactory(name="化肥", name_en="Fertilizer", slug="fertilizer")


@pytest.fixture
def untranslated(db):
    """A category the county has not named in English."""
    return CategoryFactory(name="农具", slug="farm-tools")


@pytest.fixture
def urea(fertilizers, untranslated, station_a):
    """A bag of urea in stock at station A's county warehouse."""
    warehouse = WarehouseFactory(county=station_a.village.county, code="WH-A")
    product = ProductFactory(sku="UREA-50", name="尿素 50kg", category=fertilizers, unit=Product.Unit.BAG)
    StockFactory(product=product, warehouse=warehouse, on_hand=20)
    return product


@pytest.fixture
def eggs(station_a):
    return ProduceKind.objects.create(
        county=station_a.village.county,
        name="土鸡蛋",
        name_en="Free-range eggs",
        unit=ProduceKind.Unit.PIECE,
        grades="特级,一级",
        grades_en="Premium,Grade 1",
    )


@pytest.fixture
def lot(eggs, station_a, villager_a, staff_a):
    return produce.list_lot(
        station=station_a,
        villager=villager_a,
        kind=eggs,
        quantity="300",
        grade="特级",
        price_asked="0.90",
        ready_on=timezone.localdate(),
        actor=staff_a,
    )


# --- the new-order page -------------------------------------------------------------------------------------


def test_it_shows_the_categories_and_units_in_english_on_the_new_order_page(client_a, urea, untranslated):
    in_language(client_a, "en")

    form = client_a.get("/orders/new/").content.decode()
    results = client_a.get("/orders/new/products/", {"category": "fertilizer"}).content.decode()

    assert ">Fertilizer</button>" in form and ">化肥</button>" not in form
    assert ">农具</button>" in form  # no English name kept: the Chinese one
    assert "/bag" in results and "/袋" not in results


def test_it_shows_the_categories_and_units_in_chinese_on_the_new_order_page(client_a, urea):
    in_language(client_a, "zh-hans")

    form = client_a.get("/orders/new/").content.decode()
    results = client_a.get("/orders/new/products/", {"category": "fertilizer"}).content.decode()

    assert ">化肥</button>" in form and "Fertilizer" not in form
    assert "/袋" in results and "/bag" not in results


def test_it_finds_a_product_by_its_category_english_name(client_a, urea):
    in_language(client_a, "en")

    results = client_a.get("/orders/new/products/", {"q": "fertilizer"}).content.decode()

    assert "尿素 50kg" in results


def test_it_finds_products_by_a_category_english_name_given_later(client_a, urea, untranslated):
    # given a product of a category with no English name
    hoe = ProductFactory(sku="HOE-1", name="锄头", category=untranslated, unit=Product.Unit.ITEM)
    # when the county names the category in English
    untranslated.name_en = "Farm tools"
    untranslated.save()

    # then the product's search text has it
    hoe.refresh_from_db()
    assert "farm tools" in hoe.search_text


# --- the order's pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "shown", "hidden"), [("en", "/bag", "/袋"), ("zh-hans", "/袋", "/bag")])
def test_it_shows_the_unit_in_the_page_language_on_the_order_page(
    client_a, station_a, villager_a, staff_a, urea, language, shown, hidden
):
    order = place(station_a, villager_a, staff_a, urea)
    in_language(client_a, language)

    page = client_a.get(f"/orders/{order.number}/").content.decode()
    receipt = client_a.get(f"/orders/{order.number}/receipt/").content.decode()

    assert shown in page and hidden not in page
    assert shown in receipt and hidden not in receipt


# --- what sells ---------------------------------------------------------------------------------------------


def test_it_shows_the_categories_and_units_in_english_on_the_insights_page(client_a, station_a, villager_a, urea):
    sold(station_a, villager_a, {urea: 3}, on=timezone.localdate() - timedelta(days=5))
    in_language(client_a, "en")

    page = client_a.get("/insights/").content.decode()

    assert ">Fertilizer</option>" in page and "Villagers who bought Fertilizer" in page
    assert "3 bag" in page
    assert "化肥" not in page and "3 袋" not in page


def test_it_shows_the_categories_and_units_in_chinese_on_the_insights_page(client_a, station_a, villager_a, urea):
    sold(station_a, villager_a, {urea: 3}, on=timezone.localdate() - timedelta(days=5))
    in_language(client_a, "zh-hans")

    page = client_a.get("/insights/").content.decode()

    assert ">化肥</option>" in page and "3 袋" in page
    assert "Fertilizer" not in page


# --- produce ----------------------------------------------------------------------------------------------


def test_it_shows_the_kind_and_its_grade_in_english_on_the_lot_page(client_a, lot):
    in_language(client_a, "en")

    page = client_a.get(f"/produce/{lot.number}/").content.decode()
    listed = client_a.get("/produce/").content.decode()

    assert "Free-range eggs" in page and "300 piece" in page and "Premium" in page
    assert "土鸡蛋" not in page and "特级" not in page
    assert "Free-range eggs" in listed


def test_it_shows_the_kind_and_its_grade_in_chinese_on_the_lot_page(client_a, lot):
    in_language(client_a, "zh-hans")

    page = client_a.get(f"/produce/{lot.number}/").content.decode()

    assert "土鸡蛋" in page and "特级" in page
    assert "Free-range eggs" not in page and "Premium" not in page


def test_the_county_buys_by_the_grade_it_sees_in_english(county_manager, lot):
    manager = in_language(Client(), "en")
    manager.force_login(county_manager)

    listed = manager.get("/county/produce/").content.decode()
    produce.accept_lot(lot=lot, price="0.80", actor=county_manager)
    accepted = manager.get("/county/produce/").content.decode()

    assert "<h2>Free-range eggs" in listed and "· Premium</strong>" in listed
    assert '<option value="特级" selected>Premium</option><option value="一级">Grade 1</option>' in accepted


def test_a_grade_typed_in_english_is_stored_as_the_county_keeps_it(station_a, villager_a, eggs):
    with translation.override("en"):
        form = LotForm(
            {
                "villager": villager_a.pk,
                "kind": eggs.pk,
                "quantity": "30",
                "grade": "grade 1",
                "price_asked": "1.20",
                "ready_on": timezone.localdate().isoformat(),
            },
            station=station_a,
        )

        assert form.is_valid(), form.errors
        assert form.cleaned_data["grade"] == "一级"
        assert "Free-range eggs (piece)" in str(form["kind"])


def test_a_kind_with_no_english_names_is_shown_in_chinese_in_english(eggs):
    # given a kind the county has not named in English
    ProduceKind.objects.filter(pk=eggs.pk).update(name_en="", grades_en="")
    eggs.refresh_from_db()

    with translation.override("en"):
        assert eggs.display_name == "土鸡蛋" and str(eggs) == "土鸡蛋"
        assert eggs.grade_choices() == [("特级", "特级"), ("一级", "一级")]


def test_a_grade_with_no_english_at_its_place_is_shown_in_chinese(eggs):
    eggs.grades_en = "Premium"  # one English grade for two

    with translation.override("en"):
        assert eggs.grade_choices() == [("特级", "Premium"), ("一级", "一级")]
        assert eggs.grade_label("三级") == "三级"  # no longer one of the kind's


# --- the models --------------------------------------------------------------------------------------------


def test_a_category_falls_back_to_its_chinese_name(fertilizers, untranslated):
    with translation.override("en"):
        assert fertilizers.display_name == "Fertilizer" and str(fertilizers) == "Fertilizer"
        assert untranslated.display_name == "农具"
    with translation.override("zh-hans"):
        assert fertilizers.display_name == "化肥" and str(fertilizers) == "化肥"


def test_a_unit_outside_the_list_is_shown_as_stored():
    with translation.override("en"):
        assert unit_label("袋") == "bag" and unit_label("公斤") == "kg"
        assert unit_label("坛") == "坛"  # typed before the list, kept as it was
    with translation.override("zh-hans"):
        assert unit_label(Product.Unit.UNIT) == "台"


def test_every_unit_the_demo_catalog_sells_is_in_the_list():
    from catalog import demo

    assert {row[3] for row in demo.BASE_PRODUCTS} <= set(Product.Unit.values)
    assert Product._meta.get_field("unit").default == "件"


def test_the_offline_counter_copy_keeps_the_unit_and_category_as_stored(station_a, urea):
    from orders import selectors

    with translation.override("en"):
        copy = selectors.catalog_copy(station_a, at=timezone.now())

    assert [(row["category"], row["unit"]) for row in copy] == [("化肥", "袋")]


# --- the demo ---------------------------------------------------------------------------------------------


def test_the_demo_names_in_english_what_it_seeded_before_in_chinese_only(db):
    from catalog import demo as catalog_demo
    from produce import demo as produce_demo
    from tests.factories import CountyFactory

    # given a category and a kind seeded before they had English names
    CategoryFactory(slug="fertilizer", name="化肥")
    county = CountyFactory()
    ProduceKind.objects.create(county=county, name="土鸡蛋", unit=ProduceKind.Unit.PIECE)

    # when the demo is seeded again
    catalog_demo.seed_catalog()
    produce_demo.seed_kinds()

    # then they have them, and a product of the category is found by it
    assert Category.objects.get(slug="fertilizer").name_en == "Fertilizer"
    assert "fertilizer" in Product.objects.get(sku="FER-0001").search_text
    assert not Category.objects.filter(name_en="").exists()
    eggs = ProduceKind.objects.get(county=county, name="土鸡蛋")
    assert (eggs.name_en, eggs.grades_en) == ("Free-range eggs", "Grade 1,Grade 2")
    assert not ProduceKind.objects.filter(name_en="").exists()
