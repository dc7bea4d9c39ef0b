"""Demo produce: the kinds each demo county buys, and lots of the demo partners' villagers in every open state.

Every lot goes through ``produce.services`` (listed, bought, received and graded, paid), so each demo state is
one the system can reach and leave by its next step.  Safe to run again: kinds by their name in the county,
and a station that has lots already is left alone.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from partners.models import County, CountyManager, ServiceCenter, StationStaff

from . import services
from .models import ProduceKind, ProduceLot

U = ProduceKind.Unit


# name: unit, grades, perishable, keeps (days), kg per unit, m³ per unit, commission (%), restricted, needs certificate
KINDS = {
    "土鸡蛋": (U.PIECE, "一级,二级", True, 10, "0.060", "0.0001", "3.00", False, False),
    "高山土豆": (U.KG, "一级,二级,三级", False, 60, "1.000", "0.0015", "2.00", False, False),
    "农家腊肉": (U.KG, "一级,二级", False, 90, "1.000", "0.0020", "5.00", True, True),
    "高山云雾茶": (U.KG, "特级,一级,二级", False, 180, "1.000", "0.0040", "4.00", False, False),
    "土蜂蜜": (U.KG, "一级,二级", False, 365, "1.000", "0.0010", "4.00", False, False),
    "乌骨鸡（活）": (U.HEAD, "一级", True, 3, "1.500", "0.0200", "3.00", True, True),
}
# name: English name, grades in English
KINDS_EN = {
    "土鸡蛋": ("Free-range eggs", "Grade 1,Grade 2"),
    "高山土豆": ("Mountain potatoes", "Grade 1,Grade 2,Grade 3"),
    "农家腊肉": ("Farmhouse smoked pork", "Grade 1,Grade 2"),
    "高山云雾茶": ("Mountain cloud-mist tea", "Premium,Grade 1,Grade 2"),
    "土蜂蜜": ("Wild honey", "Grade 1,Grade 2"),
    "乌骨鸡（活）": ("Silkie chickens (live)", "Grade 1"),
}


@dataclass(frozen=True)
class DemoLot:
    kind: str
    quantity: str
    grade: str
    price_asked: str
    ready_in: int  # days from today
    to: str  # the state it ends in
    price: str = ""  # the county's, per unit
    received: str = ""  # the quantity received
    grade_received: str = ""
    certificate: str = ""
    reference: str = ""  # paid to the villager's account: the transfer's reference (else cash at the counter)


S = ProduceLot.Status
# The first station of a county with a manager: a lot of each kind, one in each state.
LOTS = [
    DemoLot("土鸡蛋", "300", "一级", "0.90", 1, S.LISTED),
    DemoLot("高山土豆", "150", "二级", "2.20", 2, S.LISTED),
    DemoLot("土蜂蜜", "20", "一级", "60.00", 0, S.ACCEPTED, price="55.00"),
    DemoLot("农家腊肉", "30", "一级", "68.00", 0, S.RECEIVED, "65.00", "28.5", "一级", certificate="浙动检A330182001"),
    DemoLot("高山云雾茶", "8", "特级", "320.00", 0, S.PAID, "300.00", "7.8", "一级"),
    DemoLot("乌骨鸡（活）", "6", "一级", "85.00", 0, S.PAID, "80.00", "6", "一级", "浙动检A330182002", "WX20260001"),
]
# The first station of a county without a manager: listed, waiting for the county.
LISTED_ONLY = [
    DemoLot("高山土豆", "200", "一级", "2.40", 3, S.LISTED),
    DemoLot("土鸡蛋", "120", "二级", "0.80", 1, S.LISTED),
]


def seed_kinds() -> int:
    """The kinds of produce every county buys; how many were made."""
    made = 0
    for county in County.objects.order_by("code"):
        for name, (unit, grades, perishable, keeps, kg, m3, rate, restricted, certificate) in KINDS.items():
            name_en, grades_en = KINDS_EN[name]
            kind, created = ProduceKind.objects.get_or_create(
                county=county,
                name=name,
                defaults={
                    "name_en": name_en,
                    "grades_en": grades_en,
                    "unit": unit,
                    "grades": grades,
                    "perishable": perishable,
                    "keeps_days": keeps,
                    "kg_per_unit": Decimal(kg),
                    "m3_per_unit": Decimal(m3),
                    "commission_rate": Decimal(rate),
                    "restricted": restricted,
                    "allowed": True,
                    "needs_certificate": certificate,
                },
            )
            made += created
            if not kind.name_en and not kind.grades_en:  # seeded before kinds had English names
                ProduceKind.objects.filter(pk=kind.pk).update(name_en=name_en, grades_en=grades_en)
    return made


def _walk(spec: DemoLot, *, station, villager, partner, manager) -> ProduceLot:
    kind = ProduceKind.objects.get(county_id=station.village.county_id, name=spec.kind)
    lot = services.list_lot(
        station=station,
        villager=villager,
        kind=kind,
        quantity=spec.quantity,
        grade=spec.grade,
        price_asked=spec.price_asked,
        ready_on=timezone.localdate() + timedelta(days=spec.ready_in),
        certificate_no=spec.certificate,
        actor=partner,
    )
    if spec.to == S.LISTED:
        return lot
    lot = services.accept_lot(lot=lot, price=spec.price, actor=manager)
    if spec.to == S.ACCEPTED:
        return lot
    lot = services.receive_lot(lot=lot, quantity=spec.received, grade=spec.grade_received, actor=manager)
    if spec.to == S.RECEIVED:
        return lot
    via = ProduceLot.PaidVia.ACCOUNT if spec.reference else ProduceLot.PaidVia.CASH
    return services.pay_lot(lot=lot, actor=partner, via=via, reference=spec.reference)


@transaction.atomic
def seed_produce() -> int:
    """The kinds, and the demo lots at each county's first station with a partner; how many lots were listed."""
    seed_kinds()
    managers = {m.county_id: m.user for m in CountyManager.objects.select_related("user").order_by("pk")}
    partners = {
        s.service_center_id: s.user
        for s in StationStaff.objects.filter(role=StationStaff.Role.PARTNER).select_related("user").order_by("pk")
    }
    first_of_county: dict[int, ServiceCenter] = {}
    for station in ServiceCenter.objects.filter(pk__in=partners).select_related("village").order_by("code"):
        first_of_county.setdefault(station.village.county_id, station)
    made = 0
    for county_id, station in first_of_county.items():
        if ProduceLot.objects.filter(station=station).exists():
            continue
        manager = managers.get(county_id)
        specs = LOTS if manager is not None else LISTED_ONLY
        villagers = list(station.villagers.order_by("pk")[: len(specs)])
        for spec, villager in zip(specs, villagers, strict=False):
            _walk(spec, station=station, villager=villager, partner=partners[station.pk], manager=manager)
            made += 1
    return made
