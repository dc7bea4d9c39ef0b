"""Logistics clients and their keys."""

from django.db import transaction

from partners.models import Warehouse

from .models import LogisticsClient, LogisticsClientKey


class UnknownWarehouse(Exception):
    pass


@transaction.atomic
def create_client(*, name: str, warehouse_codes: list[str]) -> tuple[LogisticsClient, str]:
    """Create a client (or add warehouses to an existing one) and a new key; the key is returned once, stored hashed."""
    warehouses = list(Warehouse.objects.filter(code__in=warehouse_codes))
    missing = sorted(set(warehouse_codes) - {w.code for w in warehouses})
    if missing:
        raise UnknownWarehouse(", ".join(missing))
    client, _ = LogisticsClient.objects.get_or_create(name=name)
    client.warehouses.add(*warehouses)
    return client, issue_key(client)


def issue_key(client: LogisticsClient, *, label: str = "") -> str:
    _, key = LogisticsClientKey.objects.create_key(client=client, name=label or f"{client.name} key")
    return key


def revoke_keys(client: LogisticsClient) -> int:
    return LogisticsClientKey.objects.filter(client=client, revoked=False).update(revoked=True)
