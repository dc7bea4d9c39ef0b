"""python manage.py create_logistics_client NAME --warehouse CODE [--warehouse CODE]"""

from django.core.management.base import BaseCommand, CommandError

from logistics.clients import UnknownWarehouse, create_client
from partners.models import Warehouse


class Command(BaseCommand):
    help = "Create a logistics API client for warehouses and print a new key (shown once; only its hash is kept)."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--warehouse", action="append", required=True, help="warehouse code (repeatable)")

    def handle(self, *args, name, warehouse, **options):
        try:
            client, key = create_client(name=name.strip()[:100], warehouse_codes=warehouse)
        except UnknownWarehouse as exc:
            known = ", ".join(Warehouse.objects.values_list("code", flat=True)) or "none"
            raise CommandError(f"Unknown warehouse {exc} (known: {known})") from None
        codes = ", ".join(client.warehouses.values_list("code", flat=True))
        self.stdout.write(f"Client {client.name!r} sees: {codes}")
        self.stdout.write("API key (shown only now; send it as 'Authorization: Token <key>'):")
        self.stdout.write(key)
