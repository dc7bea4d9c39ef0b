"""Packing orders into vehicle runs: pure functions, no database, so they can be tested exhaustively."""

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Item:
    order_id: int
    weight: Decimal
    volume: Decimal


@dataclass(frozen=True)
class Truck:
    vehicle_id: int
    capacity_kg: Decimal
    capacity_m3: Decimal

    def holds(self, item: Item) -> bool:
        return item.weight <= self.capacity_kg and item.volume <= self.capacity_m3


@dataclass
class Load:
    truck: Truck
    items: list[Item] = field(default_factory=list)
    weight: Decimal = Decimal("0")
    volume: Decimal = Decimal("0")

    def fits(self, item: Item) -> bool:
        return (
            self.weight + item.weight <= self.truck.capacity_kg and self.volume + item.volume <= self.truck.capacity_m3
        )

    def add(self, item: Item) -> None:
        self.items.append(item)
        self.weight += item.weight
        self.volume += item.volume


@dataclass
class Packing:
    loads: list[Load]
    too_large: list[Item]  # fits in no truck of the route, even an empty one
    no_truck_left: list[Item]  # would fit, but every truck of the day is full


def pack(items: list[Item], trucks: list[Truck], *, fleet: list[Truck] | None = None) -> Packing:
    """First-fit decreasing over weight and volume, never splitting an order.

    Items are taken largest first (by the larger of their shares of the
    biggest truck's weight and volume); each goes into the first open load
    it fits; when none fits, the largest unused truck that can hold it is
    opened.  Trucks are tried largest first, so few runs carry the day.
    """
    trucks = sorted(trucks, key=lambda t: (t.capacity_kg, t.capacity_m3, -t.vehicle_id), reverse=True)
    if not trucks:
        too_large = [i for i in items if fleet and not any(t.holds(i) for t in fleet)]
        return Packing(loads=[], too_large=too_large, no_truck_left=[i for i in items if i not in too_large])
    max_kg = max(t.capacity_kg for t in trucks)
    max_m3 = max(t.capacity_m3 for t in trucks)

    def size(item: Item):
        return (max(item.weight / max_kg, item.volume / max_m3), item.order_id * -1)

    loads: list[Load] = []
    unused = list(trucks)
    too_large, no_truck_left = [], []
    for item in sorted(items, key=size, reverse=True):
        if fleet and not any(t.holds(item) for t in fleet):
            too_large.append(item)
            continue
        load = next((load for load in loads if load.fits(item)), None)
        if load is None:
            truck = next((t for t in unused if t.holds(item)), None)
            if truck is None:
                no_truck_left.append(item)
                continue
            unused.remove(truck)
            load = Load(truck=truck)
            loads.append(load)
        load.add(item)
    return Packing(loads=loads, too_large=too_large, no_truck_left=no_truck_left)
