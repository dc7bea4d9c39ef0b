"""What orders tell villagers: the texts (registered with the outbox by ``OrdersConfig.ready``) and their queueing."""

from notifications import services as notifications

from .models import Order

SMS_TEMPLATES = {
    "order_placed": "【村淘】您的订单{order}已在{station}下单，取货码{pickup_code}，到货后会再通知您。",
    "order_arrived": "【村淘】您的订单{order}已到{station}，请凭取货码{pickup_code}取货。",
    # orders.services.ship_again: the parcel was lost or broken on the way and the county sends the goods again
    "order_shipped_again": "【村淘】您的订单{order}在运输中丢失或损坏，已为您重新发货，到{station}后会再通知您。",
    # orders.reminders: days waiting so far, and the date the goods go back (collection policy)
    "order_reminder": "【村淘】您的订单{order}已在{station}等您{days}天，请凭取货码{pickup_code}尽快取货，"
    "{send_back_on}前未取将退回。",
}


def tell_villagers(orders: list[Order], *, template: str) -> None:
    """Queue an SMS to each order's villager who has a phone and agreed to SMS (one INSERT, sent after commit)."""
    notifications.queue_sms(
        notifications.to_villager(
            order.villager,
            template=template,
            payload={"order": order.number, "pickup_code": order.pickup_code, "station": order.service_center.name},
            reference=order.number,
        )
        for order in orders
    )
