"""On PostgreSQL the database itself keeps the cash book append-only: UPDATE and DELETE are refused.

SQLite relies on the model layer (CashEntry.save/delete and its queryset).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION cashbook_cashentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'cash book entries are append-only: % refused (entry %)', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER cashbook_cashentry_append_only
    BEFORE UPDATE OR DELETE ON cashbook_cashentry
    FOR EACH ROW EXECUTE FUNCTION cashbook_cashentry_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS cashbook_cashentry_append_only ON cashbook_cashentry;
DROP FUNCTION IF EXISTS cashbook_cashentry_append_only();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("cashbook", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
