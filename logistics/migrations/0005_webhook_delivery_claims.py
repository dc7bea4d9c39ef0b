from django.db import migrations, models


class Migration(migrations.Migration):
    """A webhook delivery is claimed for the POST (claimed_until) and knows when its retry is due."""

    dependencies = [
        ("logistics", "0004_parcel_live_per_order"),
    ]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="claimed until"),
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="next_attempt_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="next attempt at"),
        ),
    ]
