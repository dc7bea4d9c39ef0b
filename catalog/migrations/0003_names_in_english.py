from django.db import migrations, models

# Units typed before the list, written another way, and the unit of the list they are.  Any other unit is left
# as it is: it stays valid (a CharField with choices checks in forms only) and is shown as stored, until the
# product is next edited in the admin and a unit of the list is chosen.  Guessing one (件 for 吨) would
# misstate what the price is per.
SAME_UNIT = {
    "千克": "公斤",
    "kg": "公斤",
    "公升": "升",
    "l": "升",
    "piece": "件",
    "pcs": "件",
    "pc": "件",
    "枚": "个",
    "头": "只",
}


def to_the_list(apps, schema_editor):
    Product = apps.get_model("catalog", "Product")
    for stored in Product.objects.order_by().values_list("unit", flat=True).distinct():
        unit = stored.strip()
        unit = SAME_UNIT.get(unit.lower(), unit)
        if unit != stored:
            Product.objects.filter(unit=stored).update(unit=unit)


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0002_quarantine_return_days'),
    ]

    operations = [
        migrations.AddField(
            model_name='category',
            name='name_en',
            field=models.CharField(blank=True, default='', help_text='Blank: the Chinese name in English too.', max_length=50, verbose_name='English name'),
        ),
        migrations.AlterField(
            model_name='product',
            name='unit',
            field=models.CharField(choices=[('件', 'piece'), ('个', 'each'), ('把', 'item'), ('袋', 'bag'), ('包', 'packet'), ('组', 'pack'), ('提', 'multipack'), ('盒', 'box'), ('箱', 'carton'), ('瓶', 'bottle'), ('桶', 'barrel'), ('罐', 'can'), ('支', 'tube'), ('卷', 'roll'), ('张', 'sheet'), ('双', 'pair'), ('套', 'set'), ('台', 'unit'), ('辆', 'vehicle'), ('只', 'head'), ('斤', 'jin (500 g)'), ('公斤', 'kg'), ('吨', 'tonne'), ('升', 'litre'), ('米', 'metre')], default='件', max_length=20, verbose_name='unit'),
        ),
        # Back: nothing to undo, every unit of the list was a valid free-text unit.
        migrations.RunPython(to_the_list, migrations.RunPython.noop, elidable=True),
    ]
