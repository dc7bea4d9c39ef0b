"""Demo catalog: sellers, categories and real product kinds of a rural station, stock at every warehouse.

Deterministic and safe to run again: sellers by name, categories by slug,
products by SKU, stock by (product, warehouse).
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from partners.models import Warehouse

from . import stock as stocks
from .models import Category, Product, Promotion, Seller, Stock

SELLERS = {
    "史丹利农业集团": "4.00",
    "金正大生态工程": "3.50",
    "中化化肥": "3.00",
    "隆平高科种业": "6.00",
    "扬农化工": "5.00",
    "正大饲料": "2.50",
    "海尔智家": "2.00",
    "美的集团": "2.00",
    "格力电器": "1.50",
    "创维数字": "2.50",
    "雅迪科技": "3.00",
    "爱玛科技": "3.00",
    "中粮集团": "1.00",
    "联合利华": "8.00",
    "农夫山泉": "5.00",
}

# (slug, name, English name)
CATEGORIES = [
    ("fertilizer", "化肥", "Fertilizer"),
    ("seeds", "种子", "Seeds"),
    ("pesticide", "农药", "Pesticides"),
    ("feed", "饲料", "Animal feed"),
    ("farm-tools", "农具", "Farm tools"),
    ("appliances", "家电", "Home appliances"),
    ("e-bikes", "电动车", "E-bikes"),
    ("daily", "日用品", "Daily goods"),
    ("food", "粮油食品", "Grain, oil and food"),
]

# (category, seller, name, unit, price, kg, m3, needs installation)
BASE_PRODUCTS = [
    ("fertilizer", "史丹利农业集团", "复合肥 15-15-15 50kg", "袋", "168.00", "50", "0.060", False),
    ("fertilizer", "史丹利农业集团", "水稻专用复合肥 40kg", "袋", "145.00", "40", "0.050", False),
    ("fertilizer", "金正大生态工程", "控释复合肥 50kg", "袋", "198.00", "50", "0.060", False),
    ("fertilizer", "金正大生态工程", "水溶肥 10kg", "桶", "89.00", "10", "0.015", False),
    ("fertilizer", "中化化肥", "尿素 50kg", "袋", "135.00", "50", "0.055", False),
    ("fertilizer", "中化化肥", "磷酸二铵 50kg", "袋", "185.00", "50", "0.055", False),
    ("fertilizer", "中化化肥", "硫酸钾 50kg", "袋", "210.00", "50", "0.055", False),
    ("fertilizer", "中化化肥", "茶叶专用肥 40kg", "袋", "156.00", "40", "0.050", False),
    ("fertilizer", "史丹利农业集团", "生物有机肥 40kg", "袋", "78.00", "40", "0.060", False),
    ("seeds", "隆平高科种业", "甬优1540 杂交水稻种子 1kg", "袋", "98.00", "1", "0.002", False),
    ("seeds", "隆平高科种业", "中浙优8号 水稻种子 1kg", "袋", "86.00", "1", "0.002", False),
    ("seeds", "隆平高科种业", "郑单958 玉米种子 2kg", "袋", "62.00", "2", "0.003", False),
    ("seeds", "隆平高科种业", "浙油51 油菜籽 0.5kg", "袋", "35.00", "0.5", "0.001", False),
    ("seeds", "隆平高科种业", "早熟白菜种子 50g", "包", "8.50", "0.05", "0.0002", False),
    ("seeds", "隆平高科种业", "白萝卜种子 50g", "包", "6.00", "0.05", "0.0002", False),
    ("seeds", "隆平高科种业", "黄瓜种子 20g", "包", "12.00", "0.02", "0.0001", False),
    ("seeds", "隆平高科种业", "西瓜种子 20g", "包", "15.00", "0.02", "0.0001", False),
    ("pesticide", "扬农化工", "草甘膦 水剂 1L", "瓶", "28.00", "1.1", "0.0015", False),
    ("pesticide", "扬农化工", "吡虫啉 可湿性粉剂 100g", "袋", "12.00", "0.1", "0.0002", False),
    ("pesticide", "扬农化工", "阿维菌素 乳油 500ml", "瓶", "26.00", "0.55", "0.0008", False),
    ("pesticide", "扬农化工", "多菌灵 可湿性粉剂 500g", "袋", "18.00", "0.5", "0.0008", False),
    ("pesticide", "扬农化工", "井冈霉素 水剂 1L", "瓶", "22.00", "1.1", "0.0015", False),
    ("feed", "正大饲料", "育肥猪饲料 40kg", "袋", "165.00", "40", "0.050", False),
    ("feed", "正大饲料", "蛋鸡饲料 40kg", "袋", "142.00", "40", "0.050", False),
    ("feed", "正大饲料", "鸭饲料 40kg", "袋", "138.00", "40", "0.050", False),
    ("feed", "正大饲料", "草鱼饲料 40kg", "袋", "155.00", "40", "0.050", False),
    ("farm-tools", "美的集团", "电动喷雾器 16L", "台", "199.00", "5", "0.030", False),
    ("farm-tools", "美的集团", "农用水管 50m", "卷", "85.00", "6", "0.025", False),
    ("farm-tools", "美的集团", "锰钢锄头", "把", "35.00", "1.5", "0.006", False),
    ("farm-tools", "美的集团", "不锈钢镰刀", "把", "18.00", "0.4", "0.002", False),
    ("appliances", "海尔智家", "海尔 双门冰箱 218升", "台", "1599.00", "50", "0.450", False),
    ("appliances", "海尔智家", "海尔 三门冰箱 258升", "台", "2099.00", "58", "0.520", False),
    ("appliances", "海尔智家", "海尔 波轮洗衣机 8kg", "台", "1099.00", "32", "0.300", True),
    ("appliances", "海尔智家", "海尔 电热水器 60升", "台", "999.00", "25", "0.150", True),
    ("appliances", "美的集团", "美的 挂式空调 1.5匹", "套", "2499.00", "45", "0.350", True),
    ("appliances", "美的集团", "美的 柜式空调 3匹", "套", "5299.00", "90", "0.700", True),
    ("appliances", "美的集团", "美的 滚筒洗衣机 10kg", "台", "1899.00", "70", "0.380", True),
    ("appliances", "美的集团", "美的 电饭煲 4L", "台", "269.00", "4", "0.030", False),
    ("appliances", "美的集团", "美的 电磁炉", "台", "199.00", "3", "0.020", False),
    ("appliances", "美的集团", "美的 落地电风扇", "台", "159.00", "6", "0.050", False),
    ("appliances", "格力电器", "格力 挂式空调 1匹", "套", "2199.00", "40", "0.330", True),
    ("appliances", "格力电器", "格力 挂式空调 1.5匹", "套", "2799.00", "46", "0.360", True),
    ("appliances", "创维数字", "创维 43寸 液晶电视", "台", "1199.00", "9", "0.120", True),
    ("appliances", "创维数字", "创维 55寸 液晶电视", "台", "1999.00", "15", "0.200", True),
    ("appliances", "创维数字", "创维 65寸 液晶电视", "台", "2999.00", "22", "0.300", True),
    ("e-bikes", "雅迪科技", "雅迪 电动自行车 48V", "辆", "2399.00", "55", "0.600", False),
    ("e-bikes", "雅迪科技", "雅迪 电动摩托车 60V", "辆", "3599.00", "85", "0.900", False),
    ("e-bikes", "爱玛科技", "爱玛 电动自行车 48V", "辆", "2299.00", "52", "0.600", False),
    ("e-bikes", "爱玛科技", "爱玛 电动三轮车 60V", "辆", "4299.00", "160", "1.800", False),
    ("e-bikes", "雅迪科技", "电动车铅酸电池 48V20Ah", "组", "599.00", "28", "0.030", False),
    ("daily", "联合利华", "奥妙 洗衣粉 3kg", "袋", "39.90", "3", "0.006", False),
    ("daily", "联合利华", "中华 牙膏 200g", "支", "12.90", "0.25", "0.0005", False),
    ("daily", "联合利华", "清扬 洗发水 500ml", "瓶", "49.90", "0.6", "0.0008", False),
    ("daily", "联合利华", "力士 香皂 3块装", "盒", "15.90", "0.4", "0.0006", False),
    ("daily", "联合利华", "卫生纸 10卷", "提", "29.90", "1.5", "0.020", False),
    ("food", "中粮集团", "福临门 大豆油 5L", "桶", "69.90", "4.6", "0.007", False),
    ("food", "中粮集团", "福临门 菜籽油 5L", "桶", "89.90", "4.6", "0.007", False),
    ("food", "中粮集团", "东北大米 25kg", "袋", "135.00", "25", "0.035", False),
    ("food", "中粮集团", "香雪 面粉 10kg", "袋", "48.00", "10", "0.015", False),
    ("food", "中粮集团", "食用盐 400g", "袋", "2.50", "0.4", "0.0005", False),
    ("food", "中粮集团", "白砂糖 1kg", "袋", "9.90", "1", "0.0012", False),
    ("food", "中粮集团", "老抽酱油 1.9L", "瓶", "18.90", "2.2", "0.003", False),
    ("food", "农夫山泉", "农夫山泉 饮用水 550ml×24", "箱", "36.00", "13.5", "0.022", False),
    ("food", "农夫山泉", "东方树叶 茶饮料 500ml×15", "箱", "69.00", "8", "0.015", False),
    ("food", "中粮集团", "纯牛奶 250ml×24", "箱", "59.90", "6.3", "0.010", False),
    ("food", "中粮集团", "方便面 24袋", "箱", "45.00", "2.5", "0.030", False),
]
# Sizes or pack variants that make up the rest of a realistic catalog (about 150 kinds).
VARIANTS = {
    "fertilizer": [("25kg 小包装", Decimal("0.52"), Decimal("0.5"))],
    "seeds": [("5袋装", Decimal("4.6"), Decimal("5")), ("10袋装", Decimal("8.8"), Decimal("10"))],
    "pesticide": [("整箱 20瓶", Decimal("18.5"), Decimal("20")), ("3瓶装", Decimal("2.9"), Decimal("3"))],
    "appliances": [("尊享版", Decimal("1.25"), Decimal("1.05"))],
    "e-bikes": [("长续航版", Decimal("1.2"), Decimal("1.05"))],
    "feed": [("20kg", Decimal("0.52"), Decimal("0.5"))],
    "daily": [("家庭装×3", Decimal("2.8"), Decimal("3"))],
    "food": [("整箱×4", Decimal("3.8"), Decimal("4"))],
    "farm-tools": [("两件装", Decimal("1.9"), Decimal("2"))],
}


def _catalog_rows():
    rows = []
    for index, (cat, seller, name, unit, price, kg, m3, install) in enumerate(BASE_PRODUCTS, start=1):
        sku = f"{cat[:3].upper()}-{index:04d}"
        rows.append((sku, cat, seller, name, unit, Decimal(price), Decimal(kg), Decimal(m3), install))
        for v_index, (suffix, price_factor, size_factor) in enumerate(VARIANTS.get(cat, []), start=1):
            rows.append(
                (
                    f"{sku}-{v_index}",
                    cat,
                    seller,
                    f"{name.rsplit(' ', 1)[0]} {suffix}",
                    unit,
                    (Decimal(price) * price_factor).quantize(Decimal("0.1")),
                    Decimal(kg) * size_factor,
                    Decimal(m3) * size_factor,
                    install,
                )
            )
    return rows


@transaction.atomic
def seed_catalog() -> dict[str, int]:
    rng = random.Random(618)
    created = {"sellers": 0, "categories": 0, "products": 0, "stock rows": 0}
    sellers = {}
    for name, rate in SELLERS.items():
        sellers[name], made = Seller.objects.get_or_create(name=name, defaults={"default_commission_rate": rate})
        created["sellers"] += made
    categories = {}
    for position, (slug, name, name_en) in enumerate(CATEGORIES):
        categories[slug], made = Category.objects.get_or_create(
            slug=slug, defaults={"name": name, "name_en": name_en, "position": position}
        )
        created["categories"] += made
        if not categories[slug].name_en:  # seeded before categories had English names
            categories[slug].name_en = name_en
            categories[slug].save()  # save(): the products' search text takes the English name
    for sku, cat, seller, name, unit, price, kg, m3, install in _catalog_rows():
        _, made = Product.objects.get_or_create(
            sku=sku,
            defaults={
                "name": name,
                "category": categories[cat],
                "seller": sellers[seller],
                "unit": unit,
                "price": price,
                "weight_kg": kg,
                "volume_m3": m3,
                "needs_installation": install,
            },
        )
        created["products"] += made
    # Goods in through the stock service, as a warehouse receives them: each row starts with its movement.
    existing = set(Stock.objects.values_list("product_id", "warehouse_id"))
    for product in Product.objects.order_by("pk"):
        for warehouse in Warehouse.objects.order_by("pk"):
            if (product.pk, warehouse.pk) in existing:
                continue
            quantity = rng.randrange(40, 120) if product.price > 1000 else rng.randrange(300, 900)
            stocks.receive_stock(
                product=product, warehouse=warehouse, quantity=quantity, actor=None, note="演示期初入库"
            )
            created["stock rows"] += 1
    now = timezone.now()
    Promotion.objects.get_or_create(
        name="双11 家电节 9折",
        defaults={
            "category": categories["appliances"],
            "percent_off": Decimal("10"),
            "starts_at": now - timedelta(days=3),
            "ends_at": now + timedelta(days=30),
        },
    )
    Promotion.objects.get_or_create(
        name="春耕特价 复合肥",
        defaults={
            "product": Product.objects.get(sku="FER-0001"),
            "price": Decimal("158.00"),
            "starts_at": now - timedelta(days=1),
            "ends_at": now + timedelta(days=30),
        },
    )
    return {k: v for k, v in created.items() if v}
