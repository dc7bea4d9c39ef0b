"""Phone numbers as people type them: digits, spaces, + and - (full-width ones from a Chinese IME too), nothing else.

phonenumbers reads letters as keypad digits (138abcd5678 is 138 2223 5678): a typo would
send the villager's pickup codes to a stranger, so anything but those characters is refused.
"""

import pytest
from django.urls import reverse
from django.utils import translation

from partners.forms import VillagerForm
from partners.models import ServiceCenter, Villager
from partners.phones import ChinaPhoneField

REFUSED = [
    "138abcd5678",  # letters: keypad digits to phonenumbers
    "138ABCD5678",
    "1-800-FLOWERS",
    "tel:+8613812345678",
    "138.1234.5678",
    "(138) 1234 5678",
    "138 1234 5678 ext. 9",
    "١٣٨١٢٣٤٥٦٧٨",  # Arabic-Indic digits: digits to str.isdigit(), not to a villager
    "138\x001234\x005678",
    "13812345678+",
]
ACCEPTED = [
    ("13812345678", "+8613812345678"),
    ("138 1234 5678", "+8613812345678"),
    ("138-1234-5678", "+8613812345678"),
    ("+86 138 1234 5678", "+8613812345678"),
    (" +86-138-1234-5678 ", "+8613812345678"),
    ("１３８ １２３４ ５６７８", "+8613812345678"),  # full-width digits and space, as a Chinese IME types them
    ("＋８６　１３８－１２３４－５６７８", "+8613812345678"),  # full-width plus, ideographic space, full-width minus
]


@pytest.mark.parametrize("typed", REFUSED)
def test_it_refuses_anything_but_digits_spaces_plus_and_minus(typed):
    field = ChinaPhoneField(required=False)

    with translation.override("en"):  # the messages are lazy: read them in English too
        with pytest.raises(Exception) as refused:  # noqa: PT011 - checked below
            field.clean(typed)
        assert "digits" in " ".join(refused.value.messages)


@pytest.mark.parametrize(("typed", "stored"), ACCEPTED)
def test_it_takes_digits_with_spaces_plus_and_minus_full_width_too(typed, stored):
    assert str(ChinaPhoneField(required=False).clean(typed)) == stored


def test_it_refuses_a_number_outside_mainland_china(db):
    form = VillagerForm(data={"name": "张三", "phone": "+1 202 555 0100"})

    assert "phone" in form.errors


def test_it_does_not_register_a_villager_under_a_phone_with_letters(client_a, station_a):
    # when a partner mistypes letters into the phone, with SMS consent
    response = client_a.post("/villagers/new/", {"name": "陈桂兰", "phone": "138abcd5678", "sms_consent": "on"})

    # then the form says why, and no villager gets a stranger's number (+86 138 2223 5678)
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not station_a.villagers.exists()


def test_it_does_not_change_a_villagers_phone_to_one_with_letters(client_a, villager_a):
    response = client_a.post(
        f"/villagers/{villager_a.pk}/edit/", {"name": villager_a.name, "phone": "139abcd0000", "sms_consent": "on"}
    )

    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    villager_a.refresh_from_db()
    assert str(villager_a.phone) == "+8613812345678"


def test_it_registers_a_villager_typed_with_full_width_digits(client_a, station_a):
    response = client_a.post("/villagers/new/", {"name": "陈桂兰", "phone": "１３９ １２３４ ００００"})

    assert response.status_code == 302
    assert str(station_a.villagers.get().phone) == "+8613912340000"


def _admin_form_data(client, url: str) -> dict:
    """The admin change form as the browser would post it back: every field with its current value."""
    context = client.get(url).context
    form = context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if isinstance(value, bool):
            value = "on" if value else ""
        if value not in (None, ""):
            data[name] = str(value)
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


def test_the_admin_does_not_save_a_villagers_phone_with_letters(client, admin_user, villager_a):
    client.force_login(admin_user)
    url = reverse("admin:partners_villager_change", args=[villager_a.pk])
    data = {**_admin_form_data(client, url), "phone": "138abcd0000"}

    response = client.post(url, data)

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert Villager.objects.get(pk=villager_a.pk).phone == villager_a.phone


def test_the_admin_does_not_save_a_station_phone_with_letters(client, admin_user, station_a):
    client.force_login(admin_user)
    url = reverse("admin:partners_servicecenter_change", args=[station_a.pk])
    data = {**_admin_form_data(client, url), "phone": "0571abcd6666"}

    response = client.post(url, data)

    assert response.status_code == 200
    assert "phone" in response.context["adminform"].form.errors
    assert ServiceCenter.objects.get(pk=station_a.pk).phone == station_a.phone


def test_the_admin_saves_a_station_phone_typed_with_full_width_digits(client, admin_user, station_a):
    client.force_login(admin_user)
    url = reverse("admin:partners_servicecenter_change", args=[station_a.pk])
    data = {**_admin_form_data(client, url), "phone": "０５７１ ８８８８ ６６６６"}

    response = client.post(url, data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert str(ServiceCenter.objects.get(pk=station_a.pk).phone) == "+8657188886666"
