"""Partner and assistant at one station: the assistant works the counter, only the partner sees the money and takes returns."""

from datetime import date

import pytest

from orders import services
from orders.models import CommissionStatement, Order
from partners.access import ASSISTANT, PARTNER, STATION_ACTIONS, station_may, station_required
from partners.models import StationStaff
from tests.factories import StationStaffFactory, UserFactory
from tests.order_steps import arrive, depart
from tests.orders.conftest import place

S = Order.Status


@pytest.fixture
def assistant_a(station_a):
    return StationStaffFactory(
        user=UserFactory(username="ann"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user


@pytest.fixture
def assistant_client(client, assistant_a):
    client.force_login(assistant_a)
    return client


@pytest.fixture
def order_a(station_a, villager_a, staff_a, fertilizer_stock):
    return place(station_a, villager_a, staff_a, fertilizer_stock.product)


def at_station(order: Order) -> Order:
    services.confirm_payment(order=order, consent_code=order.consent_code, actor=None)
    services.transition(order, to=S.BATCHED)
    depart(order=order)
    return arrive(order=order)


def test_it_has_one_table_of_what_only_the_partner_may_do():
    assert set(STATION_ACTIONS) == {
        "commissions",
        "return_order",
        "anonymise_villager",
        "send_back",
        "pay_refund",
        "pay_produce",
        "close_day",
        "remittance",
        "keep_commission",
        "reprint_slip",
        "hand_over_without_code",
        "insights",
        "campaigns",
    }
    assert station_may(PARTNER, "reprint_slip") and not station_may(ASSISTANT, "reprint_slip")
    assert station_may(PARTNER, "hand_over_without_code") and not station_may(ASSISTANT, "hand_over_without_code")
    assert station_may(PARTNER, "commissions") and station_may(PARTNER, "return_order")
    assert not station_may(ASSISTANT, "commissions") and not station_may(ASSISTANT, "return_order")
    assert station_may(PARTNER, "pay_refund") and not station_may(ASSISTANT, "pay_refund")  # cash out of the drawer
    assert station_may(PARTNER, "pay_produce") and not station_may(ASSISTANT, "pay_produce")  # likewise
    assert station_may(PARTNER, "send_back") and station_may(ASSISTANT, "send_back")  # counter work, in the table
    assert station_may(PARTNER, "insights") and station_may(ASSISTANT, "insights")  # what sells: both, in the table
    assert station_may(PARTNER, "campaigns") and not station_may(ASSISTANT, "campaigns")  # promotional SMS
    assert station_may(ASSISTANT, "hand_over")  # not in the table: every station role
    assert station_may(PARTNER, "close_day") and not station_may(ASSISTANT, "close_day")  # the partner's count
    assert station_may(PARTNER, "remittance") and not station_may(ASSISTANT, "remittance")
    assert not station_may(None, "hand_over")  # no station, no counter work


def test_it_refuses_an_action_missing_from_the_table():
    with pytest.raises(ValueError, match="STATION_ACTIONS"):
        station_required(action="aprove_returns")


@pytest.mark.parametrize("url", ["/commissions/", "/commissions/{pk}/", "/commissions/{pk}/csv/"])
def test_an_assistant_cannot_see_the_commission(assistant_client, station_a, url):
    statement = CommissionStatement.objects.create(service_center=station_a, month=date(2026, 1, 1))

    response = assistant_client.get(url.format(pk=statement.pk))

    assert response.status_code == 403
    assert "Only the station" in response.content.decode() or "合伙人" in response.content.decode()


def test_the_assistant_pages_show_no_commission(assistant_client, order_a):
    dashboard = assistant_client.get("/").content.decode()
    detail = assistant_client.get(f"/orders/{order_a.number}/").content.decode()

    for page in (dashboard, detail):
        assert 'href="/commissions/"' not in page
        assert str(order_a.commission_total) not in page


def test_the_partner_pages_show_the_commission(client_a, order_a):
    dashboard = client_a.get("/").content.decode()
    detail = client_a.get(f"/orders/{order_a.number}/").content.decode()

    assert 'href="/commissions/"' in dashboard
    assert str(order_a.commission_total) in detail


def test_an_assistant_confirms_payment_and_hands_over(assistant_client, order_a):
    response = assistant_client.post(f"/orders/{order_a.number}/confirm/", {"consent_code": order_a.consent_code})
    assert response.status_code == 302
    order_a.refresh_from_db()
    assert order_a.status == S.CONFIRMED

    services.transition(order_a, to=S.BATCHED)
    depart(order=order_a)
    arrive(order=order_a)
    response = assistant_client.post(f"/orders/{order_a.number}/hand-over/", {"pickup_code": order_a.pickup_code})

    assert response.status_code == 302
    order_a.refresh_from_db()
    assert order_a.status == S.COLLECTED


def test_an_assistant_cannot_take_goods_back(assistant_client, order_a):
    # given: the villager has collected the goods
    at_station(order_a)
    services.hand_over(order=order_a, actor=None, pickup_code=order_a.pickup_code)

    # when
    page = assistant_client.get(f"/orders/{order_a.number}/").content.decode()
    response = assistant_client.post(f"/orders/{order_a.number}/return/", {"return-reason": "包装破损"})

    # then: no return form, and a posted one is refused without a change
    assert "/return/" not in page
    assert response.status_code == 403
    order_a.refresh_from_db()
    assert order_a.status == S.COLLECTED


def test_the_partner_sees_the_return_form(client_a, order_a):
    at_station(order_a)
    services.hand_over(order=order_a, actor=None, pickup_code=order_a.pickup_code)

    page = client_a.get(f"/orders/{order_a.number}/").content.decode()

    assert f"/orders/{order_a.number}/return/" in page


def test_another_stations_assistant_gets_a_404(client, station_b, order_a):
    assistant_b = StationStaffFactory(service_center=station_b, role=StationStaff.Role.ASSISTANT).user
    client.force_login(assistant_b)

    assert client.get(f"/orders/{order_a.number}/").status_code == 404
    assert client.post(f"/orders/{order_a.number}/confirm/", {"consent_code": order_a.consent_code}).status_code == 404
