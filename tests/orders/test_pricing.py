"""Prices and commission rates in force at a moment: promotions, rule specificity, validity windows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import pricing as catalog_pricing
from catalog.models import Product
from orders import pricing
from tests.factories import (
    CategoryFactory,
    CommissionRuleFactory,
    ProductFactory,
    PromotionFactory,
    SellerFactory,
)

D = Decimal
DAY = timedelta(days=1)


@pytest.fixture
def now():
    return timezone.now()


@pytest.fixture
def fertilizers(db):
    return CategoryFactory(name="化肥", slug="fertilizer")


@pytest.fixture
def urea(fertilizers):
    return ProductFactory(sku="UREA-40", name="尿素 40kg", category=fertilizers, price=D("120.00"))


def promo(now, *, starts=-DAY, ends=DAY, **target_and_offer):
    return PromotionFactory(starts_at=now + starts, ends_at=now + ends, **target_and_offer)


def price_of(product, at):
    return catalog_pricing.unit_prices([product], at=at)[product.pk]


# --- prices ----------------------------------------------------------------------


def test_it_charges_the_list_price_without_a_promotion(urea, now):
    assert price_of(urea, now) == D("120.00")


def test_it_applies_a_product_promotion(urea, now):
    promo(now, product=urea, price=D("99.00"))

    assert price_of(urea, now) == D("99.00")


def test_it_applies_a_category_promotion_as_percent_off(urea, fertilizers, now):
    promo(now, category=fertilizers, percent_off=D("10"))

    assert price_of(urea, now) == D("108.00")


@pytest.mark.parametrize(
    ("product_price", "category_percent_off", "expected"),
    [
        ("99.00", "10", "99.00"),  # the product's own promotion is lower: 99.00 < 108.00
        ("115.00", "10", "108.00"),  # the category sale is lower: 108.00 < 115.00
    ],
)
def test_the_lowest_of_product_and_category_promotion_wins(
    urea, fertilizers, now, product_price, category_percent_off, expected
):
    promo(now, product=urea, price=D(product_price))
    promo(now, category=fertilizers, percent_off=D(category_percent_off))

    assert price_of(urea, now) == D(expected)


def test_it_never_charges_more_than_the_list_price(urea, now):
    promo(now, product=urea, price=D("150.00"))

    assert price_of(urea, now) == D("120.00")


@pytest.mark.parametrize(
    ("starts", "ends"),
    [
        (-2 * DAY, -DAY),  # over
        (DAY, 2 * DAY),  # not yet started
        (-DAY, timedelta(0)),  # ends exactly now: the end is exclusive
    ],
    ids=["ended", "future", "ends-now"],
)
def test_it_ignores_a_promotion_outside_its_window(urea, fertilizers, now, starts, ends):
    promo(now, starts=starts, ends=ends, product=urea, price=D("99.00"))
    promo(now, starts=starts, ends=ends, category=fertilizers, percent_off=D("50"))

    assert price_of(urea, now) == D("120.00")


def test_a_promotion_applies_from_its_first_moment(urea, now):
    promo(now, starts=timedelta(0), product=urea, price=D("99.00"))

    assert price_of(urea, now) == D("99.00")


def test_it_ignores_promotions_of_other_products_and_categories(urea, now):
    other = ProductFactory(sku="KCL-50", category=CategoryFactory(slug="seeds"))
    promo(now, product=other, price=D("1.00"))
    promo(now, category=other.category, percent_off=D("90"))

    assert price_of(urea, now) == D("120.00")


@pytest.mark.parametrize(
    ("price", "percent_off", "expected"),
    [
        ("10.05", "50", "5.03"),  # 5.025 rounds half up
        ("99.90", "15", "84.92"),  # 84.915
        ("45.50", "33.33", "30.33"),  # 30.334985
    ],
)
def test_percent_off_is_rounded_half_up_to_the_fen(fertilizers, now, price, percent_off, expected):
    product = ProductFactory(category=fertilizers, price=D(price))
    promo(now, category=fertilizers, percent_off=D(percent_off))

    assert str(price_of(product, now)) == expected


def test_it_prices_many_products_in_one_query(fertilizers, now, django_assert_num_queries):
    products = [ProductFactory(category=fertilizers) for _ in range(5)]
    promo(now, category=fertilizers, percent_off=D("10"))
    promo(now, product=products[0], price=D("50.00"))

    # the promotions running for these products or their categories
    with django_assert_num_queries(1):
        prices = catalog_pricing.unit_prices(products, at=now)

    assert prices == {p.pk: D("50.00") if p == products[0] else D("90.00") for p in products}


# --- commission rates ----------------------------------------------------------------


@pytest.fixture
def seller(db):
    return SellerFactory(name="中化化肥", default_commission_rate=D("3.00"))


@pytest.fixture
def dap(seller, fertilizers):
    return ProductFactory(sku="DAP-50", category=fertilizers, seller=seller)


def rate_of(product, at):
    product = Product.objects.select_related("seller").get(pk=product.pk)
    return pricing.commission_rates([product], at=at)[product.pk]


def test_it_falls_back_to_the_sellers_default_rate(dap, now):
    assert rate_of(dap, now) == D("3.00")


def test_the_most_specific_rule_wins(dap, seller, fertilizers, now):
    # given a rule on each level
    CommissionRuleFactory(seller=seller, rate=D("4.00"))
    CommissionRuleFactory(category=fertilizers, rate=D("5.00"))
    CommissionRuleFactory(product=dap, rate=D("6.00"))
    # ... and a product with no rule of its own but the same category and seller
    sibling = ProductFactory(category=fertilizers, seller=seller)
    # ... and one of the same seller in another category
    cousin = ProductFactory(category=CategoryFactory(slug="pesticide"), seller=seller)
    # ... and one of another seller, with no rule at all
    stranger = ProductFactory(
        category=CategoryFactory(slug="tools"), seller=SellerFactory(default_commission_rate=D("2.50"))
    )

    # then product > category > seller rule > seller default
    assert rate_of(dap, now) == D("6.00")
    assert rate_of(sibling, now) == D("5.00")
    assert rate_of(cousin, now) == D("4.00")
    assert rate_of(stranger, now) == D("2.50")


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [
        (None, -DAY),  # expired
        (DAY, None),  # not yet in force
        (-2 * DAY, timedelta(0)),  # ends exactly now: the end is exclusive
    ],
    ids=["expired", "future", "ends-now"],
)
def test_it_ignores_rules_outside_their_validity(dap, seller, fertilizers, now, valid_from, valid_until):
    window = {
        "valid_from": now + valid_from if valid_from is not None else None,
        "valid_until": now + valid_until if valid_until is not None else None,
    }
    CommissionRuleFactory(product=dap, rate=D("9.00"), **window)
    CommissionRuleFactory(category=fertilizers, rate=D("8.00"), **window)
    CommissionRuleFactory(seller=seller, rate=D("7.00"), **window)

    assert rate_of(dap, now) == D("3.00")


def test_an_expired_product_rule_gives_way_to_a_category_rule_in_force(dap, fertilizers, now):
    CommissionRuleFactory(product=dap, rate=D("9.00"), valid_until=now - DAY)
    CommissionRuleFactory(category=fertilizers, rate=D("5.00"), valid_from=now - DAY, valid_until=now + DAY)

    assert rate_of(dap, now) == D("5.00")


def test_the_newest_rule_wins_on_the_same_target(dap, now):
    CommissionRuleFactory(product=dap, rate=D("4.00"))  # open-ended, the old terms
    CommissionRuleFactory(product=dap, rate=D("6.50"), valid_from=now - DAY)  # the 6.18 terms
    CommissionRuleFactory(product=dap, rate=D("5.00"), valid_from=now - 2 * DAY)

    assert rate_of(dap, now) == D("6.50")


def test_it_finds_the_rates_of_many_products_in_one_query(seller, fertilizers, now, django_assert_num_queries):
    for _ in range(5):
        ProductFactory(category=fertilizers, seller=seller)
    CommissionRuleFactory(category=fertilizers, rate=D("5.00"))
    products = list(Product.objects.select_related("seller"))

    # the rules in force for these products, categories and sellers
    with django_assert_num_queries(1):
        rates = pricing.commission_rates(products, at=now)

    assert rates == {p.pk: D("5.00") for p in products}
