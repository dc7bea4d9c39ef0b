"""On PostgreSQL the database itself keeps the commission ledger append-only.

UPDATE is refused except for filing an unfiled entry into a statement
(statement_id NULL -> a value, every other column unchanged); DELETE is
refused always.  SQLite relies on the model layer (CommissionEntry.save/delete
and its queryset).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION orders_commissionentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'commission entries are append-only: DELETE refused (entry %)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.statement_id IS NULL AND NEW.statement_id IS NOT NULL
       AND (NEW.id, NEW.service_center_id, NEW.order_id, NEW.kind, NEW.amount, NEW.created_at, NEW.created_by_id, NEW.note)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.service_center_id, OLD.order_id, OLD.kind, OLD.amount, OLD.created_at, OLD.created_by_id, OLD.note)
    THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'commission entries are append-only: UPDATE refused (entry %)', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER orders_commissionentry_append_only
    BEFORE UPDATE OR DELETE ON orders_commissionentry
    FOR EACH ROW EXECUTE FUNCTION orders_commissionentry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS orders_commissionentry_append_only ON orders_commissionentry;
DROP FUNCTION IF EXISTS orders_commissionentry_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("orders", "0002_commission_ledger")]

    operations = [migrations.RunPython(create, drop)]
