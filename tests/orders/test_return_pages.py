"""The way back on the partner's pages: a return by line with its confirmation, goods sent back, refunds paid out.

The figures on a confirmation page are the ones the return records: both come from
``returns.preview_return``; the tests check them against the commission ledger and the refund.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog import money
from orders import returns, services
from orders.models import (
    CollectionPolicy,
    CommissionEntry,
    GoodsReturn,
    GoodsReturnLine,
    Order,
    OrderEvent,
    OrderLine,
    Refund,
)
from partners.models import StationStaff
from tests.factories import CategoryFactory, StationStaffFactory, UserFactory
from tests.test_page_weight import BUDGET, page_weight

S = Order.Status


def in_english(client: Client) -> Client:
    """The pages in English (the language switch's cookie), so the texts checked here do not depend on the .po file."""
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


@pytest.fixture(autouse=True)
def english(client):
    in_english(client)


@pytest.fixture
def assistant_client(station_a):
    user = StationStaffFactory(
        user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    client = in_english(Client())
    client.force_login(user)
    return client


@pytest.fixture
def two_lines(place_at_a, fertilizer_stock, seeds_stock, staff_a, deliver) -> Order:
    """Paid and collected: 3 bags of fertilizer (168.00, commission 3%) and 3 bags of seeds (45.50)."""
    order = place_at_a((fertilizer_stock.product, 3), (seeds_stock.product, 3), key="two-lines", notify=False).order
    deliver(order, actor=staff_a)
    return services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)


@pytest.fixture
def at_the_station(place_at_a, fertilizer_stock, staff_a, deliver) -> Order:
    order = place_at_a((fertilizer_stock.product, 2), key="at-station", notify=False).order
    return deliver(order, actor=staff_a)


def lines_of(order: Order) -> tuple[OrderLine, OrderLine]:
    fertilizer, seeds = order.lines.select_related("product").order_by("pk")
    return fertilizer, seeds


def return_data(*rows, step="", note="", **extra) -> dict:
    """The return form: (line, quantity, reason) for each line."""
    data = {"return-note": note, **extra}
    if step:
        data["step"] = step
    for line, quantity, reason in rows:
        data[f"return-qty_{line.pk}"] = str(quantity)
        data[f"return-reason_{line.pk}"] = reason
    return data


def confirm(client, order, *rows, note="", figures=None):
    """Review the return (the confirmation page), then post it back the way its button does."""
    review = client.post(f"/orders/{order.number}/return/", return_data(*rows, note=note))
    assert review.status_code == 200, review.content.decode()[:2000]
    preview = review.context["preview"]
    refund, commission = figures or (preview.refund, preview.commission)
    done = client.post(
        f"/orders/{order.number}/return/",
        return_data(*rows, note=note, step="confirm", refund=str(refund), commission=str(commission)),
    )
    if done.status_code == 302:
        client.get(done["Location"])  # the page it lands on shows (and uses up) the flash message
    return review, done


def text(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


# --- the return form on the order page --------------------------------------------------


def test_it_lists_each_returnable_line_with_a_quantity_from_zero_and_a_reason(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)

    response = client_a.get(f"/orders/{two_lines.number}/")

    page = response.content.decode()
    assert f'action="/orders/{two_lines.number}/return/"' in page
    for line in (fertilizer, seeds):
        assert re.search(rf'name="return-qty_{line.pk}" value="0"[^>]*max="3"', page)
        assert f'name="return-reason_{line.pk}"' in page
    assert 'value="wrong_item"' in page and 'value="damaged"' in page and 'value="not_wanted"' in page
    assert 'name="everything"' in page


def test_a_partial_return_of_two_lines_shows_the_refund_then_records_it_line_by_line(client_a, two_lines, staff_a):
    fertilizer, seeds = lines_of(two_lines)
    # given: 3 of 3 bags of fertilizer come back (wrong item), 1 of 3 bags of seeds (damaged)
    rows = [(fertilizer, 3, "wrong_item"), (seeds, 1, "damaged")]
    expected_refund = fertilizer.line_total + money.share(seeds.line_total, 1, 3)
    expected_commission = fertilizer.commission_amount + money.share(seeds.commission_amount, 1, 3)

    # when: the partner checks the refund
    review, done = confirm(client_a, two_lines, *rows, note="拿错了")

    # then: the confirmation page showed the refund and nothing was recorded before the final POST ...
    assert review.context["preview"].refund == expected_refund == Decimal("549.50")
    assert f"¥{expected_refund}" in text(review)
    assert "wrong item" in text(review) and "damaged" in text(review)
    # ... and the confirmed return recorded exactly those figures
    assert done.status_code == 302 and done["Location"] == f"/orders/{two_lines.number}/"
    goods = two_lines.goods_returns.get()
    assert (goods.kind, goods.status, goods.reason, goods.created_by) == ("return", "waiting", "拿错了", staff_a)
    back = {line.order_line_id: line for line in goods.lines.all()}
    assert (back[fertilizer.pk].quantity, back[fertilizer.pk].reason) == (3, "wrong_item")
    assert (back[seeds.pk].quantity, back[seeds.pk].reason) == (1, "damaged")
    assert back[fertilizer.pk].commission_back == fertilizer.commission_amount
    assert back[seeds.pk].commission_back == money.share(seeds.commission_amount, 1, 3)
    reversal = CommissionEntry.objects.get(order=two_lines, kind=CommissionEntry.Kind.REVERSAL)
    assert (reversal.amount, reversal.goods_return) == (-expected_commission, goods)
    assert Refund.objects.get(goods_return=goods).amount == expected_refund
    assert [line.returned_quantity for line in lines_of(two_lines)] == [3, 1]
    assert Order.objects.get(pk=two_lines.pk).status == S.COLLECTED  # seeds still with the villager


def test_a_line_returned_in_parts_reverses_exactly_its_commission(client_a, two_lines):
    _fertilizer, seeds = lines_of(two_lines)  # seeds: 136.50, commission 4.10 (3%, rounded): 1.37 + 2.73

    confirm(client_a, two_lines, (seeds, 1, "not_wanted"))
    seeds.refresh_from_db()
    confirm(client_a, two_lines, (seeds, 2, "not_wanted"))

    reversals = CommissionEntry.objects.filter(order=two_lines, kind=CommissionEntry.Kind.REVERSAL)
    assert sorted(e.amount for e in reversals) == [Decimal("-2.73"), Decimal("-1.37")]
    assert -sum(e.amount for e in reversals) == seeds.commission_amount
    assert sum(r.amount for r in Refund.objects.filter(order=two_lines)) == seeds.line_total


def test_return_everything_fills_in_every_unit_left(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)
    confirm(client_a, two_lines, (seeds, 1, "not_wanted"))

    review = client_a.post(
        f"/orders/{two_lines.number}/return/",
        {**return_data((fertilizer, 0, "damaged"), (seeds, 0, "not_wanted")), "everything": "1"},
    )

    assert review.status_code == 200
    preview = review.context["preview"]
    assert [(b.line.pk, b.quantity, b.reason) for b in preview.lines] == [
        (fertilizer.pk, 3, "damaged"),
        (seeds.pk, 2, "not_wanted"),
    ]
    assert preview.refund == fertilizer.line_total + seeds.line_total - money.share(seeds.line_total, 1, 3)
    assert GoodsReturn.objects.filter(order=two_lines).count() == 1  # the review wrote nothing


def test_everything_back_makes_the_order_returned(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)

    _review, done = confirm(client_a, two_lines, (fertilizer, 3, "not_wanted"), (seeds, 3, "not_wanted"))

    assert done.status_code == 302
    assert Order.objects.get(pk=two_lines.pk).status == S.RETURNED
    reversal = CommissionEntry.objects.get(order=two_lines, kind=CommissionEntry.Kind.REVERSAL)
    assert reversal.amount == -two_lines.commission_total


def test_changing_the_lines_on_the_confirmation_goes_back_to_the_form_with_them(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)

    response = client_a.post(
        f"/orders/{two_lines.number}/return/",
        return_data((fertilizer, 2, "damaged"), (seeds, 0, "damaged"), step="edit"),
    )

    assert response.status_code == 200
    assert re.search(rf'name="return-qty_{fertilizer.pk}" value="2"', response.content.decode())
    assert not GoodsReturn.objects.exists()


def test_a_confirmation_whose_figures_changed_records_nothing(client_a, two_lines):
    fertilizer, _seeds = lines_of(two_lines)

    _review, done = confirm(
        client_a, two_lines, (fertilizer, 1, "damaged"), figures=(Decimal("1.00"), fertilizer.commission_amount)
    )

    assert done.status_code == 409
    assert done.context["changed"]
    assert "¥168.00" in text(done)  # the figures that hold now, to confirm again
    assert not GoodsReturn.objects.exists()
    assert not CommissionEntry.objects.filter(kind=CommissionEntry.Kind.REVERSAL).exists()


@pytest.mark.parametrize("quantity", ["4", "-1", "two", "9" * 30, "1.5", ""])
def test_a_bad_quantity_is_a_form_error_and_changes_nothing(client_a, two_lines, quantity):
    fertilizer, seeds = lines_of(two_lines)

    response = client_a.post(
        f"/orders/{two_lines.number}/return/",
        return_data(
            (fertilizer, quantity, "damaged"), (seeds, 0, "damaged"), step="confirm", refund="1", commission="1"
        ),
    )

    assert response.status_code == 400
    form = response.context["return_form"]
    assert form.errors
    assert 'role="alert"' in response.content.decode()
    assert not GoodsReturn.objects.exists()
    assert [line.returned_quantity for line in lines_of(two_lines)] == [0, 0]


def test_a_bad_reason_is_a_form_error(client_a, two_lines):
    fertilizer, _seeds = lines_of(two_lines)

    response = client_a.post(f"/orders/{two_lines.number}/return/", return_data((fertilizer, 1, "x\x00")))

    assert response.status_code == 400
    assert not GoodsReturn.objects.exists()


def test_goods_of_a_category_that_cannot_be_returned_are_refused_on_the_form(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)
    seeds.product.category = CategoryFactory(slug="opened-seeds", return_days=0)
    seeds.product.save()

    page = client_a.get(f"/orders/{two_lines.number}/")
    response = client_a.post(f"/orders/{two_lines.number}/return/", return_data((seeds, 1, "not_wanted")))

    assert "cannot be returned once collected" in text(page)
    assert f'name="return-qty_{seeds.pk}"' not in page.content.decode()  # no field for it
    assert f'name="return-qty_{fertilizer.pk}"' in page.content.decode()
    assert response.status_code == 400
    assert any("cannot be returned" in e for e in response.context["return_form"].non_field_errors())
    assert not GoodsReturn.objects.exists()


def test_a_return_after_the_window_is_a_form_error(client_a, two_lines, settings):
    fertilizer, _seeds = lines_of(two_lines)
    Order.objects.filter(pk=two_lines.pk).update(
        collected_at=timezone.now() - timedelta(days=settings.ORDER_RETURN_WINDOW_DAYS, minutes=1)
    )

    page = client_a.get(f"/orders/{two_lines.number}/")
    response = client_a.post(f"/orders/{two_lines.number}/return/", return_data((fertilizer, 1, "damaged")))

    assert "Nothing on this order can be returned any more." in text(page)
    assert response.status_code == 400
    assert any("return window" in e for e in response.context["return_form"].non_field_errors())
    assert not GoodsReturn.objects.exists()


def test_an_order_not_collected_cannot_be_returned(client_a, at_the_station):
    line = at_the_station.lines.get()

    response = client_a.post(f"/orders/{at_the_station.number}/return/", return_data((line, 1, "damaged")))

    assert response.status_code == 409
    assert "only collected goods can be returned" in response.content.decode()
    assert not GoodsReturn.objects.exists()


def test_a_confirmation_without_its_figures_shows_them_and_records_nothing(client_a, two_lines):
    fertilizer, _seeds = lines_of(two_lines)

    response = client_a.post(
        f"/orders/{two_lines.number}/return/", return_data((fertilizer, 1, "damaged"), step="confirm", refund="x")
    )

    assert response.status_code == 400
    assert "¥168.00" in text(response)
    assert not GoodsReturn.objects.exists()


def test_an_assistant_may_not_take_goods_back(assistant_client, two_lines):
    fertilizer, _seeds = lines_of(two_lines)

    page = assistant_client.get(f"/orders/{two_lines.number}/").content.decode()
    response = assistant_client.post(
        f"/orders/{two_lines.number}/return/",
        return_data((fertilizer, 1, "damaged"), step="confirm", refund="168.00", commission="5.04"),
    )

    assert "/return/" not in page
    assert response.status_code == 403
    assert not GoodsReturn.objects.exists()


def test_the_order_page_shows_past_returns_their_refund_and_the_units_returned(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)
    confirm(client_a, two_lines, (seeds, 1, "damaged"))
    refund = Refund.objects.get(order=two_lines)

    page = text(client_a.get(f"/orders/{two_lines.number}/"))

    assert "1 returned" in page
    assert f"{seeds.product.name} × 1" in page
    assert f"¥{refund.amount}" in page
    assert f'href="/refunds/{refund.pk}/pay/?next=order-detail"' in page
    assert re.search(rf'name="return-qty_{seeds.pk}" value="0"[^>]*max="2"', page)  # 2 left


def test_the_order_page_of_an_order_with_returns_costs_a_fixed_number_of_queries(client_a, two_lines):
    fertilizer, seeds = lines_of(two_lines)
    confirm(client_a, two_lines, (seeds, 1, "damaged"))
    with CaptureQueriesContext(connection) as one:
        assert client_a.get(f"/orders/{two_lines.number}/").status_code == 200
    confirm(client_a, two_lines, (fertilizer, 1, "damaged"), (seeds, 1, "damaged"))

    with CaptureQueriesContext(connection) as two:
        assert client_a.get(f"/orders/{two_lines.number}/").status_code == 200

    assert len(two) == len(one)


# --- sending goods back ------------------------------------------------------------------


def test_a_refused_order_goes_back_after_a_confirmation(client_a, at_the_station, staff_a):
    url = f"/orders/{at_the_station.number}/send-back/"

    page = client_a.get(f"/orders/{at_the_station.number}/").content.decode()
    review = client_a.post(url, {"back-kind": "refused", "back-reason": "不想要了"})
    assert not GoodsReturn.objects.exists()  # the confirmation writes nothing
    done = client_a.post(url, {"back-kind": "refused", "back-reason": "不想要了", "step": "confirm"})

    assert f'action="{url}"' in page
    assert review.status_code == 200 and "不想要了" in review.content.decode()
    assert done.status_code == 302
    order = Order.objects.get(pk=at_the_station.pk)
    assert order.status == S.GOING_BACK
    goods = order.goods_returns.get()
    assert (goods.kind, goods.status, goods.reason, goods.created_by) == ("refused", "waiting", "不想要了", staff_a)
    assert [(line.order_line_id, line.quantity) for line in goods.lines.all()] == [(order.lines.get().pk, 2)]
    going = text(client_a.get(f"/orders/{order.number}/"))
    assert "status-going_back" in going and 'href="/going-back/"' in going


def test_a_refusal_needs_a_reason(client_a, at_the_station):
    response = client_a.post(
        f"/orders/{at_the_station.number}/send-back/", {"back-kind": "refused", "back-reason": " ", "step": "confirm"}
    )

    assert response.status_code == 400
    assert response.context["send_back_form"].errors["reason"]
    assert Order.objects.get(pk=at_the_station.pk).status == S.AT_STATION


@pytest.mark.parametrize("kind", ["", "damaged", "return", "x" * 100])
def test_goods_go_back_only_refused_or_not_collected(client_a, at_the_station, kind):
    response = client_a.post(
        f"/orders/{at_the_station.number}/send-back/", {"back-kind": kind, "back-reason": "r", "step": "confirm"}
    )

    assert response.status_code == 400
    assert not GoodsReturn.objects.exists()


def test_not_collected_is_disabled_before_the_waiting_days(client_a, at_the_station):
    CollectionPolicy.objects.create(reminder_days="3", send_back_after_days=5)  # the county's policy, in the admin
    url = f"/orders/{at_the_station.number}/send-back/"

    page = client_a.get(f"/orders/{at_the_station.number}/").content.decode()
    response = client_a.post(url, {"back-kind": "uncollected", "step": "confirm"})

    assert re.search(r'value="uncollected" disabled', page)
    assert response.status_code == 409
    assert "5" in " ".join(response.context["send_back_form"].non_field_errors())
    assert Order.objects.get(pk=at_the_station.pk).status == S.AT_STATION
    assert not GoodsReturn.objects.exists()

    # five days later (the arrival moved back: travelling in time would end the session)
    OrderEvent.objects.filter(order=at_the_station, to_status=S.AT_STATION).update(
        created_at=timezone.now() - timedelta(days=5, minutes=1)
    )
    page = client_a.get(f"/orders/{at_the_station.number}/").content.decode()
    done = client_a.post(url, {"back-kind": "uncollected", "step": "confirm"})

    assert not re.search(r'value="uncollected" disabled', page)
    assert done.status_code == 302
    assert Order.objects.get(pk=at_the_station.pk).status == S.GOING_BACK
    assert GoodsReturn.objects.get().kind == "uncollected"


def test_the_waiting_days_default_to_fourteen(db):
    assert not CollectionPolicy.objects.exists()  # no policy saved yet: the default

    assert returns.send_back_after_days() == 14


def test_an_assistant_sends_goods_back(assistant_client, at_the_station):
    done = assistant_client.post(
        f"/orders/{at_the_station.number}/send-back/",
        {"back-kind": "refused", "back-reason": "坏了", "step": "confirm"},
    )

    assert done.status_code == 302
    assert Order.objects.get(pk=at_the_station.pk).status == S.GOING_BACK


def test_goods_not_at_the_station_cannot_be_sent_back(client_a, two_lines):
    response = client_a.post(
        f"/orders/{two_lines.number}/send-back/", {"back-kind": "refused", "back-reason": "r", "step": "confirm"}
    )

    assert response.status_code == 409
    assert "Only goods waiting at the station can be sent back" in response.content.decode()
    assert not GoodsReturn.objects.exists()


def test_a_second_tap_on_send_back_changes_nothing(client_a, at_the_station):
    data = {"back-kind": "refused", "back-reason": "不要", "step": "confirm"}
    client_a.post(f"/orders/{at_the_station.number}/send-back/", data)

    again = client_a.post(f"/orders/{at_the_station.number}/send-back/", data)

    assert again.status_code == 409
    assert GoodsReturn.objects.filter(order=at_the_station).count() == 1
    assert Order.objects.get(pk=at_the_station.pk).status == S.GOING_BACK


# --- refunds owed, paid out of the drawer ---------------------------------------------------


@pytest.fixture
def refund_owed(client_a, two_lines) -> Refund:
    fertilizer, _seeds = lines_of(two_lines)
    confirm(client_a, two_lines, (fertilizer, 1, "damaged"), note="袋子破了")
    return Refund.objects.get(order=two_lines)


def test_the_refunds_page_lists_what_is_owed_with_a_masked_name(client_a, refund_owed):
    page = text(client_a.get("/refunds/"))

    assert "¥168.00" in page
    assert "王**" in page and "王建国" not in page
    assert refund_owed.order.number in page
    assert "袋子破了" in page
    assert f'href="/refunds/{refund_owed.pk}/pay/"' in page


def test_a_refund_is_paid_through_its_confirmation_once(client_a, refund_owed, staff_a):
    url = f"/refunds/{refund_owed.pk}/pay/"

    confirmation = client_a.get(url)
    first = client_a.post(url, {"amount": "168.00"})
    paid = Refund.objects.get(pk=refund_owed.pk)
    second = client_a.post(url, {"amount": "168.00"})

    assert confirmation.status_code == 200
    assert 'name="amount" value="168.00"' in confirmation.content.decode()
    assert first.status_code == 302 and first["Location"] == "/refunds/"
    assert paid.paid_at is not None and paid.paid_by == staff_a
    assert second.status_code == 302
    assert Refund.objects.get(pk=refund_owed.pk).paid_at == paid.paid_at  # the second tap changed nothing
    listing = text(client_a.get("/refunds/"))
    assert "No refund is owed." in listing
    assert f'href="/refunds/{refund_owed.pk}/pay/"' not in listing


def test_a_refund_for_another_amount_is_not_paid(client_a, refund_owed):
    response = client_a.post(f"/refunds/{refund_owed.pk}/pay/", {"amount": "100.00"})

    assert response.status_code == 302
    assert Refund.objects.get(pk=refund_owed.pk).paid_at is None


@pytest.mark.parametrize("amount", ["", "abc", "1e999", "\x00"])
def test_a_refund_with_no_amount_shown_is_not_paid(client_a, refund_owed, amount):
    response = client_a.post(f"/refunds/{refund_owed.pk}/pay/", {"amount": amount})

    assert response.status_code == 302
    assert Refund.objects.get(pk=refund_owed.pk).paid_at is None


def test_paying_out_from_the_order_page_comes_back_to_it(client_a, refund_owed):
    response = client_a.post(f"/refunds/{refund_owed.pk}/pay/", {"amount": "168.00", "next": "order-detail"})

    assert response["Location"] == f"/orders/{refund_owed.order.number}/"


def test_an_assistant_sees_the_refunds_but_may_not_pay_them(assistant_client, refund_owed):
    listing = assistant_client.get("/refunds/")
    confirmation = assistant_client.get(f"/refunds/{refund_owed.pk}/pay/")
    pay = assistant_client.post(f"/refunds/{refund_owed.pk}/pay/", {"amount": "168.00"})

    assert listing.status_code == 200 and "¥168.00" in listing.content.decode()
    assert "/pay/" not in listing.content.decode()
    assert confirmation.status_code == pay.status_code == 403
    assert Refund.objects.get(pk=refund_owed.pk).paid_at is None


def test_the_dashboard_says_what_is_owed_to_how_many_villagers(client_a, refund_owed, at_the_station):
    # a second villager's paid order refused, received back at the warehouse: owed too
    other = Order.objects.get(pk=at_the_station.pk)
    goods = returns.send_back(order=other, actor=None, kind="refused", reason="不要")
    before = text(client_a.get("/"))
    returns.receive_goods_back(goods=goods, actor=None)

    page = text(client_a.get("/"))

    assert "<strong>2</strong><span>returns to hand to the driver" in before  # the return and the refused order
    assert "¥504.00" in page  # 168.00 + 2 × 168.00
    assert "owed to 1 villager</span>" in page  # one villager, two refunds
    assert 'href="/refunds/"' in page


def test_the_dashboard_shows_no_refund_tile_when_nothing_is_owed(client_a, two_lines):
    page = client_a.get("/").content.decode()

    assert 'class="tile attention" href="/refunds/"' not in page


def test_refunds_and_goods_pages_cost_a_fixed_number_of_queries(client_a, two_lines, refund_owed):
    fertilizer, seeds = lines_of(two_lines)
    with CaptureQueriesContext(connection) as one_refund:
        client_a.get("/refunds/")
    with CaptureQueriesContext(connection) as one_goods:
        client_a.get("/going-back/")
    confirm(client_a, two_lines, (seeds, 1, "damaged"))
    confirm(client_a, two_lines, (fertilizer, 1, "damaged"))

    with CaptureQueriesContext(connection) as three_refunds:
        client_a.get("/refunds/")
    with CaptureQueriesContext(connection) as three_goods:
        client_a.get("/going-back/")

    assert len(three_refunds) == len(one_refund)
    assert len(three_goods) == len(one_goods)


# --- goods for the driver ------------------------------------------------------------------


def test_the_driver_list_shows_goods_waiting_then_on_their_way(client_a, refund_owed, at_the_station):
    refused = returns.send_back(order=at_the_station, actor=None, kind="refused", reason="不要")
    first = GoodsReturn.objects.get(kind="return")
    returns.goods_left_behind([refused.pk], reason="车满了")
    returns.goods_picked_up([first.pk])

    page = text(client_a.get("/going-back/"))

    assert page.index(at_the_station.number) < page.index(first.order.number)  # waiting ones first
    assert "车满了" in page
    assert "王**" in page and "王建国" not in page
    assert "status-waiting" in page and "status-on_its_way" in page
    returns.receive_goods_back(goods=first, actor=None)
    assert first.order.number not in text(client_a.get("/going-back/"))


def test_the_order_list_filters_orders_going_back(client_a, at_the_station, two_lines):
    returns.send_back(order=at_the_station, actor=None, kind="refused", reason="不要")

    page = client_a.get("/orders/", {"status": "going_back"}).content.decode()

    assert at_the_station.number in page and two_lines.number not in page
    assert "status-going_back" in page
    assert 'value="going_back"' in page


# --- another station --------------------------------------------------------------------


def test_another_stations_staff_see_none_of_it(staff_b, refund_owed, at_the_station):
    client = in_english(Client())
    client.force_login(staff_b)
    order = refund_owed.order
    line = order.lines.order_by("pk").first()

    responses = [
        client.post(f"/orders/{order.number}/return/", return_data((line, 1, "damaged"))),
        client.post(f"/orders/{at_the_station.number}/send-back/", {"back-kind": "refused", "back-reason": "r"}),
        client.get(f"/refunds/{refund_owed.pk}/pay/"),
        client.post(f"/refunds/{refund_owed.pk}/pay/", {"amount": "168.00"}),
    ]

    assert [r.status_code for r in responses] == [404] * 4
    for url in ("/refunds/", "/going-back/"):
        page = client.get(url).content.decode()
        assert order.number not in page and "168.00" not in page
    assert Refund.objects.get(pk=refund_owed.pk).paid_at is None
    assert GoodsReturnLine.objects.filter(goods_return__order=at_the_station).count() == 0


# --- the pages' weight ----------------------------------------------------------------------


def test_every_way_back_page_is_under_budget(client_a, refund_owed, at_the_station):
    fertilizer, seeds = lines_of(refund_owed.order)
    review = client_a.post(f"/orders/{refund_owed.order.number}/return/", return_data((seeds, 1, "damaged")))
    send_back = client_a.post(
        f"/orders/{at_the_station.number}/send-back/", {"back-kind": "refused", "back-reason": "不要"}
    )
    pages = [
        client_a.get(f"/orders/{refund_owed.order.number}/"),
        client_a.get(f"/orders/{at_the_station.number}/"),
        review,
        send_back,
        client_a.get("/refunds/"),
        client_a.get(f"/refunds/{refund_owed.pk}/pay/"),
        client_a.get("/going-back/"),
    ]

    for response in pages:
        assert response.status_code == 200
        weight, _assets = page_weight(response.content)
        assert weight < BUDGET
