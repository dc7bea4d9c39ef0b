"""What orders tell villagers: the texts (registered with the outbox by ``OrdersConfig.ready``) and their queueing."""

from django.conf import settings

from notifications import services as notifications

from .models import Order

SMS_TEMPLATES = {
    "order_placed": "【村淘】您的订单{order}已在{station}下单，取货码{pickup_code}，到货后会再通知您。",
    # orders.consent: the villager agrees by reading the code out at the counter or sending it back
    "order_consent": "【村淘】{station}为您下单{order}，共{total}元，{promised}前到站。同意请把确认码{code}告诉站长，"
    "或回复{code}；{hours}小时内未确认将自动取消。",
    "order_arrived": "【村淘】您的订单{order}已到{station}，请凭取货码{pickup_code}取货。",
    # orders.consent.expire_unconfirmed: to the station's phone
    "orders_expired_station": "【村淘】{count}笔订单（{orders}）村民{hours}小时内未确认，已自动取消，库存已释放。",
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


def ask_by_sms(orders: list[Order]) -> None:
    """Queue the consent code of each order to its villager (``consent_via`` SMS): one INSERT, sent after commit."""
    notifications.queue_sms(
        notifications.to_villager(
            order.villager,
            template="order_consent",
            payload={
                "order": order.number,
                "station": order.service_center.name,
                "total": f"{order.total:.2f}",
                "code": order.consent_code,
                "hours": settings.ORDER_CONSENT_HOURS,
                "promised": f"{order.promised_on:%m月%d日}" if order.promised_on else "",
            },
            reference=order.number,
        )
        for order in orders
    )
