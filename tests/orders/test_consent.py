"""The villager's say: an order is confirmed only with the code sent to their phone, or the signed slip's number;
a reply by SMS counts (signed by the gateway); nobody agreeing calls the order off; the pickup code is theirs."""

import json
import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from catalog.models import Stock
from notifications.inbound import signature
from notifications.models import InboundSms, Notification
from orders import consent, expiry, services
from orders.models import Order, SlipPrint
from partners.models import StationStaff
from tests.factories import StationStaffFactory, UserFactory, VillagerFactory

S = Order.Status
E = Order.ConsentEvidence


@pytest.fixture
def no_phone(station_a):
    return VillagerFactory(service_center=station_a, name="张奶奶", phone="", sms_consent=False)


@pytest.fixture
def slip_order(place_at_a, fertilizer_stock, no_phone) -> Order:
    return place_at_a((fertilizer_stock.product, 2), villager=no_phone, key="slip-1").order


def code_sms(order: Order) -> Notification:
    return Notification.objects.get(reference=order.number, template="order_consent")


def post_inbound(client: Client, payload: dict, *, sign: bool = True, secret: str | None = None):
    body = json.dumps(payload).encode()
    headers = {"HTTP_X_SIGNATURE": signature(body, secret)} if sign else {}
    return client.post("/sms/inbound/", data=body, content_type="application/json", **headers)


# --- the SMS code ---------------------------------------------------------------------------------------


def test_placing_for_a_villager_with_sms_sends_a_four_digit_code_and_no_pickup_code(order_placed, villager_a):
    sms = code_sms(order_placed)
    assert order_placed.consent_via == Order.ConsentVia.SMS
    assert re.fullmatch(r"\d{4}", order_placed.consent_code)
    assert (sms.recipient, sms.payload["code"], sms.payload["total"]) == (
        str(villager_a.phone),
        order_placed.consent_code,
        "336.00",
    )
    assert order_placed.pickup_code not in json.dumps(sms.payload)
    assert not Notification.objects.filter(template="order_placed").exists()


def test_confirming_needs_the_code_and_a_wrong_one_changes_nothing(order_placed, staff_a):
    with pytest.raises(consent.ConsentRequired):
        services.confirm_payment(order=order_placed, actor=staff_a)
    wrong = "0000" if order_placed.consent_code != "0000" else "1111"
    with pytest.raises(consent.WrongConsentCode):
        services.confirm_payment(order=order_placed, actor=staff_a, consent_code=wrong)
    order_placed.refresh_from_db()
    assert (order_placed.status, order_placed.consent_given_at, order_placed.paid_at) == (S.PLACED, None, None)


def test_the_code_typed_in_full_width_digits_counts(order_placed, staff_a):
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in order_placed.consent_code)
    services.confirm_payment(order=order_placed, actor=staff_a, consent_code=f" {full_width} ")
    order_placed.refresh_from_db()
    assert (order_placed.status, order_placed.consent_evidence) == (S.CONFIRMED, E.CODE_AT_COUNTER)
    assert order_placed.consent_given_at is not None


def test_the_confirm_form_refuses_a_wrong_code_with_a_reason(client_a, order_placed):
    response = client_a.post(f"/orders/{order_placed.number}/confirm/", {"consent_code": "12"})
    assert response.status_code == 409
    assert "4" in response.content.decode() and Order.objects.get(pk=order_placed.pk).status == S.PLACED
    response = client_a.post(f"/orders/{order_placed.number}/confirm/", {"consent_code": order_placed.consent_code})
    assert response.status_code == 302 and Order.objects.get(pk=order_placed.pk).status == S.CONFIRMED


def test_the_code_can_be_sent_again_twice(client_a, order_placed):
    for _ in range(2):
        client_a.post(f"/orders/{order_placed.number}/resend-code/")
    assert Notification.objects.filter(reference=order_placed.number, template="order_consent").count() == 3
    response = client_a.post(f"/orders/{order_placed.number}/resend-code/", follow=True)
    assert "3" in response.content.decode()
    assert Notification.objects.filter(reference=order_placed.number, template="order_consent").count() == 3


# --- the reply by SMS -----------------------------------------------------------------------------------


def test_a_signed_reply_from_the_villagers_phone_is_their_consent(client, order_placed, staff_a):
    response = post_inbound(client, {"id": "gw-1", "from": "13812345678", "text": f" {order_placed.consent_code} "})
    assert response.status_code == 200 and response.json()["outcome"] == "consent"
    order_placed.refresh_from_db()
    assert (order_placed.consent_evidence, order_placed.status) == (E.SMS_REPLY, S.PLACED)
    assert InboundSms.objects.get(gateway_id="gw-1").reference == order_placed.number
    # the partner takes the payment without a code now
    services.confirm_payment(order=order_placed, actor=staff_a)
    assert Order.objects.get(pk=order_placed.pk).status == S.CONFIRMED
    # the gateway delivering the same message again changes nothing
    again = post_inbound(client, {"id": "gw-1", "from": "13812345678", "text": order_placed.consent_code})
    assert again.json()["outcome"] == "consent" and InboundSms.objects.count() == 1


@pytest.mark.parametrize("sign", ["missing", "wrong"])
def test_a_reply_without_the_gateways_signature_is_refused_and_not_read(client, order_placed, sign):
    payload = {"id": "gw-2", "from": "13812345678", "text": order_placed.consent_code}
    response = post_inbound(client, payload, sign=sign != "missing", secret="not-the-secret")
    assert response.status_code == 403
    assert not InboundSms.objects.exists()
    assert Order.objects.get(pk=order_placed.pk).consent_given_at is None


def test_a_malformed_reply_is_a_400(client):
    body = b"not json"
    response = client.post(
        "/sms/inbound/", data=body, content_type="application/json", HTTP_X_SIGNATURE=signature(body)
    )
    assert response.status_code == 400
    assert post_inbound(client, {"from": "13812345678", "text": "1234"}).status_code == 400


def test_an_unknown_code_and_someone_elses_code_are_refused(client, order_placed, villager_b):
    unknown = "0000" if order_placed.consent_code != "0000" else "1111"
    assert post_inbound(client, {"id": "gw-3", "from": "13812345678", "text": unknown}).json()["outcome"] == (
        "unknown_code"
    )
    # the right code from another phone (the partner's, a neighbour's): not the villager's say
    other = post_inbound(client, {"id": "gw-4", "from": str(villager_b.phone), "text": order_placed.consent_code})
    assert other.json()["outcome"] == "wrong_sender"
    assert Order.objects.get(pk=order_placed.pk).consent_given_at is None


def test_a_family_phone_gets_the_codes_and_only_its_reply_counts(client, place_at_a, fertilizer_stock, station_a):
    granny = VillagerFactory(
        service_center=station_a,
        name="刘奶奶",
        phone="+8613800001111",
        code_phone="+8613900002222",
        code_phone_holder="儿子",
    )
    order = place_at_a((fertilizer_stock.product, 1), villager=granny, key="fam").order
    assert code_sms(order).recipient == "+8613900002222"
    assert (
        post_inbound(client, {"id": "f1", "from": "13800001111", "text": order.consent_code}).json()["outcome"]
        == "wrong_sender"
    )
    assert (
        post_inbound(client, {"id": "f2", "from": "+86 139 0000 2222", "text": order.consent_code}).json()["outcome"]
        == "consent"
    )


def test_the_family_phone_is_recorded_with_who_set_it_and_when(client_a, staff_a, villager_a):
    response = client_a.post(
        f"/villagers/{villager_a.pk}/edit/",
        {
            "name": villager_a.name,
            "phone": "13812345678",
            "code_phone": "13900003333",
            "code_phone_holder": "女儿",
            "sms_consent": "on",
        },
    )
    assert response.status_code == 302
    villager_a.refresh_from_db()
    assert (str(villager_a.code_phone), villager_a.code_phone_holder, villager_a.code_phone_set_by) == (
        "+8613900003333",
        "女儿",
        staff_a,
    )
    assert villager_a.code_phone_set_at is not None


@pytest.mark.django_db(transaction=True)
def test_the_development_stand_in_sends_a_signed_reply_over_http(live_server, order_placed):
    out = StringIO()
    call_command(
        "sms_reply", "13812345678", order_placed.consent_code, url=f"{live_server.url}/sms/inbound/", stdout=out
    )
    assert out.getvalue().strip().endswith("consent")
    assert Order.objects.get(pk=order_placed.pk).consent_evidence == E.SMS_REPLY


# --- the signed slip --------------------------------------------------------------------------------------


def test_a_villager_without_sms_agrees_on_the_signed_slip(slip_order, staff_a):
    assert slip_order.consent_via == Order.ConsentVia.SLIP and re.fullmatch(r"\d{6}", slip_order.consent_code)
    assert not Notification.objects.filter(reference=slip_order.number).exists()
    services.confirm_payment(order=slip_order, actor=staff_a, consent_code=slip_order.consent_code)
    slip_order.refresh_from_db()
    assert (slip_order.status, slip_order.consent_evidence) == (S.CONFIRMED, E.SIGNED_SLIP)


# --- nobody agreed ------------------------------------------------------------------------------------------


def test_an_order_nobody_agreed_to_is_called_off_its_stock_released_and_the_station_told(
    order_placed, fertilizer_stock, station_a, staff_a, place_at_a
):
    station_a.phone = "+8657100001111"
    station_a.save()
    agreed = place_at_a((fertilizer_stock.product, 1), key="agreed").order
    services.confirm_payment(order=agreed, actor=staff_a, consent_code=agreed.consent_code)
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 3
    assert expiry.expire_unconfirmed(now=timezone.now() + timedelta(hours=47)) == []
    assert expiry.expire_unconfirmed(now=timezone.now() + timedelta(hours=49)) == [order_placed.number]
    order_placed.refresh_from_db()
    assert (order_placed.status, order_placed.expired_at is not None) == (S.CANCELLED, True)
    assert Stock.objects.get(pk=fertilizer_stock.pk).reserved == 1  # the agreed order keeps its unit
    told = Notification.objects.get(template="orders_expired_station")
    assert (told.recipient, told.payload["count"]) == ("+8657100001111", 1)
    assert list(expiry.recently_expired(station_a)) == [order_placed]


def test_the_dashboard_tells_the_partner_of_orders_called_off(client_a, order_placed):
    expiry.expire_unconfirmed(now=timezone.now() + timedelta(hours=49))
    assert order_placed.number in client_a.get("/").content.decode()


# --- the pickup code belongs to the villager ----------------------------------------------------------------


def staff_pages(client, order: Order) -> list[str]:
    """Every staff page and API answer that shows this order."""
    pages = [
        client.get(f"/orders/{order.number}/").content.decode(),
        client.get(f"/orders/{order.number}/receipt/").content.decode(),
        client.get("/orders/").content.decode(),
        client.get("/").content.decode(),
        client.get(f"/villagers/{order.villager_id}/").content.decode(),
    ]
    return pages


def api_answers(station_token_client, order: Order) -> list[str]:
    return [
        station_token_client.get(f"/api/v1/orders/{order.number}/").content.decode(),
        station_token_client.get("/api/v1/orders/").content.decode(),
    ]


def test_the_slips_code_shows_once_when_printed_and_never_again_on_staff_pages(client_a, slip_order, staff_a):
    code = slip_order.pickup_code
    assert all(code not in page for page in staff_pages(client_a, slip_order))  # not before printing either
    printed = client_a.post(f"/orders/{slip_order.number}/slip/")
    assert printed.status_code == 200 and code in printed.content.decode()
    assert slip_order.consent_code in printed.content.decode()  # the slip number the villager signs
    assert all(code not in page for page in staff_pages(client_a, slip_order))
    # printing again needs a reason, and is counted
    again = client_a.post(f"/orders/{slip_order.number}/slip/")
    assert again.status_code == 400 and code not in again.content.decode()
    again = client_a.post(f"/orders/{slip_order.number}/slip/", {"reason": "村民把单子弄丢了"})
    assert again.status_code == 200 and code in again.content.decode()
    assert list(SlipPrint.objects.filter(order=slip_order).values_list("reprint", "reason")) == [
        (False, ""),
        (True, "村民把单子弄丢了"),
    ]
    # and through every state it goes on to, the staff never see it
    services.confirm_payment(order=slip_order, actor=staff_a, consent_code=slip_order.consent_code)
    assert all(code not in page for page in staff_pages(client_a, slip_order))


def test_an_assistant_cannot_reprint_the_slip(client, slip_order, station_a, staff_a, client_a):
    client_a.post(f"/orders/{slip_order.number}/slip/")
    helper = StationStaffFactory(
        user=UserFactory(username="helper"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    assistant = Client()
    assistant.force_login(helper)
    response = assistant.post(f"/orders/{slip_order.number}/slip/", {"reason": "丢了"})
    assert response.status_code == 302
    assert SlipPrint.objects.filter(order=slip_order).count() == 1


def test_a_villager_with_sms_has_no_code_on_any_staff_page_or_api_answer(client_a, order_placed, staff_a):
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from tests.order_steps import arrive, depart

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=staff_a).key}")
    code = order_placed.pickup_code
    assert all(code not in page for page in staff_pages(client_a, order_placed) + api_answers(api, order_placed))
    services.confirm_payment(order=order_placed, actor=staff_a, consent_code=order_placed.consent_code)
    services.transition(order_placed, to=S.BATCHED, actor=staff_a)
    depart(order=order_placed, actor=staff_a)
    arrive(order=order_placed, actor=staff_a, notify=True)
    assert all(code not in page for page in staff_pages(client_a, order_placed) + api_answers(api, order_placed))
    # the villager has it: in the arrival SMS
    arrived = Notification.objects.get(reference=order_placed.number, template="order_arrived")
    assert arrived.payload["pickup_code"] == code


# --- hand-over without the code ------------------------------------------------------------------------------


def test_a_hand_over_without_the_code_needs_a_reason_and_an_id_check_and_is_counted(
    client_a, order_placed, staff_a, deliver
):
    deliver(order_placed, actor=staff_a)
    refused = client_a.post(f"/orders/{order_placed.number}/hand-over/", {"without_code": "on", "lost_reason": "丢了"})
    assert refused.status_code == 400
    assert Order.objects.get(pk=order_placed.pk).status == S.AT_STATION
    done = client_a.post(
        f"/orders/{order_placed.number}/hand-over/",
        {"without_code": "on", "lost_reason": "短信删了", "id_check": "本人身份证 尾号 1234"},
    )
    assert done.status_code == 302
    order_placed.refresh_from_db()
    assert (order_placed.status, order_placed.collected_without_code) == (S.COLLECTED, True)
    assert order_placed.handover_note == "短信删了 · 本人身份证 尾号 1234"
    assert order_placed.commission_entries.get().amount == order_placed.commission_total


def test_an_assistant_cannot_hand_over_without_the_code(client, order_placed, staff_a, station_a, deliver):
    deliver(order_placed, actor=staff_a)
    helper = StationStaffFactory(
        user=UserFactory(username="helper2"), service_center=station_a, role=StationStaff.Role.ASSISTANT
    ).user
    assistant = Client()
    assistant.force_login(helper)
    page = assistant.get(f"/orders/{order_placed.number}/").content.decode()
    assert 'name="without_code"' not in page
    assistant.post(
        f"/orders/{order_placed.number}/hand-over/", {"without_code": "on", "lost_reason": "丢了", "id_check": "身份证"}
    )
    assert Order.objects.get(pk=order_placed.pk).status == S.AT_STATION


def test_no_commission_without_consent(order_placed):
    assert order_placed.consent_given_at is None and not order_placed.commission_entries.exists()
    assert Decimal(order_placed.commission_total) > 0
