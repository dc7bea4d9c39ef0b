"""The installer's visit: on the way, installed with the pickup code (the hand-over, and the commission), failed
with a reason (book again, or the county decides), the reminder the day before, and what the company hears."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.translation import override

from installations import services
from installations.models import Appointment, Installer
from logistics import selectors as logistics_selectors
from logistics.clients import create_client
from logistics.models import WebhookDelivery, WebhookEndpoint
from notifications.models import Notification
from orders import selectors as order_selectors
from orders import services as order_services
from orders.models import CommissionEntry, Order
from tests.factories import ProductFactory, StockFactory, UserFactory
from tests.order_steps import arrive, depart

S = Order.Status


@pytest.fixture(autouse=True)
def english():
    with override("en"):
        yield


@pytest.fixture
def installer(station_a):
    return Installer.objects.create(
        county=station_a.village.county, name="张师傅", capacity=2, work_weekdays="1234567", user=UserFactory()
    )


@pytest.fixture
def aircon(warehouse_a):
    product = ProductFactory(sku="AC-1P", name="空调 1 匹", needs_installation=True, price="2000.00")
    StockFactory(product=product, warehouse=warehouse_a, on_hand=5)
    return product


@pytest.fixture
def installation(place_at_a, villager_a, aircon, staff_a) -> Order:
    """An installation order paid at the station, still on its way."""
    villager_a.address = "三组 12 号"
    villager_a.save()
    order = place_at_a((aircon, 1), delivery_method=Order.DeliveryMethod.HOME_INSTALLATION).order
    order_services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff_a)
    order_services.transition(order, to=S.BATCHED, actor=staff_a)
    return depart(order=order, actor=staff_a)


@pytest.fixture
def booked(installation, installer, staff_a) -> Appointment:
    slot = services.slots_for(installation)[0]
    return services.book(order=installation, day=slot.day, half_day=slot.half_day, actor=staff_a)


@pytest.fixture
def at_home(booked, staff_a) -> Appointment:
    """The goods reached the station: the installer may set out."""
    arrive(order=booked.order, actor=staff_a, notify=False)
    return booked


def test_installed_with_the_code_hands_the_order_over_and_accrues_the_commission_then(at_home, installer):
    order = at_home.order
    assert order.commission_total > 0
    assert not CommissionEntry.objects.filter(order=order).exists()  # nothing earned at the station

    services.on_the_way(appointment=at_home, actor=installer.user)
    services.installed(appointment=at_home, actor=installer.user, pickup_code=order.pickup_code)

    order.refresh_from_db()
    at_home.refresh_from_db()
    assert order.status == S.COLLECTED and order.collected_at is not None
    assert (at_home.status, at_home.done_at is not None) == (Appointment.Status.INSTALLED, True)
    accrual = CommissionEntry.objects.get(order=order)
    assert (accrual.kind, accrual.amount, accrual.created_by) == ("accrual", order.commission_total, installer.user)


def test_a_wrong_code_changes_nothing(at_home, installer):
    with pytest.raises(order_services.WrongPickupCode):
        services.installed(appointment=at_home, actor=installer.user, pickup_code="000000x")

    at_home.refresh_from_db()
    assert at_home.status == Appointment.Status.BOOKED
    assert Order.objects.get(pk=at_home.order_id).status == S.AT_STATION
    assert not CommissionEntry.objects.filter(order_id=at_home.order_id).exists()


def test_the_counter_does_not_hand_an_installation_order_over(at_home, staff_a):
    order = at_home.order
    with pytest.raises(order_services.OrderError, match="installer hands these goods over"):
        order_services.hand_over(order=order, actor=staff_a, pickup_code=order.pickup_code)
    assert Order.objects.get(pk=order.pk).status == S.AT_STATION


def test_nothing_can_be_installed_before_the_goods_are_at_the_station(booked, installer):
    for step in (
        lambda: services.on_the_way(appointment=booked, actor=installer.user),
        lambda: services.installed(appointment=booked, actor=installer.user, pickup_code=booked.order.pickup_code),
        lambda: services.failed(appointment=booked, actor=installer.user, reason="nobody_home"),
    ):
        with pytest.raises(services.VisitError, match="not at the station"):
            step()
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_a_failed_visit_to_book_again_leaves_the_goods_at_the_station_for_a_new_time(at_home, installer, staff_a):
    services.failed(appointment=at_home, actor=installer.user, reason="nobody_home", note="电话没人接", then="rebook")

    at_home.refresh_from_db()
    assert (at_home.status, at_home.fail_reason, at_home.note) == ("failed", "nobody_home", "电话没人接")
    order = Order.objects.get(pk=at_home.order_id)
    assert order.status == S.AT_STATION
    assert services.waiting_for_a_time(order.service_center) == [order]

    slot = services.slots_for(order)[0]
    again = services.book(order=order, day=slot.day, half_day=slot.half_day, actor=staff_a)
    assert again.status == Appointment.Status.BOOKED and services.waiting_for_a_time(order.service_center) == []


def test_a_failed_visit_for_the_county_is_an_exception_it_can_book_again(at_home, installer, county_manager):
    services.failed(appointment=at_home, actor=installer.user, reason="damaged_part", note="外机磕坏", then="county")

    order = Order.objects.get(pk=at_home.order_id)
    assert order.status == S.EXCEPTION
    listed = logistics_selectors.failed_installations(counties=[order.service_center.village.county])
    assert [o.pk for o in listed] == [order.pk]
    assert "damaged part" in listed[0].failed_note and "外机磕坏" in listed[0].failed_note

    order_services.back_to_station(order=order, actor=county_manager)
    assert Order.objects.get(pk=order.pk).status == S.AT_STATION
    assert logistics_selectors.failed_installations(counties=[order.service_center.village.county]) == []


def test_a_lost_parcel_of_an_installation_order_is_no_failed_installation(installation, staff_a):
    order_services.report_missing_or_damaged([installation.pk], actor=staff_a)
    assert logistics_selectors.failed_installations(counties=[installation.service_center.village.county]) == []


def test_the_station_and_the_county_tell_a_failed_installation_from_a_lost_parcel_in_one_query(
    at_home, installer, place_at_a, aircon, staff_a, client_a, django_assert_num_queries
):
    # given: one installation failed at the villager's home, another one's parcel was lost on the way
    services.failed(appointment=at_home, actor=installer.user, reason="damaged_part", then="county")
    failed = Order.objects.get(pk=at_home.order_id)
    lost = place_at_a((aircon, 1), key="lost", delivery_method=Order.DeliveryMethod.HOME_INSTALLATION).order
    order_services.confirm_payment(order=lost, consent_code=lost.consent_code, actor=staff_a)
    order_services.transition(lost, to=S.BATCHED, actor=staff_a)
    depart(order=lost, actor=staff_a)
    order_services.report_missing_or_damaged([lost.pk], actor=staff_a)
    lost = Order.objects.get(pk=lost.pk)

    # then: one query tells them apart (none for an order not in exception) ...
    with django_assert_num_queries(1):
        assert order_selectors.is_failed_installation(failed)
    with django_assert_num_queries(1):
        assert not order_selectors.is_failed_installation(lost)
    with django_assert_num_queries(0):
        assert not order_selectors.is_failed_installation(Order(status=S.AT_STATION))
    # ... the county lists the failed one only, and the station's page says which is which
    assert logistics_selectors.failed_installations(counties=[failed.service_center.village.county]) == [failed]
    client_a.cookies["django_language"] = "en"
    assert "Its installation failed" in client_a.get(f"/orders/{failed.number}/").content.decode()
    assert "Its parcel was missing or damaged" in client_a.get(f"/orders/{lost.number}/").content.decode()


@pytest.mark.parametrize(
    "reason, then, message",
    [("", "rebook", "Say why"), ("bored", "rebook", "Say why"), ("nobody_home", "", "Choose what happens next")],
)
def test_a_failure_needs_a_reason_and_a_next_step(at_home, installer, reason, then, message):
    with pytest.raises(services.VisitError, match=message):
        services.failed(appointment=at_home, actor=installer.user, reason=reason, then=then)
    at_home.refresh_from_db()
    assert at_home.status == Appointment.Status.BOOKED


def test_a_done_appointment_takes_no_second_step(at_home, installer):
    services.installed(appointment=at_home, actor=installer.user, pickup_code=at_home.order.pickup_code)
    with pytest.raises(services.VisitError, match="installed already"):
        services.failed(appointment=at_home, actor=installer.user, reason="nobody_home")


def test_installation_is_paid_at_the_station_never_on_pickup(place_at_a, villager_a, aircon):
    villager_a.address = "三组 12 号"
    villager_a.save()
    with pytest.raises(order_services.OrderError, match="paid at the station"):
        place_at_a((aircon, 1), delivery_method="home_installation", payment_method="pay_on_pickup")
    assert not Order.objects.exists()


def test_the_villager_is_reminded_the_day_before_once(booked):
    day_before = booked.day - timedelta(days=1)

    assert services.remind_tomorrow(today=day_before - timedelta(days=1)) == 0  # two days ahead: not yet
    assert services.remind_tomorrow(today=day_before) == 1
    assert services.remind_tomorrow(today=day_before) == 0

    texts = Notification.objects.filter(template="installation_reminder")
    assert [n.reference for n in texts] == [booked.order.number]
    assert Appointment.objects.get(pk=booked.pk).reminded_at is not None


def test_no_reminder_for_a_cancelled_appointment_or_an_order_gone(booked, staff_a):
    Appointment.objects.filter(pk=booked.pk).update(status=Appointment.Status.CANCELLED)
    assert services.remind_tomorrow(today=booked.day - timedelta(days=1)) == 0
    Appointment.objects.filter(pk=booked.pk).update(status=Appointment.Status.BOOKED)
    order_services.report_missing_or_damaged([booked.order_id], actor=staff_a)
    assert services.remind_tomorrow(today=booked.day - timedelta(days=1)) == 0


def test_the_logistics_company_hears_installation_done_and_failed(at_home, installer, warehouse_a, place_at_a):
    client, _key = create_client(name="县物流", warehouse_codes=[warehouse_a.code])
    WebhookEndpoint.objects.create(
        client=client, url="http://127.0.0.1:9/hook", secret="s" * 32, events="installation.done,installation.failed"
    )
    services.installed(appointment=at_home, actor=installer.user, pickup_code=at_home.order.pickup_code)

    delivery = WebhookDelivery.objects.get()
    assert delivery.event == "installation.done"
    assert delivery.payload["order"] == at_home.order.number
    assert delivery.payload["day"] == at_home.day.isoformat()


def test_the_villager_of_an_installation_is_not_reminded_to_come_and_collect(at_home, place_at_a, fertilizer_stock):
    from orders.reminders import send_pickup_reminders

    pickup = place_at_a((fertilizer_stock.product, 1), key="pickup").order
    order_services.confirm_payment(order=pickup, consent_code=pickup.consent_code, actor=None)
    order_services.transition(pickup, to=S.BATCHED)
    arrive(order=depart(order=pickup), notify=False)

    for days in range(1, 10):
        send_pickup_reminders(today=timezone.localdate() + timedelta(days=days))

    reminded = set(Notification.objects.filter(template="order_reminder").values_list("reference", flat=True))
    assert pickup.number in reminded and at_home.order.number not in reminded


def test_a_lost_parcel_is_not_booked_again_as_if_it_were_at_the_station(installation, staff_a, county_manager):
    order_services.report_missing_or_damaged([installation.pk], actor=staff_a)
    installation.refresh_from_db()
    with pytest.raises(order_services.OrderError, match="Only a failed installation"):
        order_services.back_to_station(order=installation, actor=county_manager)
    assert Order.objects.get(pk=installation.pk).status == S.EXCEPTION
