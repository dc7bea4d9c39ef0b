from django.db import migrations, models


class Migration(migrations.Migration):
    """The SMS outbox claims a message for the gateway call (claimed_until) and knows when its retry is due."""

    dependencies = [
        ("orders", "0006_stock_movement"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="claimed until"),
        ),
        migrations.AddField(
            model_name="notification",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="next attempt at"),
        ),
    ]
