"""python manage.py plan_dispatch [--warehouse CODE] [--date YYYY-MM-DD]"""

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from logistics import services
from logistics.models import UnplannedOrder
from partners.models import Warehouse


def parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--date {value!r}: use YYYY-MM-DD") from None


class Command(BaseCommand):
    help = "Plan delivery batches for a warehouse (default: all) and a date (default: today)."

    def add_arguments(self, parser):
        parser.add_argument("--warehouse", help="warehouse code; default: every warehouse")
        parser.add_argument("--date", type=parse_date, help="dispatch date YYYY-MM-DD; default: today")

    def handle(self, *args, warehouse=None, date=None, **options):
        day = date or timezone.localdate()
        warehouses = Warehouse.objects.order_by("code")
        if warehouse:
            warehouses = warehouses.filter(code=warehouse)
            if not warehouses:
                known = ", ".join(Warehouse.objects.values_list("code", flat=True)) or "none"
                raise CommandError(f"No warehouse {warehouse!r} (known: {known})")
        reasons = dict(UnplannedOrder.Reason.choices)
        for wh in warehouses:
            self.stdout.write(f"Planning {wh.code} for {day}...")
            report = services.plan_dispatch(warehouse=wh, dispatch_date=day)
            if report.busy:
                self.stdout.write(self.style.WARNING("  another planner is working on this warehouse; skipped"))
                continue
            for b in report.batches:
                self.stdout.write(
                    f"  {b.code}: vehicle {b.vehicle}, {b.parcels} parcels, {b.stops} stops, load {b.load_percent}%"
                )
            self.stdout.write(self.style.SUCCESS(f"  {len(report.batches)} batches, {report.parcels} parcels"))
            for reason, count in sorted(report.unplanned.items()):
                self.stdout.write(f"  left confirmed: {count} ({reasons.get(reason, reason)})")
            if report.lost_races:
                self.stdout.write(f"  {report.lost_races} batches taken by another planner meanwhile")
