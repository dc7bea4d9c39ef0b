"""Demo orders in every status (on the demo catalog of catalog.demo), its commission rule and statements.

Deterministic and safe to run again: orders by their idempotency key (a second
run gets the first orders back from place_order and leaves them alone).
"""

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import time_machine
from django.utils import timezone

from catalog.models import Category, Product
from partners.models import CountyManager, ServiceCenter, StationStaff

from . import commissions, returns, services
from .models import CommissionRule, CommissionStatement, Order

S = Order.Status

DEMO_ORDERS = 320
# The status each demo order ends in, and how many of each (in that order).
STATUS_MIX = [
    (S.PLACED, 40),
    (S.CONFIRMED, 70),
    (S.BATCHED, 20),
    (S.IN_TRANSIT, 20),
    (S.AT_STATION, 30),
    (S.COLLECTED, 110),
    (S.RETURNED, 10),
    (S.CANCELLED, 20),
]


def seed_commission_rules() -> int:
    """The demo's commission rule on top of the sellers' rates (after catalog.demo.seed_catalog); how many were made."""
    e_bikes = Category.objects.get(slug="e-bikes")
    _, made = CommissionRule.objects.get_or_create(category=e_bikes, defaults={"rate": Decimal("4.50")})
    return int(made)


# Hours after placement at which each step happened, for orders placed in the past.
STEP_DELAY = {S.CONFIRMED: 1, S.BATCHED: 20, S.IN_TRANSIT: 26, S.AT_STATION: 34, S.COLLECTED: 50, S.RETURNED: 98}


@dataclass(frozen=True)
class Onward:
    """A demo order confirmed and bound further (batched and beyond): logistics carries it on."""

    order: Order
    final: str
    user: object
    placed_at: datetime


def seed_orders(*, carrier=None) -> int:
    """Place the demo orders through the real services and walk each to its status.

    Orders end placed, confirmed or cancelled here; those bound further are
    confirmed and handed to ``carrier(onward: list[Onward])``, which logistics
    provides (orders cannot import logistics): it plans them into runs, departs,
    receives, hands over and returns them through the services, so every demo
    state is one the system can reach, and leave by its next step.

    Collected and returned orders happened over the last three months: the
    services run with the clock turned back (time-machine), so every event and
    ledger entry carries its real date, as if the station had been working.
    """
    rng = random.Random(1111)
    stations = list(ServiceCenter.objects.select_related("village__county__warehouse").order_by("code"))
    staff = {s.service_center_id: s.user for s in StationStaff.objects.select_related("user")}
    products = list(Product.objects.filter(is_active=True).order_by("sku"))
    everyday = [p for p in products if p.price < 300]
    installable = [p for p in products if p.needs_installation]
    statuses = [status for status, count in STATUS_MIX for _ in range(count)]
    first_of_county = {}
    for station in stations:
        first_of_county.setdefault(station.village.county_id, station)
    favourites = list(first_of_county.values())  # the demo users' stations get the most orders
    villagers_of = {st.pk: list(st.villagers.order_by("pk")[:40]) for st in stations}
    fallback_user = staff.get(favourites[0].pk)
    made = 0
    onward: list[Onward] = []
    on_credit: Counter = Counter()  # station pk -> pay-on-pickup orders confirmed by this seeding, at list prices
    now = timezone.now()
    for n, final in enumerate(statuses):
        station = favourites[n % len(favourites)] if n % 3 else rng.choice(stations)
        villager = rng.choice(villagers_of[station.pk])
        user = staff.get(station.pk, fallback_user)
        picks = rng.sample(everyday, k=rng.choice([1, 1, 2, 3]))
        if rng.random() < 0.15:
            picks.append(rng.choice([p for p in products if p.price >= 300]))
        # Every seventh order bound for a station buys an appliance to install: the installer's page has work.
        seventh = n % 7 == 0 and final in (S.BATCHED, S.IN_TRANSIT, S.AT_STATION) and bool(villager.address)
        if seventh and installable and not any(p.needs_installation for p in picks):
            picks.append(installable[n % len(installable)])
        # Home installation only for a villager whose address a driver can find
        install = (
            any(p.needs_installation for p in picks) and bool(villager.address) and (seventh or rng.random() < 0.5)
        )
        # not for an order the demo has collected months ago: its installer hands it over (installations.demo)
        install = install and final not in (S.COLLECTED, S.RETURNED)
        quantities = [rng.choice([1, 1, 2, 3]) for _ in picks]
        payment = rng.choice(Order.PaymentMethod.values)
        if install:  # the installer takes no money at the villager's home
            payment = Order.PaymentMethod.CASH_AT_STATION
        if payment == Order.PaymentMethod.PAY_ON_PICKUP and final not in (S.PLACED, S.CANCELLED):
            # Within the station's pay-on-pickup limit, as the confirmation requires (list prices: at most).
            # Counted here, not read back, so that a second seeding sends the same orders (idempotency keys).
            estimate = sum((p.price * q for p, q in zip(picks, quantities, strict=True)), Decimal("0"))
            if on_credit[station.pk] + estimate > station.pay_on_pickup_limit:
                payment = Order.PaymentMethod.CASH_AT_STATION
            else:
                on_credit[station.pk] += estimate
        if final in (S.COLLECTED, S.RETURNED):
            placed_at = now - timedelta(hours=rng.randrange(6 * 24, 92 * 24))  # the last three months
        elif final in (S.PLACED, S.CONFIRMED, S.CANCELLED):
            placed_at = now - timedelta(hours=rng.randrange(1, 30))
        else:
            placed_at = now - timedelta(hours=rng.randrange(STEP_DELAY[final] + 1, STEP_DELAY[final] + 48))
        placed_at = _in_opening_hours(placed_at, station)
        with time_machine.travel(placed_at, tick=True):
            placement = services.place_order(
                station=station,
                villager=villager,
                placed_by=user,
                lines=[services.LineRequest(p.sku, q) for p, q in zip(picks, quantities, strict=True)],
                delivery_method=Order.DeliveryMethod.HOME_INSTALLATION
                if install
                else Order.DeliveryMethod.STATION_PICKUP,
                payment_method=payment,
                idempotency_key=f"demo-{n:04d}",
                # Orders left waiting for the villager's say text their code (the console shows it, and
                # ``manage.py sms_reply`` answers as the villager would).
                notify=final == S.PLACED,
            )
        if not placement.created:
            continue
        made += 1
        order = placement.order
        if final == S.CANCELLED:
            with time_machine.travel(placed_at + timedelta(minutes=30), tick=True):
                services.cancel_order(order=order, actor=user, reason="村民改主意了")
        elif final != S.PLACED:
            with time_machine.travel(placed_at + timedelta(hours=STEP_DELAY[S.CONFIRMED]), tick=True):
                services.confirm_payment(order=order, consent_code=order.consent_code, actor=user)
            if final != S.CONFIRMED:
                onward.append(Onward(order=order, final=final, user=user, placed_at=placed_at))
    if carrier and onward:
        carrier(onward)
    return made


def _in_opening_hours(moment: datetime, station) -> datetime:
    """The same day at a counter hour: a demo order keyed at night would be a self-dealing signal (integrity)."""
    local = timezone.localtime(moment)
    if station.opens_at <= local.time() < station.closes_at:
        return moment
    return local.replace(hour=station.opens_at.hour + 2 + local.hour % 8)


def finish_at_station(item: Onward, *, not_before: datetime) -> None:
    """Hand over (and return) a demo order its run brought to the station (at ``not_before``), at STEP_DELAY's hours."""
    order, user = item.order, item.user
    if order.delivery_method == Order.DeliveryMethod.HOME_INSTALLATION:
        return  # its installer hands it over at the villager's home (installations.demo)
    for step in (S.COLLECTED, S.RETURNED):
        if order.status == item.final:
            return
        at = max(
            item.placed_at + timedelta(hours=STEP_DELAY[step]), not_before + timedelta(hours=STEP_DELAY[step] - 34)
        )
        with time_machine.travel(at, tick=True):
            if step == S.COLLECTED and order.pk % 9 == 0:  # a few villagers lost their code: the county sees it
                services.hand_over(
                    order=order,
                    actor=user,
                    payment_taken=True,
                    without_code=services.WithoutCode("村民说短信删了", "核对本人身份证，尾号 0417"),
                )
            elif step == S.COLLECTED:
                services.hand_over(order=order, actor=user, pickup_code=order.pickup_code, payment_taken=True)
            else:
                returns.return_order(order=order, actor=user, reason="尺寸不合适")


def seed_statements() -> int:
    """Build the statements of the months before this one; the county approved the older ones and paid the oldest."""
    this_month = commissions.month_start(timezone.localdate())
    months = commissions.months_with_unfiled_entries(before=this_month)
    for month in months:
        commissions.build_statements(month=month)
    county_user = CountyManager.objects.select_related("user").first()
    actor = county_user.user if county_user else None
    for statement in CommissionStatement.objects.filter(month__lt=this_month).order_by("month"):
        age = (this_month.year - statement.month.year) * 12 + this_month.month - statement.month.month
        if age >= 2 and statement.status == CommissionStatement.Status.DRAFT and statement.total >= 0:
            commissions.approve_statement(statement=statement, actor=actor)
        if age >= 3 and statement.status == CommissionStatement.Status.APPROVED:
            commissions.mark_paid(statement=statement, actor=actor)
    return len(months)
