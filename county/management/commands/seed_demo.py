"""python manage.py seed_demo [--password PW]: the demo network, catalog, orders and produce.

Lives in ``installations``, the highest app with models, which may import every other one, so one
command can seed all of them.
"""

import secrets
from pathlib import Path

from django.core.management.base import BaseCommand

from cashbook.demo import seed_cash
from catalog.demo import seed_catalog
from installations.demo import DEMO_INSTALLER_USER, seed_appointments, seed_installers
from integrity.demo import seed_reviews
from logistics.clients import create_client
from logistics.demo import carry, seed_cancelled_run, seed_routes
from logistics.models import LogisticsClient
from orders.demo import seed_commission_rules, seed_orders, seed_statements
from partners.demo import DEMO_USERS as NETWORK_USERS
from partners.demo import seed_network
from partners.models import ServiceCenter, Warehouse
from produce.demo import seed_produce

DEMO_CLIENT = "县域物流（演示）"
DEMO_USERS = {**NETWORK_USERS, DEMO_INSTALLER_USER: "installer of Jiande: the day's appointments, on a phone"}


class Command(BaseCommand):
    help = "Create (or top up) the demo counties, stations, users and villagers. Safe to run twice."

    def add_arguments(self, parser):
        parser.add_argument("--password", help="password of the demo users (random and printed when omitted)")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="read the password from this file, or write a new random one to it (used by make run)",
        )
        parser.add_argument("--if-empty", action="store_true", help="do nothing when the database holds stations")

    def handle(self, *args, password=None, password_file=None, if_empty=False, **options):
        if not password and password_file and password_file.exists():
            password = password_file.read_text().strip()
        if if_empty and ServiceCenter.objects.exists():
            self.stdout.write("The database already holds data; not seeding.")
            self._print_logins(password)
            self._demo_api_client(password_file)
            return
        password = password or secrets.token_urlsafe(9)
        if password_file:
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        self.stdout.write("Seeding the partner network...")
        report = seed_network(password=password)
        if report.created:
            made = ", ".join(f"{n} {what}" for what, n in report.created.items())
            self.stdout.write(self.style.SUCCESS(f"Created {made}."))
        else:
            self.stdout.write("The demo network already exists; nothing to add.")
        self.stdout.write("Seeding the catalog and stock...")
        made = seed_catalog()
        seed_commission_rules()
        self.stdout.write(
            ", ".join(f"{n} {what}" for what, n in made.items()) + " created." if made else "Catalog exists."
        )
        made = seed_routes()
        self.stdout.write(
            ", ".join(f"{n} {what}" for what, n in made.items()) + " created." if made else "Routes exist."
        )
        self.stdout.write("Placing demo orders through the order services (takes a few seconds)...")
        count = seed_orders(carrier=carry)
        seed_cancelled_run()
        self.stdout.write(f"{count} orders placed." if count else "Demo orders exist.")
        months = seed_statements()
        self.stdout.write(f"Commission statements built for {months} months." if months else "Statements exist.")
        if lots := seed_produce():
            self.stdout.write(f"{lots} produce lots listed, bought, received and paid through the produce services.")
        if seed_cash():
            self.stdout.write("A day closed and a remittance waiting for the county, at the busiest station.")
        if installers := seed_installers(password=password):
            self.stdout.write(f"{installers} installers for the counties' installation appointments.")
        if booked := seed_appointments():
            self.stdout.write(f"{booked} installation appointments booked for the demo's installation orders.")
        flagged, call_backs = seed_reviews()
        self.stdout.write(f"Review: {flagged} orders flagged for the county, {call_backs} call-backs to make.")
        self._print_logins(password)
        self._demo_api_client(password_file)

    def _demo_api_client(self, password_file: Path | None) -> None:
        """One logistics API client for both demo warehouses; its key is printed when it is created."""
        key_file = password_file.with_name("demo-api-key") if password_file else None
        if LogisticsClient.objects.filter(name=DEMO_CLIENT).exists():
            if key_file and key_file.exists():
                self.stdout.write(f"Logistics API key ({DEMO_CLIENT}): {key_file.read_text().strip()}")
            return
        _, key = create_client(name=DEMO_CLIENT, warehouse_codes=list(Warehouse.objects.values_list("code", flat=True)))
        if key_file:
            key_file.write_text(key + "\n")
            key_file.chmod(0o600)
        self.stdout.write(f"Logistics API key ({DEMO_CLIENT}), shown once: {key}")
        self.stdout.write("  try: curl -H 'Authorization: Token <key>' http://127.0.0.1:8000/api/v1/batches/")

    def _print_logins(self, password: str | None) -> None:
        if not password:
            self.stdout.write("Demo users: " + ", ".join(DEMO_USERS) + " (passwords as set when they were seeded).")
            return
        self.stdout.write("Demo logins (user / password):")
        for username, role in DEMO_USERS.items():
            self.stdout.write(f"  {username:<10} {password}   {role}")
