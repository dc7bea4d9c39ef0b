"""The catalog moved out of orders (catalog 0001): orders forgets its models and points at catalog's, in state only."""

import django.db.models.deletion
from django.db import migrations, models


MOVED = ["seller", "category", "product", "stock", "promotion", "stockmovement"]


def move_content_types(apps, schema_editor, *, source="orders", target="catalog"):
    """Carry the content types over, so admin log entries and group permissions on these models stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MOVED:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="catalog", target="orders")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("orders", "0007_notification_claims"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The tables stay as they are (db_table keeps their names): no row moves.
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="commissionrule",
                    name="category",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="catalog.category",
                        verbose_name="category",
                    ),
                ),
                migrations.RemoveField(
                    model_name="promotion",
                    name="category",
                ),
                migrations.RemoveField(
                    model_name="product",
                    name="category",
                ),
                migrations.RemoveField(
                    model_name="product",
                    name="seller",
                ),
                migrations.AlterField(
                    model_name="orderline",
                    name="product",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="catalog.product",
                        verbose_name="product",
                    ),
                ),
                migrations.RemoveField(
                    model_name="stockmovement",
                    name="product",
                ),
                migrations.RemoveField(
                    model_name="stock",
                    name="product",
                ),
                migrations.AlterField(
                    model_name="commissionrule",
                    name="product",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="catalog.product",
                        verbose_name="product",
                    ),
                ),
                migrations.RemoveField(
                    model_name="promotion",
                    name="product",
                ),
                migrations.AlterField(
                    model_name="commissionrule",
                    name="seller",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        to="catalog.seller",
                        verbose_name="seller",
                    ),
                ),
                migrations.RemoveField(
                    model_name="stock",
                    name="warehouse",
                ),
                migrations.RemoveField(
                    model_name="stockmovement",
                    name="actor",
                ),
                migrations.RemoveField(
                    model_name="stockmovement",
                    name="order",
                ),
                migrations.RemoveField(
                    model_name="stockmovement",
                    name="warehouse",
                ),
                migrations.DeleteModel(
                    name="Category",
                ),
                migrations.DeleteModel(
                    name="Product",
                ),
                migrations.DeleteModel(
                    name="Promotion",
                ),
                migrations.DeleteModel(
                    name="Seller",
                ),
                migrations.DeleteModel(
                    name="Stock",
                ),
                migrations.DeleteModel(
                    name="StockMovement",
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
