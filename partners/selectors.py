"""Reads of the partner network, always scoped to who is asking."""

from django.db.models import Q, QuerySet
from django.http import Http404

from .models import ServiceCenter, Villager
from .phones import national_digits


def station_for_user(user) -> ServiceCenter | None:
    """The station the user works at, or None (admins, county managers, new users)."""
    if not user.is_authenticated:
        return None
    return ServiceCenter.objects.select_related("village__county__warehouse").filter(staff__user=user).first()


def villagers_of_station(station: ServiceCenter, *, query: str = "") -> QuerySet[Villager]:
    """The station's villagers, optionally matching a name or a part of a phone number."""
    villagers = Villager.objects.filter(service_center=station)
    query = query.strip()
    if query:
        digits = national_digits(query) if query.lstrip("+").isdigit() else ""
        condition = Q(name__icontains=query)
        if digits:
            condition |= Q(phone__contains=digits)
        villagers = villagers.filter(condition)
    return villagers.order_by("name", "pk")


def get_villager_of_station(station: ServiceCenter, pk: int) -> Villager:
    """One villager of the station; another station's villager does not exist here (404)."""
    try:
        return Villager.objects.select_related("created_by").get(service_center=station, pk=pk)
    except Villager.DoesNotExist:
        raise Http404("No such villager at this station") from None
