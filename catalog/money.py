"""CNY amounts: Decimal with two places, ROUND_HALF_UP to the fen, never a float."""

from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format

FEN = Decimal("0.01")
HUNDRED = Decimal(100)


def to_fen(amount: Decimal) -> Decimal:
    # "+ 0" turns -0.00 (a float sum of SQLite's a hair below zero, rounded) into 0.00: no "¥-0.00" on a page.
    return amount.quantize(FEN, rounding=ROUND_HALF_UP) + 0


def percent_of(amount: Decimal, rate: Decimal) -> Decimal:
    """``rate`` percent of ``amount``, rounded half up to the fen: 2.5% of 99.90 is 2.50."""
    return to_fen(amount * rate / HUNDRED)


def line_total(unit_price: Decimal, quantity: int) -> Decimal:
    return to_fen(unit_price * quantity)


def discounted(price: Decimal, percent_off: Decimal) -> Decimal:
    return to_fen(price * (HUNDRED - percent_off) / HUNDRED)


def share(amount: Decimal, part: int, whole: int) -> Decimal:
    """``part`` of ``whole`` units' ``amount``, to the fen: 1 of 3 units of 10.00 is 3.33."""
    return to_fen(amount * part / whole)


def yuan(amount, *, plus: bool = False) -> str:
    """An amount as a page shows it: ¥37.33, -¥37.33 (the sign before the currency), ¥0.00; ``plus``: +¥37.33.

    Rounded half up to the fen; not grouped in thousands (USE_THOUSAND_SEPARATOR is off, as for every number on a page).
    ``None`` or a blank is shown as nothing; so is what is not a number (a template must not fail on it).
    """
    if amount is None or amount == "":
        return ""
    try:
        value = to_fen(Decimal(str(amount)))
    except (ArithmeticError, ValueError, TypeError):
        return ""
    sign = "-" if value < 0 else "+" if plus and value > 0 else ""
    return f"{sign}¥{number_format(abs(value), decimal_pos=2)}"
