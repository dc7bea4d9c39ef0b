"""Reads of the partner network, always scoped to who is asking."""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404

from .models import ServiceCenter, StationStaff, Villager
from .phones import national_digits

# What the partner pages and the station API read of a user's station; an
# authentication query may load it with the user (STATION_OF_USER) to save a query.
STATION_RELATED = "village__county__warehouse"
STATION_OF_USER = f"station_staff__service_center__{STATION_RELATED}"


def staff_of_user(user) -> StationStaff | None:
    """The user's station membership with its station, or None (admins, county managers, new users).

    One query, or none when the authentication loaded it with the user (select_related(STATION_OF_USER)).
    """
    if not user.is_authenticated:
        return None
    if get_user_model().station_staff.related.is_cached(user):
        return getattr(user, "station_staff", None)
    return StationStaff.objects.select_related(f"service_center__{STATION_RELATED}").filter(user=user).first()


def station_for_user(user) -> ServiceCenter | None:
    """The station the user works at, or None."""
    staff = staff_of_user(user)
    return staff.service_center if staff else None


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
