"""Backup and restore drill: bin/restore-check on a seeded PostgreSQL database (docs/OPERATIONS.md).

The script dumps the database with ``pg_dump -Fc``, restores the dump into a
new database and compares row counts and the commission ledger.  The drill
runs it on the demo data and then proves it notices a restored copy that
lost a row or whose ledger was altered.
"""

import io
import shutil
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.db import connection

from orders.models import CommissionEntry, CommissionStatement
from tests.conftest import requires_postgres

from .conftest import REPO, child_env

pytestmark = [requires_postgres, pytest.mark.postgres]

SCRIPT = REPO / "bin" / "restore-check"


def restore_check(*args: str) -> subprocess.CompletedProcess:
    source = child_env()["DATABASE_URL"]
    return subprocess.run(
        [sys.executable, str(SCRIPT), source, *args], capture_output=True, text=True, timeout=60, check=False
    )


def leftover_copies() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s",
            [connection.settings_dict["NAME"] + "_restorecheck_%"],
        )
        return [name for (name,) in cursor.fetchall()]


# Corruption the append-only trigger would refuse: with it disabled, as a damaged restore could be.
ALTERED_LEDGER = """
ALTER TABLE orders_commissionentry DISABLE TRIGGER orders_commissionentry_append_only;
UPDATE orders_commissionentry SET amount = amount + 1
WHERE id = (SELECT min(id) FROM orders_commissionentry WHERE statement_id IS NOT NULL AND kind = 'accrual');
"""
LOST_ROW = "DELETE FROM orders_orderevent WHERE id = (SELECT max(id) FROM orders_orderevent)"


@pytest.mark.skipif(
    not (shutil.which("pg_dump") and shutil.which("pg_restore")),
    reason="needs pg_dump and pg_restore (postgresql-client)",
)
def test_a_restored_dump_of_the_demo_matches_and_a_damaged_copy_fails_the_check(transactional_db, tmp_path):
    # given the demo data (seeding takes most of the drill's time: one seeding, two restores)
    call_command("seed_demo", password="drill-password-1", stdout=io.StringIO())
    assert CommissionStatement.objects.exists() and CommissionEntry.objects.filter(statement__isnull=False).exists()

    # when the database is dumped, restored into a new database and compared
    dump = tmp_path / "demo.dump"
    done = restore_check("--keep-dump", str(dump))

    # then every table and the ledger match, and the copy is dropped afterwards
    print(f"\n  {done.stdout.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "restore-check: OK" in done.stdout
    assert dump.stat().st_size > 0
    assert not leftover_copies()

    # when that dump is restored again, and the copy loses a row and has a ledger entry altered
    done = restore_check("--dump", str(dump), "--tamper-sql", LOST_ROW + ";\n" + ALTERED_LEDGER)

    # then the check fails and names the table, the station's ledger and the statement
    print(f"  tampered copy: {done.stderr.strip()}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "table orders_orderevent: " in done.stderr
    assert "commission ledger of station" in done.stderr
    assert "restored copy: statement" in done.stderr
    assert not leftover_copies()
