"""python manage.py build_statements [--month YYYY-MM]"""

from datetime import datetime

from django.core.management.base import BaseCommand, CommandError

from orders import commissions


def parse_month(value: str):
    try:
        return datetime.strptime(value, "%Y-%m").date()  # noqa: DTZ007 - a calendar month, no time
    except ValueError:
        raise CommandError(f"--month {value!r}: use YYYY-MM, such as 2026-10") from None


class Command(BaseCommand):
    help = "File unfiled commission entries into monthly statements. Safe to run again."

    def add_arguments(self, parser):
        parser.add_argument("--month", type=parse_month, help="YYYY-MM; without it, every month with unfiled entries")

    def handle(self, *args, month=None, **options):
        months = [month] if month else commissions.months_with_unfiled_entries()
        if not months:
            self.stdout.write("No unfiled commission entries.")
            return
        for m in months:
            report = commissions.build_statements(month=m)
            carried = f"; {report.carried} below zero carried forward" if report.carried else ""
            self.stdout.write(f"{m:%Y-%m}: {report.entries} entries filed into {report.statements} statements{carried}")
