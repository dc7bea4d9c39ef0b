"""The SMS outbox moved out of orders (notifications 0001): orders forgets its model, in state only."""

from django.db import migrations


def move_content_type(apps, schema_editor, *, source="orders", target="notifications"):
    """Carry the content type over, so admin log entries and group permissions on the outbox stay attached."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label=target, model="notification").exists():
        ContentType.objects.filter(app_label=source, model="notification").update(app_label=target)


def move_content_type_back(apps, schema_editor):
    move_content_type(apps, schema_editor, source="notifications", target="orders")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0001_initial"),
        ("orders", "0008_catalog_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[migrations.DeleteModel(name="Notification")],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
