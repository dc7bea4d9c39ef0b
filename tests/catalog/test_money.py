"""CNY arithmetic: ROUND_HALF_UP to the fen, two places always, never a float."""

from decimal import Decimal

import pytest

from catalog import money

D = Decimal


def assert_fen(result: Decimal, expected: str) -> None:
    # str() as well as ==: Decimal("2.5") == Decimal("2.50"), but only the second is an amount in fen.
    assert isinstance(result, Decimal)
    assert str(result) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("0.005", "0.01"),  # half a fen goes up (banker's rounding would give 0.00)
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # ROUND_HALF_EVEN would give 0.02
        ("2.675", "2.68"),  # round(2.675, 2) on a float gives 2.67
        ("0.0049", "0.00"),
        ("-0.005", "-0.01"),  # away from zero: a reversal stays the exact negation of its accrual
        ("7", "7.00"),
    ],
)
def test_it_rounds_half_up_to_the_fen(amount, expected):
    assert_fen(money.to_fen(D(amount)), expected)


@pytest.mark.parametrize(
    ("amount", "rate", "expected"),
    [
        ("99.90", "2.5", "2.50"),  # 2.4975
        ("0.50", "1", "0.01"),  # 0.005
        ("2.50", "1", "0.03"),  # 0.025: half up, not half even
        ("168.00", "3", "5.04"),
        ("336.00", "3.00", "10.08"),
        ("0.49", "1", "0.00"),  # 0.0049
        ("100.00", "0", "0.00"),
        ("1234567.89", "100", "1234567.89"),
    ],
)
def test_it_takes_a_percentage_to_the_fen(amount, rate, expected):
    assert_fen(money.percent_of(D(amount), D(rate)), expected)


@pytest.mark.parametrize(
    ("unit_price", "quantity", "expected"),
    [
        ("19.99", 3, "59.97"),
        ("168", 2, "336.00"),  # two places even when the price has none
        ("0.01", 999, "9.99"),
        ("2.345", 1, "2.35"),  # a sub-fen unit price is rounded on the line, half up
        ("0.1", 3, "0.30"),  # 0.1 * 3 is 0.30000000000000004 as floats
    ],
)
def test_it_computes_a_line_total(unit_price, quantity, expected):
    assert_fen(money.line_total(D(unit_price), quantity), expected)


@pytest.mark.parametrize(
    ("price", "percent_off", "expected"),
    [
        ("10.05", "50", "5.03"),  # 5.025
        ("99.90", "15", "84.92"),  # 84.915
        ("100.00", "33.33", "66.67"),
        ("0.01", "50", "0.01"),  # 0.005: never rounds down to free
        ("168.00", "10", "151.20"),
    ],
)
def test_it_discounts_a_price(price, percent_off, expected):
    assert_fen(money.discounted(D(price), D(percent_off)), expected)


@pytest.mark.parametrize(
    "call",
    [
        lambda: money.percent_of(D("99.90"), 2.5),
        lambda: money.percent_of(99.9, D("2.5")),
        lambda: money.discounted(D("10.05"), 50.0),
        lambda: money.line_total(19.99, 3),
    ],
    ids=["percent_of-rate", "percent_of-amount", "discounted", "line_total"],
)
def test_it_refuses_floats(call):
    # A float that slipped in must fail loudly, not round somewhere else.
    with pytest.raises((TypeError, AttributeError)):
        call()


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (D("-37.33"), "-¥37.33"),  # the sign before the currency, never ¥-37.33
        (D("37.33"), "¥37.33"),
        (D("0"), "¥0.00"),
        (D("-0.00"), "¥0.00"),  # no minus on nothing
        (D("-0.004"), "¥0.00"),  # rounds to nothing, so no sign either
        (D("2.675"), "¥2.68"),  # half a fen up, as every sum is rounded
        (D("-2.675"), "-¥2.68"),
        (D("300"), "¥300.00"),  # always two places
        (D("1234567.8"), "¥1234567.80"),  # not grouped in thousands (USE_THOUSAND_SEPARATOR is off)
        (12, "¥12.00"),
        ("-5.5", "-¥5.50"),  # a string from a form
        (None, ""),
        ("", ""),
        ("not money", ""),
    ],
)
def test_it_shows_an_amount_with_its_sign_before_the_currency(amount, expected):
    assert money.yuan(amount) == expected


@pytest.mark.parametrize(
    ("amount", "expected"), [(D("6"), "+¥6.00"), (D("-6"), "-¥6.00"), (D("0"), "¥0.00"), (None, "")]
)
def test_it_shows_a_change_with_a_plus(amount, expected):
    assert money.yuan(amount, plus=True) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("{{ amount|yuan }}", "-¥37.33"),
        ('{{ amount|yuan:"+" }}', "-¥37.33"),
        ("{{ missing|yuan }}", ""),
        ('{{ amount|yuan }}{% language "en" %} {{ amount|yuan }}{% endlanguage %}', "-¥37.33 -¥37.33"),
    ],
)
def test_it_is_the_templates_one_way_to_show_money(source, expected):
    from django.template import Context, Template

    template = Template("{% load i18n money %}" + source)

    assert template.render(Context({"amount": D("-37.33")})) == expected
