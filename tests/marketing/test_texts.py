"""A promotional text's length and cost: 70 UCS-2 units in one SMS, 67 per part beyond; the station and the
way to stop in every text."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from marketing import texts


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_it_counts_70_in_one_sms_and_67_per_part_beyond(length, parts):
    assert texts.sms_parts("肥" * length) == parts


def test_it_counts_a_character_beyond_the_basic_plane_twice():
    text = "肥" * 69 + "😀"  # 69 + 2 units

    assert texts.ucs2_length(text) == 71
    assert texts.sms_parts(text) == 2


def test_every_text_names_the_station_and_ends_with_how_to_stop():
    text = texts.compose(station_name="里叶村服务站", body=" 复合肥特价 ")

    assert text.startswith("【村淘】里叶村服务站：复合肥特价")
    assert text.endswith(texts.stop_line())


def test_the_preview_shows_the_exact_text_its_length_and_cost():
    body = "肥" * 50

    preview = texts.preview(station_name="里叶村服务站", body=body)

    assert preview.text == texts.compose(station_name="里叶村服务站", body=body)
    assert preview.length == len(preview.text)
    assert preview.parts == texts.sms_parts(preview.text)
    assert preview.cost(120) == 120 * preview.parts


def test_the_template_fills_in_the_product_the_price_and_the_last_day():
    ends = datetime(2026, 12, 20, 23, 0, tzinfo=ZoneInfo("Asia/Shanghai"))

    body = texts.offer_body(product_name="复合肥 50kg", price=Decimal("158"), ends_at=ends)

    assert "复合肥 50kg" in body and "158.00" in body and "12-20" in body
    assert "12-20" not in texts.offer_body(product_name="复合肥 50kg", price=Decimal("158"), ends_at=None)
