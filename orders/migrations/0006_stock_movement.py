"""StockMovement: every change of a Stock row, append-only; the rows as they stand become opening balances.

On PostgreSQL a trigger refuses UPDATE and DELETE of movements (as 0003 does for the
commission ledger); SQLite relies on StockMovement.save/delete and its queryset.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


APPEND_ONLY = """
CREATE OR REPLACE FUNCTION orders_stockmovement_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'stock movements are append-only: % refused (movement %)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_stockmovement_append_only
    BEFORE UPDATE OR DELETE ON orders_stockmovement
    FOR EACH ROW EXECUTE FUNCTION orders_stockmovement_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS orders_stockmovement_append_only ON orders_stockmovement;
DROP FUNCTION IF EXISTS orders_stockmovement_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_ONLY, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


def record_opening_balances(apps, schema_editor):
    """One 'opening' movement per Stock row that holds anything, so every row equals the sum of its movements."""
    Stock = apps.get_model("orders", "Stock")
    StockMovement = apps.get_model("orders", "StockMovement")
    rows = Stock.objects.exclude(on_hand=0, reserved=0).order_by("pk").values_list(
        "product_id", "warehouse_id", "on_hand", "reserved"
    )
    batch = []
    for product_id, warehouse_id, on_hand, reserved in rows.iterator(chunk_size=1000):
        batch.append(
            StockMovement(
                product_id=product_id,
                warehouse_id=warehouse_id,
                kind="opening",
                on_hand_delta=on_hand,
                reserved_delta=reserved,
                note="balance when the stock ledger started",
            )
        )
        if len(batch) >= 1000:
            StockMovement.objects.bulk_create(batch)
            batch = []
    StockMovement.objects.bulk_create(batch)


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0005_order_exception_paid_at'),
        ('partners', '0003_villager_anonymised_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StockMovement',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('opening', 'opening balance'), ('received', 'received'), ('counted', 'counted'), ('written_off', 'written off'), ('reserved', 'reserved'), ('released', 'released'), ('shipped', 'shipped'), ('returned', 'returned')], max_length=12, verbose_name='kind')),
                ('on_hand_delta', models.IntegerField(default=0, verbose_name='on hand change')),
                ('reserved_delta', models.IntegerField(default=0, verbose_name='reserved change')),
                ('note', models.CharField(blank=True, max_length=500, verbose_name='note')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='at')),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by')),
                ('order', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='stock_movements', to='orders.order', verbose_name='order')),
                ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='orders.product', verbose_name='product')),
                ('warehouse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='partners.warehouse', verbose_name='warehouse')),
            ],
            options={
                'verbose_name': 'stock movement',
                'verbose_name_plural': 'stock movements',
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(fields=['product', 'warehouse', 'created_at'], name='stock_movement_row_recent')],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('kind', 'opening'), ('on_hand_delta__gte', 0), ('reserved_delta__gte', 0)), models.Q(('kind__in', ['received', 'returned']), ('on_hand_delta__gt', 0), ('reserved_delta', 0)), models.Q(('kind', 'counted'), ('reserved_delta', 0)), models.Q(('kind', 'written_off'), ('on_hand_delta__lt', 0), ('reserved_delta', 0)), models.Q(('kind', 'reserved'), ('on_hand_delta', 0), ('reserved_delta__gt', 0)), models.Q(('kind', 'released'), ('on_hand_delta', 0), ('reserved_delta__lt', 0)), models.Q(('kind', 'shipped'), ('on_hand_delta__lt', 0), ('reserved_delta', models.F('on_hand_delta'))), _connector='OR'), name='stock_movement_deltas_by_kind'), models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['reserved', 'released', 'shipped', 'returned']), ('order__isnull', False)), models.Q(('kind__in', ['opening', 'received', 'counted', 'written_off']), ('order__isnull', True)), _connector='OR'), name='stock_movement_order_for_order_kinds')],
            },
        ),
        migrations.RunPython(record_opening_balances, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
