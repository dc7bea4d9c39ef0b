"""Each message knows its villager (what anonymising them scrubs) and what it is about; the consent record.

The order a message was about gives both: its villager, and its number as the
reference (a run's SMS to a station has the run's code in its payload).  Every
villager with a phone gets one consent row with the answer they had, "recorded
before the consent record", so the record is complete from this release on.
"""

import django.db.models.deletion
from django.conf import settings
import itertools

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


BATCH = 2000


def copy_villager_and_reference(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Order = apps.get_model("orders", "Order")
    about_orders = Notification.objects.filter(order__isnull=False)
    about_orders.update(
        villager_id=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("villager_id")[:1]),
        reference=Subquery(Order.objects.filter(pk=OuterRef("order_id")).values("number")[:1]),
    )
    # A run's SMS to a station: the run's code is in the payload (a few per run; read, then written).
    for pk, payload in Notification.objects.filter(order__isnull=True, template="batch_planned").values_list(
        "pk", "payload"
    ).iterator(chunk_size=BATCH):
        code = (payload or {}).get("batch", "")
        if code:
            Notification.objects.filter(pk=pk).update(reference=str(code)[:40])


def copy_order_back(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    Order = apps.get_model("orders", "Order")
    Notification.objects.exclude(reference="").update(
        order_id=Subquery(Order.objects.filter(number=OuterRef("reference")).values("pk")[:1])
    )


def record_consent_as_it_was(apps, schema_editor):
    Villager = apps.get_model("partners", "Villager")
    Consent = apps.get_model("notifications", "Consent")
    villagers = Villager.objects.exclude(phone="").order_by("pk").values_list("pk", "sms_consent")
    rows = (
        Consent(villager_id=pk, purpose="sms", granted=granted, method="migrated")
        for pk, granted in villagers.iterator(chunk_size=BATCH)
    )
    while chunk := list(itertools.islice(rows, BATCH)):
        Consent.objects.bulk_create(chunk)


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0001_initial'),
        ('orders', '0009_notification_moved_out'),
        ('partners', '0003_villager_anonymised_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Consent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('purpose', models.CharField(choices=[('sms', 'SMS about their orders')], max_length=20, verbose_name='purpose')),
                ('granted', models.BooleanField(verbose_name='agrees')),
                ('method', models.CharField(choices=[('counter', 'asked at the counter'), ('paper', 'signed form'), ('admin', 'recorded by the county'), ('migrated', 'recorded before the consent record')], max_length=20, verbose_name='how')),
                ('recorded_at', models.DateTimeField(auto_now_add=True, verbose_name='when')),
            ],
            options={
                'verbose_name': 'consent',
                'verbose_name_plural': 'consent record',
                'ordering': ['-recorded_at', '-pk'],
            },
        ),
        migrations.AddField(
            model_name='notification',
            name='reference',
            field=models.CharField(blank=True, max_length=40, verbose_name='about'),
        ),
        migrations.AddField(
            model_name='notification',
            name='villager',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='notifications', to='partners.villager', verbose_name='villager'),
        ),
        migrations.RunPython(copy_villager_and_reference, copy_order_back),
        migrations.RemoveField(
            model_name='notification',
            name='order',
        ),
        migrations.AddIndex(
            model_name='notification',
            index=models.Index(fields=['reference'], name='notification_reference'),
        ),
        migrations.AddField(
            model_name='consent',
            name='recorded_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='consent',
            name='villager',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='consents', to='partners.villager'),
        ),
        migrations.AddIndex(
            model_name='consent',
            index=models.Index(fields=['villager', 'purpose', '-recorded_at'], name='consent_latest'),
        ),
        migrations.RunPython(record_consent_as_it_was, migrations.RunPython.noop),
    ]
