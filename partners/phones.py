"""Phone numbers (and names) as villagers, partners and drivers see them."""

from phonenumbers import PhoneNumber


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
