"""``field__any_of=[...]``: one array parameter on PostgreSQL instead of an ``IN`` list of hundreds.

The planner writes a run of 400 orders in a handful of statements, each naming the run's orders.  As
``IN (%s, %s, …)`` every statement's text differs with the run's size, so psycopg splits and converts it
anew (no cache hit) and Django compiles 400 placeholders: a fifth of the planner's own time on a county's
day.  ``= ANY(%s)`` with the ids as one array is the same condition to PostgreSQL (it turns an IN list into
an array comparison itself) and one short statement text for every run.  Other databases get the IN list.

Importing this module registers the lookup on every field; ``in_ids`` is the same for hand-written SQL.
"""

from django.db.models import Field, ForeignObject, Lookup


class AnyOf(Lookup):
    lookup_name = "any_of"
    prepare_rhs = False  # a list of primary keys as they are: no per-value preparation

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        sql, params = in_ids(lhs, list(self.rhs), connection)
        return sql, [*lhs_params, *params]


Field.register_lookup(AnyOf)
ForeignObject.register_lookup(AnyOf)  # a relation's lookups are its own (ForeignObject.get_lookups)


def in_ids(column: str, ids: list[int], connection) -> tuple[str, list]:
    """``column = ANY(%s)`` with one array parameter on PostgreSQL; ``column IN (%s, …)`` elsewhere."""
    ids = [int(i) for i in ids]
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [ids]
    if not ids:
        return "1 = 0", []
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", ids
