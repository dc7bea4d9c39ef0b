from io import StringIO

import pytest
from django.contrib import auth
from django.core.management import call_command
from django.db import transaction
from django.test import RequestFactory

from cashbook.models import CashEntry
from partners.models import County, CountyManager, ServiceCenter, StationStaff, Villager
from produce.models import ProduceKind, ProduceLot


def seed(*args) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def authenticate(**credentials):
    """As the login page does: axes needs the request (to count failures per username and IP)."""
    return auth.authenticate(RequestFactory().post("/accounts/login/"), **credentials)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """The demo seeded once for the tests that start from it (seeding takes tens of seconds): in a transaction
    rolled back after the module; each test's own changes are rolled back to its savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield seed("--password", "demo-pass-1")
        transaction.set_rollback(True)


def test_it_seeds_the_demo_network_and_can_run_twice(seeded, db):
    first = seeded
    counts = (County.objects.count(), ServiceCenter.objects.count(), Villager.objects.count())
    produce = (ProduceKind.objects.count(), ProduceLot.objects.count())

    second = seed("--password", "demo-pass-1")

    assert "Created" in first
    assert "already exists" in second
    assert counts == (County.objects.count(), ServiceCenter.objects.count(), Villager.objects.count())
    assert produce == (ProduceKind.objects.count(), ProduceLot.objects.count())
    assert set(County.objects.values_list("code", flat=True)) == {"330182", "330127"}
    assert counts[1] >= 12
    assert counts[2] >= 200


def test_the_demo_users_have_their_roles(seeded, db):
    partner = StationStaff.objects.get(user__username="partner").service_center
    partner2 = StationStaff.objects.get(user__username="partner2").service_center
    assert partner.village.county.code == "330182"
    assert partner2.village.county.code == "330127"
    assert CountyManager.objects.get(user__username="county").county.code == "330182"
    assert authenticate(username="admin", password="demo-pass-1").is_superuser


def test_it_prints_a_random_password_when_none_is_given(db):
    out = seed()

    password = out.split("admin", 1)[1].split()[0]
    assert authenticate(username="partner", password=password) is not None


def test_if_empty_leaves_an_existing_database_alone(seeded, db, tmp_path):
    out = seed("--if-empty", "--password-file", str(tmp_path / "pw"))

    assert "not seeding" in out
    assert authenticate(username="partner", password="demo-pass-1") is not None


def test_the_partner_and_the_county_have_produce_in_every_open_state(seeded, db):
    partner = StationStaff.objects.get(user__username="partner").service_center
    partner2 = StationStaff.objects.get(user__username="partner2").service_center
    jiande = partner.village.county
    kinds = {k.name: k for k in ProduceKind.objects.filter(county=jiande)}
    lots = ProduceLot.objects.filter(station=partner)

    assert len(kinds) >= 6
    assert kinds["土鸡蛋"].unit == ProduceKind.Unit.PIECE and kinds["土鸡蛋"].perishable
    assert kinds["农家腊肉"].needs_certificate and kinds["乌骨鸡（活）"].unit == ProduceKind.Unit.HEAD
    assert set(lots.values_list("status", flat=True)) == {"listed", "accepted", "received", "paid"}
    assert set(lots.filter(status="paid").values_list("paid_via", flat=True)) == {"cash", "account"}
    cash_paid = lots.get(status="paid", paid_via="cash")
    assert (
        CashEntry.objects.get(kind="produce", reference=cash_paid.number).amount == -cash_paid.value
    )  # out of the drawer, once
    assert all(lot.value == (lot.received_quantity * lot.price).quantize(lot.value) for lot in lots if lot.value)
    # Chun'an has no demo manager: its partner's lots wait for the county.
    assert set(ProduceLot.objects.filter(station=partner2).values_list("status", flat=True)) == {"listed"}
