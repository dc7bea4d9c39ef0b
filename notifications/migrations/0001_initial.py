"""The SMS outbox moves out of orders: its model in state only, on the table it had (orders_notification)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("orders", "0008_catalog_moved_out"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            # The table stays as it is (db_table keeps its name): no row moves.
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name="Notification",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("channel", models.CharField(choices=[("sms", "SMS")], default="sms", max_length=10, verbose_name="channel")),
                        ("recipient", models.CharField(max_length=32, verbose_name="recipient")),
                        ("template", models.CharField(max_length=50, verbose_name="template")),
                        ("payload", models.JSONField(default=dict, verbose_name="payload")),
                        ("status", models.CharField(choices=[("pending", "pending"), ("sent", "sent"), ("failed", "failed")], default="pending", max_length=10, verbose_name="status")),
                        ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                        ("last_error", models.CharField(blank=True, max_length=500, verbose_name="last error")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("claimed_until", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="claimed until")),
                        ("next_attempt_at", models.DateTimeField(blank=True, editable=False, null=True, verbose_name="next attempt at")),
                        # Dropped by 0002 once its villager and reference are copied over.
                        ("order", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="orders.order", verbose_name="order")),
                    ],
                    options={
                        "verbose_name": "notification",
                        "verbose_name_plural": "notifications",
                        "db_table": "orders_notification",
                        "ordering": ["-created_at", "-pk"],
                        "indexes": [models.Index(fields=["status", "created_at"], name="notification_pending")],
                    },
                ),
            ],
        ),
    ]
