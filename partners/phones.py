"""Phone numbers (and names) as villagers, partners and drivers see them, and as partners type them."""

import re
import unicodedata

from django import forms
from django.utils.translation import gettext_lazy as _
from phonenumber_field.formfields import PhoneNumberField as _PhoneNumberFormField
from phonenumber_field.modelfields import PhoneNumberField as _PhoneNumberModelField
from phonenumbers import PhoneNumber

# What a typed phone number may hold, once NFKC has folded a Chinese IME's full-width
# characters (１３８, ＋, －, the ideographic space) to ASCII: digits, spaces, "-", and
# one "+" in front.  phonenumbers would read letters as keypad digits (138abcd5678 is
# 138 2223 5678) and drop dots, brackets and "tel:": a typo would become a stranger's
# number, and the villager's pickup codes would go to them.
TYPED_PHONE = re.compile(r"\+?[0-9][0-9 -]*")


def national_digits(phone: PhoneNumber | str | None) -> str:
    """The national number as digits: 13812345678 for +86 138 1234 5678."""
    if not phone:
        return ""
    if isinstance(phone, PhoneNumber):
        return str(phone.national_number)
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return digits[2:] if str(phone).startswith("+86") else digits


def mask_phone(phone: PhoneNumber | str | None) -> str:
    """138****5678: enough to recognise a number, not enough to call it."""
    digits = national_digits(phone)
    if not digits:
        return ""
    if len(digits) <= 7:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:] if len(digits) > 3 else "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]


def mask_name(name: str) -> str:
    """王建国 -> 王**: enough for a driver to hand over a parcel, not to know the household."""
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def fold_typed_phone(text: str) -> str:
    """A phone number as typed, full-width characters folded to ASCII and the ends trimmed (not yet checked)."""
    return unicodedata.normalize("NFKC", text).strip()


class ChinaPhoneField(_PhoneNumberFormField):
    """A mainland China phone number, typed with digits, spaces, + and - only (full-width ones too).

    Every form that takes a phone uses it: the villager form, and the admin's villager and
    station pages (``PHONE_FORMFIELD_OVERRIDES``).
    """

    default_error_messages = {
        "characters": _("Type the phone number with digits only (spaces, + and - may separate them)."),
        "invalid": _("Enter a valid mainland China phone number, such as 138 1234 5678."),
    }

    def __init__(self, *args, region="CN", **kwargs):
        # The model field hands over its own (unrelated) error messages: keep ours under them.
        error_messages = {**(kwargs.pop("error_messages", None) or {}), **self.default_error_messages}
        super().__init__(*args, region=region, error_messages=error_messages, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return self.empty_value
        if not isinstance(value, str):  # the initial PhoneNumber of a bound model form
            return super().to_python(value)
        typed = fold_typed_phone(value)
        if not typed:
            return self.empty_value
        if not TYPED_PHONE.fullmatch(typed):
            raise forms.ValidationError(self.error_messages["characters"], code="characters")
        return super().to_python(typed)

    def validate(self, value):
        super().validate(value)
        if value and (not isinstance(value, PhoneNumber) or value.country_code != 86):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


# For ModelAdmin.formfield_overrides: the admin's phone fields take what the partner pages take.
PHONE_FORMFIELD_OVERRIDES = {_PhoneNumberModelField: {"form_class": ChinaPhoneField}}
