"""Writes to the partner network."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .models import ServiceCenter, Villager
from .signals import villager_anonymised, villager_consent_changed

# The consent purpose of promotional SMS, as ``villager_consent_changed`` names it (notifications'
# ``Consent.Purpose.MARKETING``; partners cannot import notifications). Without ``purpose``: SMS about orders.
MARKETING = "marketing"


class DuplicatePhone(Exception):
    """Another villager of the same station already has this phone number."""

    def __init__(self, existing: Villager):
        self.existing = existing
        super().__init__(_("%(name)s already has this phone number.") % {"name": existing.name})


def _existing_with_phone(*, station: ServiceCenter, phone, exclude_pk: int | None = None) -> Villager | None:
    if not phone:
        return None
    others = Villager.objects.filter(service_center=station, phone=phone)
    if exclude_pk:
        others = others.exclude(pk=exclude_pk)
    return others.first()


def register_villager(
    *,
    station: ServiceCenter,
    created_by,
    name: str,
    phone="",
    sms_consent: bool = False,
    marketing_consent: bool = False,
    notes: str = "",
    code_phone="",
    code_phone_holder: str = "",
    address: str = "",
) -> Villager:
    """Register a neighbour at the station.  Raises DuplicatePhone.

    ``code_phone``: a family member's phone that receives the villager's codes, recorded with who set it and when.
    """
    try:
        with transaction.atomic():
            villager = Villager.objects.create(
                service_center=station,
                name=name.strip(),
                phone=phone or "",
                sms_consent=bool(phone or code_phone) and sms_consent,
                marketing_consent=bool(phone or code_phone) and marketing_consent,
                notes=notes,
                address=(address or "").strip(),
                created_by=created_by,
                **_code_phone_fields(code_phone, code_phone_holder, actor=created_by),
            )
            if villager.sms_phone:  # asked at the counter, with a number to send to: their answer is recorded
                villager_consent_changed.send(
                    sender=Villager, villager=villager, granted=villager.sms_consent, actor=created_by
                )
                # Promotional SMS is a purpose of its own, asked apart and recorded apart (PIPL).
                villager_consent_changed.send(
                    sender=Villager,
                    villager=villager,
                    granted=villager.marketing_consent,
                    actor=created_by,
                    purpose=MARKETING,
                )
            return villager
    except IntegrityError:
        # Two counters registering the same number at once: the constraint decides.
        existing = _existing_with_phone(station=station, phone=phone)
        if existing is None:
            raise
        raise DuplicatePhone(existing) from None


def _code_phone_fields(code_phone, holder: str, *, actor) -> dict:
    if not code_phone:
        return {"code_phone": "", "code_phone_holder": "", "code_phone_set_by": None, "code_phone_set_at": None}
    return {
        "code_phone": code_phone,
        "code_phone_holder": (holder or "").strip()[:30],
        "code_phone_set_by": actor if getattr(actor, "is_authenticated", False) else None,
        "code_phone_set_at": timezone.now(),
    }


def update_villager(
    *,
    villager: Villager,
    name: str,
    phone="",
    sms_consent: bool = False,
    marketing_consent: bool | None = None,
    notes: str = "",
    actor=None,
    code_phone=None,
    code_phone_holder: str = "",
    address: str | None = None,
) -> Villager:
    """Change a villager's details; a changed answer to SMS, or to promotional SMS, is recorded
    (``villager_consent_changed``).  ``marketing_consent=None`` leaves that answer as it is.

    Raises DuplicatePhone.
    """
    # As stored, not as on the instance: a ModelForm has already set the new answer on it.
    consented_before, marketing_before, code_phone_before, holder_before = (
        Villager.objects.filter(pk=villager.pk)
        .values_list("sms_consent", "marketing_consent", "code_phone", "code_phone_holder")
        .first()
    )
    fields = ["name", "phone", "sms_consent", "notes", "updated_at"]
    villager.name = name.strip()
    villager.phone = phone or ""
    villager.notes = notes
    if address is not None:
        villager.address = address.strip()
        fields.append("address")
    if code_phone is not None and (str(code_phone or ""), code_phone_holder.strip()) != (
        str(code_phone_before or ""),
        holder_before,
    ):
        # Who named the family phone, and when: kept for the county (one phone on many villagers is a signal).
        for name_, value in _code_phone_fields(code_phone, code_phone_holder, actor=actor).items():
            setattr(villager, name_, value)
        fields += ["code_phone", "code_phone_holder", "code_phone_set_by", "code_phone_set_at"]
    # Consent to SMS means nothing without a number to send to.
    villager.sms_consent = bool(villager.sms_phone) and sms_consent
    marketing = marketing_before if marketing_consent is None else marketing_consent
    villager.marketing_consent = bool(villager.sms_phone) and marketing
    fields.append("marketing_consent")
    try:
        with transaction.atomic():
            villager.save(update_fields=fields)
            if villager.sms_consent != consented_before:
                villager_consent_changed.send(
                    sender=Villager, villager=villager, granted=villager.sms_consent, actor=actor
                )
            if villager.marketing_consent != marketing_before:
                villager_consent_changed.send(
                    sender=Villager,
                    villager=villager,
                    granted=villager.marketing_consent,
                    actor=actor,
                    purpose=MARKETING,
                )
    except IntegrityError:
        existing = _existing_with_phone(station=villager.service_center, phone=phone, exclude_pk=villager.pk)
        if existing is None:
            raise
        raise DuplicatePhone(existing) from None
    return villager


def anonymise_villager(*, villager: Villager) -> Villager:
    """Forget a villager on their request (PIPL): name, phone and notes replaced; their orders stay for the accounts.

    Every app scrubs what it holds of the person (the SMS outbox, say) through
    ``villager_anonymised``, in this transaction: all of it is forgotten, or none.
    Anonymising twice changes nothing.
    """
    if villager.anonymised_at is not None:
        return villager
    with transaction.atomic():
        # Stored in the default language: it is what every page and receipt shows from now on.
        with translation.override(settings.LANGUAGE_CODE):
            villager.name = _("Anonymised villager #%(id)s") % {"id": villager.pk}
        villager.phone = ""
        villager.code_phone, villager.code_phone_holder, villager.address = "", "", ""
        villager.sms_consent = villager.marketing_consent = False
        villager.notes = ""
        villager.anonymised_at = timezone.now()
        villager.save(
            update_fields=[
                "name",
                "phone",
                "code_phone",
                "code_phone_holder",
                "address",
                "sms_consent",
                "marketing_consent",
                "notes",
                "anonymised_at",
                "updated_at",
            ]
        )
        villager_anonymised.send(sender=Villager, villager=villager)
    return villager
