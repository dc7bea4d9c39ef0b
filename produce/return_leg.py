"""Produce on the truck's way back: the lots the county bought ride the return leg of the next run that calls
at their station (``logistics.pickups``, which knows a lot by its number only).

Registered from ``ProduceConfig.ready``: ``waiting`` gives the plan the lots bought, ready by the run's day
and on no run's return leg, with what they weigh and take (quantity × the kind's kg and m³ per unit) and, for
a perishable kind, the last day the lot keeps; ``lock`` claims the chosen ones inside the run's transaction;
``no_room`` writes on the lots no run of the plan had room for which run passed them by, and on which day, and
``clear`` takes it off the lots a later run loads.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef

from logistics import pickups
from logistics.models import Pickup

from .models import ProduceLot

S = ProduceLot.Status


def _on_a_run():
    return Exists(Pickup.objects.filter(lot_number=OuterRef("number"), status__in=pickups.LIVE))


def _pickups_before(numbers: list[str]) -> dict[str, int]:
    """How many pickups each of these lots had before (left behind, a run called off): its next is L<pk>-<n + 1>.

    One aggregate over the pickups of those lots, not a count per lot: a correlated count was one scan of the
    pickups for every lot waiting (2,000 lots: 2-3 s of a county's day when the planner chose a sequential scan).
    """
    if not numbers:
        return {}
    return dict(
        Pickup.objects.filter(lot_number__in=numbers)
        .order_by()
        .values("lot_number")
        .annotate(n=Count("pk"))
        .values_list("lot_number", "n")
    )


def waiting(station_ids: list[int], day: date) -> list[pickups.Goods]:
    """The lots to bring back from these stations on ``day``'s runs: two queries (the lots, their earlier pickups)."""
    rows = list(
        ProduceLot.objects.filter(station_id__in=station_ids, status=S.ACCEPTED, ready_on__lte=day)
        .exclude(_on_a_run())
        .order_by()  # the pool sorts them (perishables first, then stop order)
        .values_list(
            "pk",
            "number",
            "station_id",
            "quantity",
            "ready_on",
            "kind__kg_per_unit",
            "kind__m3_per_unit",
            "kind__perishable",
            "kind__keeps_days",
        )
    )
    earlier = _pickups_before([row[1] for row in rows])
    return [
        pickups.Goods(
            pk,
            station,
            (quantity * kg).quantize(Decimal("0.001")),
            (quantity * m3).quantize(Decimal("0.0001")),
            earlier.get(number, 0),
            lot=number,
            spoils_on=ready_on + timedelta(days=keeps) if perishable else None,
        )
        for pk, number, station, quantity, ready_on, kg, m3, perishable, keeps in rows
    ]


def lock(pks: list[int]) -> dict[int, bool]:
    """Of the chosen lots, those still bought and on no run, locked until the run commits, and whether each
    carries a no-room reason: one query."""
    return {
        pk: bool(run)
        for pk, run in ProduceLot.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk__in=pks, status=S.ACCEPTED)
        .exclude(_on_a_run())
        .values_list("pk", "no_room_run")
    }


def clear(pks: list[int]) -> None:
    """The loaded lots (locked by ``lock``) lose their no-room reason: one UPDATE."""
    ProduceLot.objects.filter(pk__in=pks).update(no_room_run="", no_room_day=None)


def no_room(pks: list[int], code: str, day: date | None) -> int:
    """Run ``code`` of ``day`` had no room for these lots: written on those still bought and on no run (another
    planner may have loaded some since): one UPDATE."""
    return (
        ProduceLot.objects.filter(pk__in=pks, status=S.ACCEPTED)
        .exclude(_on_a_run())
        .update(no_room_run=code[: ProduceLot._meta.get_field("no_room_run").max_length], no_room_day=day)
    )


@dataclass
class Run:
    """The run a lot rides back on, as its pages show it."""

    code: str
    day: date
    label: str
    status: str  # the pickup's, as people read it


def runs_of(numbers: list[str]) -> dict[str, Run]:
    """The live pickup (planned or collected) of each of these lots that has one: one query, none for no lots."""
    if not numbers:
        return {}
    rows = Pickup.objects.filter(lot_number__in=numbers, status__in=pickups.LIVE).select_related("batch_stop__batch")
    return {
        p.lot_number: Run(p.batch_stop.batch.code, p.batch_stop.batch.dispatch_date, p.label, p.get_status_display())
        for p in rows
    }


SOURCE = pickups.LotSource(waiting=waiting, lock=lock, clear=clear, no_room=no_room)
