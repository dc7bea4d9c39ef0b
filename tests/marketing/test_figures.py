"""A campaign's figures: recipients by outcome, and the orders its recipients placed within 7 days of their SMS
(attributed, not claimed), each in one query."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine

from marketing import selectors, services
from marketing.models import Recipient
from notifications.models import Notification
from orders.models import Order
from partners.models import Warehouse
from tests.factories import UserFactory, VillagerFactory, WarehouseFactory

MORNING = datetime(2026, 12, 3, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def order(villager, *, at, total="100.00", status=Order.Status.PLACED, n=[0]) -> Order:  # noqa: B006 - a counter
    n[0] += 1
    station = villager.service_center
    county = station.village.county
    warehouse = Warehouse.objects.filter(county=county).first() or WarehouseFactory(county=county)
    with time_machine.travel(at, tick=False):
        return Order.objects.create(
            number=f"F{n[0]}",
            service_center=station,
            villager=villager,
            placed_by=UserFactory(),
            warehouse=warehouse,
            status=status,
            delivery_method=Order.DeliveryMethod.STATION_PICKUP,
            payment_method=Order.PaymentMethod.CASH_AT_STATION,
            pickup_code="123456",
            idempotency_key=f"f{n[0]}",
            total=Decimal(total),
        )


def test_it_counts_recipients_and_attributes_orders_within_seven_days(
    station_a, staff_a, settings, django_assert_num_queries
):
    settings.MARKETING_SMS_PER_WEEK = 5
    texted = VillagerFactory(service_center=station_a, marketing_consent=True)
    late = VillagerFactory(service_center=station_a, marketing_consent=True)
    leaver = VillagerFactory(service_center=station_a, marketing_consent=True)
    bystander = VillagerFactory(service_center=station_a, marketing_consent=False)
    with time_machine.travel(MORNING, tick=False):
        c = services.create_campaign(station=station_a, actor=staff_a, body="特价")
        leaver.marketing_consent = False
        leaver.save(update_fields=["marketing_consent"])
        services.send_due()

    # orders: before the SMS (not attributed), within 7 days (attributed; one called off), after 7 days, by a bystander
    order(texted, at=MORNING - timedelta(hours=1))
    order(texted, at=MORNING + timedelta(days=2), total="168.00")
    order(texted, at=MORNING + timedelta(days=3), status=Order.Status.CANCELLED)
    order(late, at=MORNING + timedelta(days=7, minutes=1))
    order(leaver, at=MORNING + timedelta(days=1))
    order(bystander, at=MORNING + timedelta(days=1))

    # the outbox gave up on one of the two texts: it counts as failed
    Notification.objects.filter(pk=Recipient.objects.get(campaign=c, villager=late).notification_id).update(
        status=Notification.Status.FAILED
    )

    with django_assert_num_queries(1):
        counts = selectors.recipient_counts(c)
    with django_assert_num_queries(1):
        attributed = selectors.attributed_orders(c)

    assert counts[Recipient.Status.SENT] == 1 and counts[Recipient.Status.FAILED] == 1
    assert counts[Recipient.Status.OPTED_OUT] == 1 and counts[Recipient.Status.CAPPED] == 0
    assert attributed == {"orders": 1, "total": Decimal("168.00")}
