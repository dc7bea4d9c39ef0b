"""Demo installers: two for each county, so that installation orders of the demo can be booked."""

from partners.models import County

from .models import Installer

DEMO_INSTALLERS = [("张师傅", "13900000101", 2), ("李师傅", "13900000102", 1)]


def seed_installers() -> int:
    made = 0
    for county in County.objects.order_by("pk"):
        for name, phone, capacity in DEMO_INSTALLERS:
            _installer, created = Installer.objects.get_or_create(
                county=county, name=name, defaults={"phone": phone, "capacity": capacity}
            )
            made += created
    return made
