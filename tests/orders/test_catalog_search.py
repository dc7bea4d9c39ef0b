"""The new-order page's catalog search: names, SKUs, categories and sellers, in Chinese and in pinyin."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import CaptureQueriesContext

from catalog import demo
from catalog.models import Category, Product
from orders import selectors
from tests.factories import CategoryFactory, ProductFactory, SellerFactory, StockFactory


def found(query: str, **kwargs) -> list[str]:
    return [p.sku for p in selectors.catalog(warehouse_id=None, query=query, **kwargs)]


@pytest.fixture
def fertilizers(db):
    return CategoryFactory(name="化肥", slug="fertilizer", position=0)


@pytest.fixture
def stanley(db):
    return SellerFactory(name="史丹利农业集团")


@pytest.fixture
def urea(fertilizers, stanley):
    return ProductFactory(sku="UREA-50", name="尿素 50kg", category=fertilizers, seller=stanley)


@pytest.fixture
def tv(db):
    appliances = CategoryFactory(name="家电", slug="appliances", position=5)
    return ProductFactory(sku="TV-43", name="长虹 43寸电视", category=appliances, seller=SellerFactory(name="长虹电器"))


def test_it_finds_a_product_by_its_category_name(urea, tv):
    assert found("化肥") == ["UREA-50"]


def test_it_finds_a_product_by_its_parent_categorys_name(fertilizers, stanley, tv):
    compound = CategoryFactory(name="复合肥", slug="compound", parent=fertilizers)
    ProductFactory(sku="NPK-1", name="15-15-15 50kg", category=compound, seller=stanley)

    assert found("化肥") == ["NPK-1"]


def test_it_finds_a_product_by_its_sellers_name(urea, tv):
    assert found("史丹利") == ["UREA-50"]
    assert found("长虹电器") == ["TV-43"]


@pytest.mark.parametrize("query", ["hf", "HF", "huafei", "niaosu", "sdl"])
def test_it_finds_a_product_by_pinyin_initials_or_full_pinyin(urea, tv, query):
    assert found(query) == ["UREA-50"]


def test_it_finds_a_product_by_part_of_its_sku_in_any_case(urea, tv):
    assert found("urea") == ["UREA-50"]
    assert found("tv-43") == ["TV-43"]


def test_every_word_of_the_query_must_match(urea, tv, fertilizers, stanley):
    ProductFactory(sku="DAP-50", name="磷酸二铵 50kg", category=fertilizers, seller=stanley)

    assert sorted(found("化肥 50kg")) == ["DAP-50", "UREA-50"]
    assert found("化肥 尿素") == ["UREA-50"]
    assert found("化肥 电视") == []


def test_the_best_matches_come_first(fertilizers, stanley):
    # given: one product for each kind of match of "尿素"
    ProductFactory(sku="ZZZ-1", name="高效肥 (尿素 配方)", category=fertilizers, seller=stanley)  # name contains
    ProductFactory(sku="ZZZ-2", name="尿素 50kg", category=fertilizers, seller=stanley)  # name starts with
    by_category = CategoryFactory(name="尿素类", slug="urea-like", position=0)
    ProductFactory(sku="AAA-1", name="甲肥", category=by_category, seller=stanley)  # category only
    ProductFactory(sku="尿素", name="特价 硫酸钾", category=fertilizers, seller=stanley)  # the exact SKU

    # when / then
    assert found("尿素") == ["尿素", "ZZZ-2", "ZZZ-1", "AAA-1"]


def test_it_keeps_the_category_filter(urea, tv):
    assert found("", category=urea.category) == ["UREA-50"]
    assert found("长虹", category=urea.category) == []


def test_renaming_a_category_or_its_parent_or_a_seller_updates_the_search(urea, fertilizers, stanley):
    child = CategoryFactory(name="氮肥", slug="nitrogen", parent=fertilizers)
    urea.category = child
    urea.save()

    fertilizers.name = "肥料"
    fertilizers.save()
    assert found("化肥") == []
    assert found("肥料") == found("feiliao") == ["UREA-50"]

    child.name = "尿素类"
    child.save()
    assert found("氮肥") == []
    assert found("nsl") == ["UREA-50"]

    stanley.name = "金正大"
    stanley.save()
    assert found("史丹利") == []
    assert found("jzd") == ["UREA-50"]


def test_renaming_a_product_updates_the_search(urea):
    urea.name = "硫酸钾 50kg"
    urea.save()

    assert found("尿素") == []
    assert found("lsj") == ["UREA-50"]


def test_the_data_migration_fills_products_saved_before_it(urea, tv):
    # given: rows as they were before the field existed
    Product.objects.update(search_text="")
    assert found("hf") == []
    migration = importlib.import_module("orders.migrations.0004_product_search_text")
    # The models as the migration saw them (Product was in orders then); the same tables.
    apps = MigrationExecutor(connection).loader.project_state(("orders", "0004_product_search_text")).apps

    # when
    migration.fill_search_text(apps, None)

    # then
    assert found("hf") == ["UREA-50"]
    assert found("changhong") == ["TV-43"]


def test_the_demo_catalogs_18_fertilizers_are_found_by_their_category(db):
    demo.seed_catalog()
    fertilizers = Category.objects.get(slug="fertilizer")
    assert fertilizers.name == "化肥" and fertilizers.products.count() == 18

    assert len(found("化肥")) == 18
    assert set(found("hf")) >= set(fertilizers.products.values_list("sku", flat=True))


# --- the search endpoint of the order form ------------------------------------------------


def test_the_product_search_finds_fertilizers_by_hf(client_a, urea, tv, warehouse_a):
    StockFactory(product=urea, warehouse=warehouse_a, on_hand=7)

    page = client_a.get("/orders/new/products/", {"q": "hf"}, HTTP_HX_REQUEST="true").content.decode()

    assert "尿素 50kg" in page
    assert "长虹" not in page


def test_the_product_search_costs_the_same_queries_for_3_or_15_results(client_a, fertilizers, stanley, warehouse_a):
    def add_products(start: int, stop: int) -> None:
        for n in range(start, stop):
            product = ProductFactory(sku=f"F-{n}", name=f"肥{n}", category=fertilizers, seller=stanley)
            StockFactory(product=product, warehouse=warehouse_a)

    def search() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            page = client_a.get("/orders/new/products/", {"q": "hf"}).content.decode()
        return page.count('class="add"'), len(queries)

    add_products(0, 3)
    three = search()
    add_products(3, 15)
    fifteen = search()

    assert (three, fifteen) == ((3, SEARCH_QUERIES), (15, SEARCH_QUERIES))


# session, user, staff row with station and warehouse, the products (ranked, with their category),
# their stock, their promotions, and the session's expiry saved (savepoint, update, release)
SEARCH_QUERIES = 9
