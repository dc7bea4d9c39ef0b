"""Property tests: whatever the sequence of placements, hand-overs, returns and builds, the ledger balances."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from orders import commissions, returns, services
from orders.models import CommissionEntry, CommissionStatement, Order
from tests.factories import ProductFactory, StationStaffFactory, StockFactory, VillagerFactory, WarehouseFactory
from tests.order_steps import arrive, depart

E = CommissionEntry.Kind
START = datetime(2026, 1, 20, 10, tzinfo=ZoneInfo("Asia/Shanghai"))

operation = st.one_of(
    st.tuples(st.just("place"), st.integers(1, 7), st.sampled_from(["9.99", "99.99", "168.00", "0.30", "2499.00"])),
    st.tuples(st.just("deliver"), st.integers(0, 30), st.just("")),
    st.tuples(st.just("return"), st.integers(0, 30), st.just("")),
    st.tuples(st.just("build"), st.integers(0, 2), st.just("")),
    st.tuples(st.just("approve"), st.integers(0, 30), st.just("")),
    st.tuples(st.just("pay"), st.integers(0, 30), st.just("")),
    st.tuples(st.just("wait"), st.integers(1, 40), st.just("")),
)


class LedgerProperties(TestCase):
    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(operations=st.lists(operation, max_size=30))
    def test_it_balances_whatever_happens(self, operations):
        staff = StationStaffFactory()
        station = staff.service_center
        WarehouseFactory(county=station.village.county)
        villager = VillagerFactory(service_center=station)
        products = {}
        now = START
        keys = iter(range(10_000))
        for op, number, price in operations:
            with time_machine.travel(now, tick=False):
                if op == "place":
                    if price not in products:
                        product = ProductFactory(price=Decimal(price), seller__default_commission_rate=Decimal("3.5"))
                        StockFactory(product=product, warehouse=station.warehouse, on_hand=10_000)
                        products[price] = product
                    services.place_order(
                        station=station,
                        villager=villager,
                        placed_by=staff.user,
                        lines=[services.LineRequest(products[price].sku, number)],
                        delivery_method="station_pickup",
                        payment_method="cash_at_station",
                        idempotency_key=f"p{next(keys)}",
                        notify=False,
                    )
                elif op == "deliver":
                    order = Order.objects.filter(status=Order.Status.PLACED).order_by("pk")[number : number + 1].first()
                    if order:
                        services.confirm_payment(order=order, consent_code=order.consent_code, actor=staff.user)
                        services.transition(order, to=Order.Status.BATCHED)
                        depart(order=order)
                        arrive(order=order, notify=False)
                        services.hand_over(order=order, actor=staff.user, pickup_code=order.pickup_code)
                elif op == "return":
                    order = (
                        Order.objects.filter(status=Order.Status.COLLECTED).order_by("pk")[number : number + 1].first()
                    )
                    if order:
                        try:
                            returns.return_order(order=order, actor=staff.user, reason="退货")
                        except services.OrderError:
                            pass  # past the return window: refused, and nothing may change
                elif op == "build":
                    month = commissions.month_start(now.date())
                    for _ in range(number):
                        month = commissions.previous_month(month)
                    commissions.build_statements(month=month)
                elif op == "approve":
                    statement = (
                        CommissionStatement.objects.filter(status="draft").order_by("pk")[number : number + 1].first()
                    )
                    if statement:
                        try:
                            commissions.approve_statement(statement=statement, actor=staff.user)
                        except commissions.CommissionError:
                            assert statement.total < 0  # below zero: refused, it carries forward
                elif op == "pay":
                    statement = (
                        CommissionStatement.objects.filter(status="approved")
                        .order_by("pk")[number : number + 1]
                        .first()
                    )
                    if statement:
                        commissions.mark_paid(statement=statement, actor=staff.user)  # never below zero
                else:
                    now += timedelta(days=number)

        entries = list(CommissionEntry.objects.all())
        # every amount is yuan and fen, never zero
        for entry in entries:
            assert entry.amount == entry.amount.quantize(Decimal("0.01"))
            assert entry.amount.as_tuple().exponent == -2
            assert entry.amount != 0
        # a returned order nets to 0.00; a collected one to its frozen commission; the rest earned nothing
        for order in Order.objects.all():
            net = sum((e.amount for e in entries if e.order_id == order.pk), Decimal("0.00"))
            expected = order.commission_total if order.status == Order.Status.COLLECTED else Decimal("0.00")
            assert net == expected, (order.status, net, expected)
        # each statement equals its entries
        for statement in CommissionStatement.objects.all():
            filed = sum(
                (e.amount for e in entries if e.statement_id == statement.pk and e.kind != E.PAYOUT), Decimal(0)
            )
            assert statement.total == filed
        # no payout is ever positive (a statement below zero is never paid), none is in an unpaid statement
        for entry in entries:
            if entry.kind == E.PAYOUT:
                assert entry.amount < 0
                assert entry.statement.status == CommissionStatement.Status.PAID
        # the ledger re-derived: all of it, payouts included, is what the unpaid statements and unfiled entries owe
        unpaid = sum((s.total for s in CommissionStatement.objects.exclude(status="paid")), Decimal(0))
        unfiled = sum((e.amount for e in entries if e.statement_id is None), Decimal(0))
        assert sum((e.amount for e in entries), Decimal(0)) == unpaid + unfiled
        # a full rebuild files each remaining entry once and changes no statement
        before = {s.pk: (s.total, s.status) for s in CommissionStatement.objects.all()}
        filed_before = {e.pk: e.statement_id for e in entries if e.statement_id}
        for month in commissions.months_with_unfiled_entries():
            commissions.build_statements(month=month)
        for month in commissions.months_with_unfiled_entries():
            assert commissions.build_statements(month=month).entries == 0
        after = {e.pk: e.statement_id for e in CommissionEntry.objects.all()}
        assert all(after[pk] == statement for pk, statement in filed_before.items())
        assert all(statement_id is not None for statement_id in after.values())
        for pk, (total, status) in before.items():
            if status != "draft":
                assert CommissionStatement.objects.get(pk=pk).total == total
