"""Product.search_text: what the catalog search looks in (names, SKU, seller, categories and their pinyin)."""

from django.db import migrations, models

from catalog import search_text  # (orders.search_text when this migration was written)


def fill_search_text(apps, schema_editor):
    """Fill the text of the products saved before the field existed, in batches."""
    Product = apps.get_model("orders", "Product")
    batch = []
    for product in Product.objects.select_related("category__parent__parent", "seller").order_by("pk").iterator(500):
        # search_text.of_product walks attributes only, so it works on the historical model too.
        product.search_text = search_text.of_product(product)
        batch.append(product)
        if len(batch) == 500:
            Product.objects.bulk_update(batch, ["search_text"])
            batch = []
    Product.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_commission_ledger_trigger")]

    operations = [
        migrations.AddField(
            model_name="product",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search text"),
        ),
        migrations.RunPython(fill_search_text, migrations.RunPython.noop, elidable=True),
    ]
