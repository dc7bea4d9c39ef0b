"""``field__any_of`` (ruralshop/lookups.py): the rows of ``__in``, as one array parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from partners.models import Villager
from ruralshop.lookups import in_ids
from tests.factories import VillagerFactory


@pytest.fixture
def villagers(station_a, station_b):
    return [VillagerFactory(service_center=station) for station in (station_a, station_a, station_b, station_b)]


def test_it_finds_the_rows_in_finds_by_primary_key_and_by_relation(villagers, station_a):
    some = [villagers[0].pk, villagers[2].pk, 10**9]

    assert set(Villager.objects.filter(pk__any_of=some)) == set(Villager.objects.filter(pk__in=some))
    assert set(Villager.objects.filter(service_center_id__any_of=[station_a.pk])) == set(villagers[:2])
    assert list(Villager.objects.filter(pk__any_of=[])) == []
    assert Villager.objects.filter(pk__any_of=some).update(name="改名") == 2


def test_its_statement_text_is_the_same_for_any_number_of_ids(villagers):
    texts = []
    for ids in ([villagers[0].pk], [v.pk for v in villagers]):
        with CaptureQueriesContext(connection) as queries:
            list(Villager.objects.filter(pk__any_of=ids).values_list("pk"))
        texts.append(queries[0]["sql"])
    if connection.vendor == "postgresql":
        assert "= ANY(" in texts[0] and " IN (" not in texts[0]
    else:  # SQLite: the IN list, one placeholder per id
        assert " IN (" in texts[1] and texts[0] != texts[1]


def test_hand_written_sql_gets_the_same_condition(villagers):
    sql, params = in_ids("id", [v.pk for v in villagers[:3]], connection)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {Villager._meta.db_table} WHERE {sql}", params)  # noqa: S608
        assert cursor.fetchone()[0] == 3
        empty, none = in_ids("id", [], connection)
        cursor.execute(f"SELECT COUNT(*) FROM {Villager._meta.db_table} WHERE {empty}", none)  # noqa: S608
        assert cursor.fetchone()[0] == 0
