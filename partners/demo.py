"""Demo partner network: two counties of Zhejiang, their villages, stations, staff and villagers.

Deterministic (a fixed random seed) and safe to run again: rows are found by
their natural keys and topped up, never duplicated.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import transaction

from .models import County, CountyManager, ServiceCenter, StationStaff, Village, Villager, Warehouse
from .signals import villager_consent_changed

VILLAGERS_PER_STATION = 25

# (code, name, warehouse code, warehouse address, [(town, village), ...])
COUNTIES = [
    (
        "330182",
        "建德市",
        "JD-WH",
        "浙江省杭州市建德市洋溪街道高新园区仓储中心",
        [
            ("大慈岩镇", "里叶村"),
            ("乾潭镇", "胥岭村"),
            ("寿昌镇", "乌石村"),
            ("下涯镇", "之江村"),
            ("杨村桥镇", "徐坑村"),
            ("莲花镇", "戴家村"),
            ("三都镇", "梓源村"),
        ],
    ),
    (
        "330127",
        "淳安县",
        "CA-WH",
        "浙江省杭州市淳安县千岛湖镇坪山工业园仓储中心",
        [
            ("威坪镇", "茶山村"),
            ("汾口镇", "赤川口村"),
            ("临岐镇", "鱼泽村"),
            ("枫树岭镇", "下姜村"),
            ("姜家镇", "浪洞村"),
            ("文昌镇", "王家源村"),
            ("石林镇", "港口村"),
        ],
    ),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段漕钱汤尹黎易常武乔贺赖龚文"
GIVEN = "建国秀英桂兰玉珍国强志明丽华春梅小红伟军海燕德福金凤永刚淑珍文华红霞建华秀兰明华志强桂芳少华玉兰"
GIVEN_PAIRS = [GIVEN[i : i + 2] for i in range(0, len(GIVEN) - 1, 2)]
MOBILE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "177", "180", "186", "187", "188", "189", "199"]  # fmt: skip


DEMO_USERS = {
    "admin": "superuser: everything in /admin/",
    "partner": "partner of the first Jiande station",
    "partner2": "partner of the first Chun'an station",
    "county": "county manager of Jiande",
}


@dataclass
class NetworkReport:
    created: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, created: bool) -> None:
        if created:
            self.created[what] = self.created.get(what, 0) + 1


def _villager_rows(station: ServiceCenter, rng: random.Random, *, wanted: int, taken: set[str]) -> list[Villager]:
    rows = []
    while len(rows) < wanted:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_PAIRS + list(GIVEN))
        phone = ""
        if rng.random() < 0.8:  # some neighbours have no phone at all
            phone = "+86" + rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if phone in taken:
                continue
            taken.add(phone)
        rows.append(
            Villager(
                service_center=station,
                name=name,
                phone=phone,
                sms_consent=bool(phone) and rng.random() < 0.7,
                notes=rng.choice(["", "", "", "腿脚不便，可送货上门", "只接电话，不看短信", "儿子在杭州打工"]),
                address=f"{rng.choice('一二三四五六')}组 {rng.randrange(1, 60)} 号" if rng.random() < 0.6 else "",
            )
        )
    return rows


@transaction.atomic
def seed_network(*, password: str) -> NetworkReport:
    rng = random.Random(330182)
    report = NetworkReport()
    first_station_of = {}
    for county_code, county_name, wh_code, wh_address, villages in COUNTIES:
        county, created = County.objects.get_or_create(
            code=county_code, defaults={"name": county_name, "province": "浙江省"}
        )
        report.count("counties", created)
        _, created = Warehouse.objects.get_or_create(
            code=wh_code, defaults={"county": county, "name": f"{county_name}县域仓", "address": wh_address}
        )
        report.count("warehouses", created)
        for index, (town, village_name) in enumerate(villages, start=1):
            village, created = Village.objects.get_or_create(county=county, town=town, name=village_name)
            report.count("villages", created)
            code = f"{county_code}-{index:03d}"
            station, created = ServiceCenter.objects.get_or_create(
                code=code,
                defaults={
                    "name": f"{village_name}服务站",
                    "village": village,
                    "address": f"浙江省{county_name}{town}{village_name}村委会旁",
                    "phone": "+86" + MOBILE_PREFIXES[index] + f"{rng.randrange(10**8):08d}",
                    "opened_on": datetime.date(2016, 1, 1) + datetime.timedelta(days=rng.randrange(2000)),
                },
            )
            report.count("stations", created)
            first_station_of.setdefault(county_code, station)
            have = station.villagers.count()
            if have < VILLAGERS_PER_STATION:
                taken = set(station.villagers.exclude(phone="").values_list("phone", flat=True))
                rows = _villager_rows(station, rng, wanted=VILLAGERS_PER_STATION - have, taken=taken)
                Villager.objects.bulk_create(rows)
                for villager in rows:  # asked at the counter, as register_villager records it
                    if villager.phone:
                        villager_consent_changed.send(sender=Villager, villager=villager, granted=villager.sms_consent)
                report.created["villagers"] = report.created.get("villagers", 0) + len(rows)

    jiande = County.objects.get(code="330182")
    users = [
        ("admin", {"is_staff": True, "is_superuser": True}, None),
        ("partner", {}, first_station_of["330182"]),
        ("partner2", {}, first_station_of["330127"]),
        ("county", {"is_staff": True}, None),
    ]
    User = get_user_model()
    for username, flags, station in users:
        user, created = User.objects.get_or_create(username=username, defaults=flags)
        report.count("users", created)
        user.set_password(password)
        user.save(update_fields=["password"])
        if station is not None:
            StationStaff.objects.update_or_create(
                user=user, defaults={"service_center": station, "role": StationStaff.Role.PARTNER}
            )
    county_user = User.objects.get(username="county")
    CountyManager.objects.get_or_create(user=county_user, county=jiande)
    return report
