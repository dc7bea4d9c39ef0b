"""Packing properties: capacity never exceeded, nothing split, every order placed or given a reason."""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from logistics.packing import Item, Truck, pack

weights = st.decimals(min_value=Decimal("0.1"), max_value=Decimal("900"), places=1)
volumes = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("6"), places=3)
items = st.lists(st.tuples(weights, volumes), max_size=80).map(
    lambda rows: [Item(n, w, v) for n, (w, v) in enumerate(rows, start=1)]
)
trucks = st.lists(
    st.tuples(
        st.decimals(min_value=Decimal("100"), max_value=Decimal("3000"), places=0),
        st.decimals(min_value=Decimal("1"), max_value=Decimal("16"), places=1),
    ),
    max_size=6,
).map(lambda rows: [Truck(100 + n, kg, m3) for n, (kg, m3) in enumerate(rows)])


@settings(max_examples=300, deadline=None)
@given(items=items, trucks=trucks, busy=st.integers(0, 3))
def test_it_never_exceeds_capacity_never_splits_and_accounts_for_every_order(items, trucks, busy):
    fleet, trucks = trucks, trucks[busy:]  # the first few are out on another run today
    packing = pack(items, trucks, fleet=fleet)

    placed = [item for load in packing.loads for item in load.items]
    accounted = placed + packing.too_large + packing.no_truck_left
    assert sorted(i.order_id for i in accounted) == sorted(i.order_id for i in items)  # each exactly once
    for load in packing.loads:
        assert load.items, "no empty run"
        assert sum(i.weight for i in load.items) <= load.truck.capacity_kg
        assert sum(i.volume for i in load.items) <= load.truck.capacity_m3
    assert len({load.truck.vehicle_id for load in packing.loads}) == len(packing.loads)  # a truck runs once
    for item in packing.too_large:
        assert not any(t.holds(item) for t in fleet)
    for item in packing.no_truck_left:
        assert not fleet or any(t.holds(item) for t in fleet)  # no truck at all is "no vehicle left"
        assert len(packing.loads) == len(trucks) or all(  # only short of trucks when the unused ones cannot hold it
            not t.holds(item) for t in trucks if t.vehicle_id not in {ld.truck.vehicle_id for ld in packing.loads}
        )


def test_it_fills_the_largest_truck_first():
    small, large = Truck(1, Decimal("500"), Decimal("4")), Truck(2, Decimal("2000"), Decimal("10"))

    packing = pack([Item(1, Decimal("300"), Decimal("1")), Item(2, Decimal("300"), Decimal("1"))], [small, large])

    assert [load.truck for load in packing.loads] == [large]


def test_without_trucks_every_order_waits():
    packing = pack([Item(1, Decimal("1"), Decimal("0.1"))], [])

    assert packing.no_truck_left == [Item(1, Decimal("1"), Decimal("0.1"))]
