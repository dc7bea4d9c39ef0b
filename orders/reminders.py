"""Goods not collected: the SMS that reminds a villager their goods wait at the station (issue #14).

``send_pickup_reminders`` runs daily (``orders.tasks.remind_uncollected``, 09:00). An order at the
station whose goods arrived a reminder day ago (the collection policy's 3 and 7 by default) gets
that day's reminder once: a ``PickupReminder`` row per order and day, unique in the database, says
it went. A run that comes late sends each order only the latest reminder it has reached, never the
ones it missed, and nothing once the goods are due to go back. The whole run is a few queries
whatever the number of orders: the policy, the orders due (with their arrival and their last
reminder), one INSERT of texts, one of reminders.
"""

import logging
from datetime import date, timedelta

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from notifications import services as notifications

from .models import Order, PickupReminder
from .policy import Policy, collection_policy, start_of_day
from .selectors import arrival_time

logger = logging.getLogger("ruralshop.orders")

TEMPLATE = "order_reminder"


def send_pickup_reminders(*, today: date | None = None) -> int:
    """Queue today's reminder SMS of every order waiting at a station; returns how many reminders were due.

    Villagers without a phone or consent get none (``to_villager``), but their turn is recorded all the
    same, so a later run does not text them a stale reminder. Safe to run twice, and twice at once.
    """
    today = today or timezone.localdate()
    policy = collection_policy()
    try:
        with transaction.atomic():
            orders = _orders_due(policy, today=today)
            if not orders:
                return 0
            due = [(order, policy.wait(order.arrived_at, today=today)) for order in orders]
            texts = [
                notifications.to_villager(
                    order.villager,
                    template=TEMPLATE,
                    payload={
                        "order": order.number,
                        "pickup_code": order.pickup_code,
                        "station": order.service_center.name,
                        "days": wait.days,
                        "send_back_on": f"{wait.send_back_on.month}月{wait.send_back_on.day}日",
                    },
                    reference=order.number,
                )
                for order, wait in due
            ]
            # queue_sms writes the texts in one INSERT (in this transaction, sent after commit), in order.
            queued = iter(notifications.queue_sms(texts))
            PickupReminder.objects.bulk_create(
                PickupReminder(
                    order=order,
                    day=policy.due_reminder(wait.days),
                    notification=next(queued) if text is not None else None,
                )
                for (order, wait), text in zip(due, texts, strict=True)
            )
    except IntegrityError:
        # Another run wrote the same (order, day) reminders first and committed: it sent them, and this
        # run's texts went with its rollback. (Waiting on that run's rows is what the unique index does.)
        logger.info("Pickup reminders of %s already sent by another run", today)
        return 0
    logger.info("Pickup reminders of %s: %s orders, %s SMS queued", today, len(due), sum(t is not None for t in texts))
    return len(due)


def _orders_due(policy: Policy, *, today: date) -> list[Order]:
    """The orders at a station that reached a reminder day they have not had (nor a later one), locked.

    One window per reminder day, in dates: an order that arrived ``d`` or more days ago but fewer than
    the next reminder (or the send-back) day ago is due reminder ``d`` unless its last reminder is ``d``
    or later. The order rows are locked (in primary-key order) so a hand-over cannot slip in between
    choosing an order and texting its villager: the status is read again under the lock.
    """
    windows = policy.reminder_windows()
    if not windows:
        return []
    last_reminder = PickupReminder.objects.filter(order=OuterRef("pk")).order_by("-day").values("day")[:1]
    due = Q()
    for day, until in windows:
        # days waited >= day  <=>  arrived before the start of (today - day + 1); < until likewise
        arrived = Q(
            arrived_at__lt=start_of_day(today - timedelta(days=day - 1)),
            arrived_at__gte=start_of_day(today - timedelta(days=until - 1)),
        )
        due |= arrived & (Q(last_reminder__isnull=True) | Q(last_reminder__lt=day))
    orders = (
        # An order with home installation waits for its installer, not for the villager to come.
        Order.objects.filter(status=Order.Status.AT_STATION)
        .exclude(delivery_method=Order.DeliveryMethod.HOME_INSTALLATION)
        .annotate(arrived_at=arrival_time(), last_reminder=Subquery(last_reminder))
        .filter(due)
        .select_related("villager", "service_center")
        .select_for_update(of=("self",))
        .order_by("pk")
    )
    return list(orders)
