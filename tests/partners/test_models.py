import pytest
from django.db import IntegrityError, transaction

from partners.models import Villager
from partners.phones import mask_phone
from tests.factories import VillagerFactory


def test_a_phone_is_unique_within_a_station(villager_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Villager.objects.create(service_center=villager_a.service_center, name="另一人", phone=villager_a.phone)


def test_the_same_phone_may_appear_at_another_station(villager_a, station_b):
    other = Villager.objects.create(service_center=station_b, name="王建国", phone=villager_a.phone)

    assert other.pk


def test_many_villagers_of_a_station_may_have_no_phone(station_a):
    VillagerFactory(service_center=station_a, phone="")
    VillagerFactory(service_center=station_a, phone="")

    assert station_a.villagers.filter(phone="").count() == 2


def test_the_database_refuses_an_empty_name(station_a):
    with pytest.raises(IntegrityError), transaction.atomic():
        Villager.objects.create(service_center=station_a, name="", phone="")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("13812345678", "138****5678"),
        ("", ""),
        (None, ""),
        ("+8657112345678", "571****5678"),
    ],
)
def test_it_masks_phone_numbers(phone, masked):
    assert mask_phone(phone) == masked


def test_a_villager_shows_a_masked_phone(villager_a):
    assert villager_a.masked_phone == "138****5678"
