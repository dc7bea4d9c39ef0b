"""The catalog moves out of orders: its models in state only, on the tables they had (orders_product, ...)."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('orders', '0007_notification_claims'),
        ('partners', '0003_villager_anonymised_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (db_table keeps their names): no row moves.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='Category',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=50, verbose_name='name')),
                        ('slug', models.SlugField(unique=True, verbose_name='slug')),
                        ('position', models.PositiveSmallIntegerField(default=0, verbose_name='position')),
                        ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='children', to='catalog.category', verbose_name='parent')),
                    ],
                    options={
                        'verbose_name': 'category',
                        'verbose_name_plural': 'categories',
                        'db_table': 'orders_category',
                        'ordering': ['position', 'name'],
                    },
                ),
                migrations.CreateModel(
                    name='Seller',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, unique=True, verbose_name='name')),
                        ('default_commission_rate', models.DecimalField(decimal_places=2, default=Decimal('3.00'), max_digits=5, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='default commission rate (%)')),
                    ],
                    options={
                        'verbose_name': 'seller',
                        'verbose_name_plural': 'sellers',
                        'db_table': 'orders_seller',
                        'ordering': ['name'],
                        'constraints': [models.CheckConstraint(condition=models.Q(('default_commission_rate__gte', 0), ('default_commission_rate__lte', 100)), name='seller_rate_0_100')],
                    },
                ),
                migrations.CreateModel(
                    name='Product',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('sku', models.CharField(max_length=40, unique=True, verbose_name='SKU')),
                        ('name', models.CharField(max_length=200, verbose_name='name')),
                        ('unit', models.CharField(default='件', max_length=20, verbose_name='unit')),
                        ('price', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='price (CNY)')),
                        ('weight_kg', models.DecimalField(decimal_places=3, max_digits=9, verbose_name='weight (kg)')),
                        ('volume_m3', models.DecimalField(decimal_places=4, max_digits=9, verbose_name='volume (m³)')),
                        ('needs_installation', models.BooleanField(default=False, verbose_name='needs installation')),
                        ('is_active', models.BooleanField(default=True, verbose_name='on sale')),
                        ('search_text', models.TextField(blank=True, default='', editable=False, verbose_name='search text')),
                        ('category', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='products', to='catalog.category', verbose_name='category')),
                        ('seller', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='products', to='catalog.seller', verbose_name='seller')),
                    ],
                    options={
                        'verbose_name': 'product',
                        'verbose_name_plural': 'products',
                        'db_table': 'orders_product',
                        'ordering': ['category', 'name'],
                    },
                ),
                migrations.CreateModel(
                    name='Stock',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('on_hand', models.PositiveIntegerField(default=0, verbose_name='on hand')),
                        ('reserved', models.PositiveIntegerField(default=0, verbose_name='reserved')),
                        ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stock', to='catalog.product', verbose_name='product')),
                        ('warehouse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='stock', to='partners.warehouse', verbose_name='warehouse')),
                    ],
                    options={
                        'verbose_name': 'stock',
                        'verbose_name_plural': 'stock',
                        'db_table': 'orders_stock',
                    },
                ),
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
                        ('product', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='catalog.product', verbose_name='product')),
                        ('warehouse', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='partners.warehouse', verbose_name='warehouse')),
                    ],
                    options={
                        'verbose_name': 'stock movement',
                        'verbose_name_plural': 'stock movements',
                        'db_table': 'orders_stockmovement',
                        'ordering': ['-created_at', '-pk'],
                    },
                ),
                migrations.CreateModel(
                    name='Promotion',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=100, verbose_name='name')),
                        ('price', models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name='promotional price')),
                        ('percent_off', models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(100)], verbose_name='percent off')),
                        ('starts_at', models.DateTimeField(verbose_name='starts at')),
                        ('ends_at', models.DateTimeField(verbose_name='ends at')),
                        ('category', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='promotions', to='catalog.category', verbose_name='category')),
                        ('product', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='promotions', to='catalog.product', verbose_name='product')),
                    ],
                    options={
                        'verbose_name': 'promotion',
                        'verbose_name_plural': 'promotions',
                        'db_table': 'orders_promotion',
                        'ordering': ['-starts_at'],
                        'indexes': [models.Index(fields=['starts_at', 'ends_at'], name='promotion_window')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('category__isnull', True), ('product__isnull', False)), models.Q(('category__isnull', False), ('product__isnull', True)), _connector='OR'), name='promotion_product_xor_category'), models.CheckConstraint(condition=models.Q(models.Q(('percent_off__isnull', True), ('price__gt', 0), ('price__isnull', False)), models.Q(('percent_off__gt', 0), ('percent_off__isnull', False), ('percent_off__lt', 100), ('price__isnull', True)), _connector='OR'), name='promotion_price_xor_percent'), models.CheckConstraint(condition=models.Q(('ends_at__gt', models.F('starts_at'))), name='promotion_ends_after_start')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='product',
                    constraint=models.CheckConstraint(condition=models.Q(('price__gt', 0)), name='product_price_positive'),
                ),
                migrations.AddConstraint(
                    model_name='product',
                    constraint=models.CheckConstraint(condition=models.Q(('volume_m3__gte', 0), ('weight_kg__gte', 0)), name='product_size_not_negative'),
                ),
                migrations.AddConstraint(
                    model_name='stock',
                    constraint=models.UniqueConstraint(fields=('product', 'warehouse'), name='stock_unique_per_warehouse'),
                ),
                migrations.AddConstraint(
                    model_name='stock',
                    constraint=models.CheckConstraint(condition=models.Q(('reserved__gte', 0), ('reserved__lte', models.F('on_hand'))), name='stock_reserved_within_on_hand'),
                ),
                migrations.AddIndex(
                    model_name='stockmovement',
                    index=models.Index(fields=['product', 'warehouse', 'created_at'], name='stock_movement_row_recent'),
                ),
                migrations.AddConstraint(
                    model_name='stockmovement',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'opening'), ('on_hand_delta__gte', 0), ('reserved_delta__gte', 0)), models.Q(('kind__in', ['received', 'returned']), ('on_hand_delta__gt', 0), ('reserved_delta', 0)), models.Q(('kind', 'counted'), ('reserved_delta', 0)), models.Q(('kind', 'written_off'), ('on_hand_delta__lt', 0), ('reserved_delta', 0)), models.Q(('kind', 'reserved'), ('on_hand_delta', 0), ('reserved_delta__gt', 0)), models.Q(('kind', 'released'), ('on_hand_delta', 0), ('reserved_delta__lt', 0)), models.Q(('kind', 'shipped'), ('on_hand_delta__lt', 0), ('reserved_delta', models.F('on_hand_delta'))), _connector='OR'), name='stock_movement_deltas_by_kind'),
                ),
                migrations.AddConstraint(
                    model_name='stockmovement',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind__in', ['reserved', 'released', 'shipped', 'returned']), ('order__isnull', False)), models.Q(('kind__in', ['opening', 'received', 'counted', 'written_off']), ('order__isnull', True)), _connector='OR'), name='stock_movement_order_for_order_kinds'),
                ),
            ],
        ),
    ]
