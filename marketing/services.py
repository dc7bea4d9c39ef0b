"""Writes of promotional SMS: a campaign written, its recipients chosen, the county's decision, and sending.

Sending works through recipients as rows: each batch claims pending recipients of a due campaign with
``SELECT ... FOR UPDATE SKIP LOCKED`` (two workers take different rows) and moves each from pending in
the same transaction that writes its SMS to the outbox, so a rerun, a second worker or a worker restarted
after a crash never texts anyone twice.  The limits are checked at that moment, not when the audience was
chosen: a villager who replied 退订 a minute ago is skipped.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.models import Category, Product, Promotion
from catalog.pricing import unit_prices
from notifications import services as notifications
from partners.models import ServiceCenter, Villager

from . import selectors, texts
from .models import Campaign, Recipient

S = Campaign.Status
R = Recipient.Status
QUIET_FROM, QUIET_UNTIL = time(21, 0), time(8, 0)  # local time (TIME_ZONE, Asia/Shanghai)
WEEK = timedelta(days=7)
TEMPLATE = "marketing_campaign"  # registered with the outbox by MarketingConfig.ready: the text as written
SMS_TEMPLATES = {TEMPLATE: "{text}"}


class CampaignError(Exception):
    """A campaign cannot be written, decided or sent as asked; the text says why, for the user."""


# --- time ------------------------------------------------------------------------------------------


def in_quiet_hours(at: datetime) -> bool:
    local = timezone.localtime(at).time()
    return local >= QUIET_FROM or local < QUIET_UNTIL


def next_allowed(at: datetime) -> datetime:
    """``at``, or 08:00 local time after it when ``at`` falls in the quiet hours (21:00–08:00)."""
    if not in_quiet_hours(at):
        return at
    local = timezone.localtime(at)
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, QUIET_UNTIL), local.tzinfo)


# --- writing a campaign ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draft:
    body: str
    product: Product | None
    promotion: Promotion | None


def draft_from(*, promotion: Promotion | None = None, product: Product | None = None, at=None) -> Draft:
    """The template a partner starts from: a promotion's product (or category), price and end, or a product's price."""
    at = at or timezone.now()
    if promotion is not None:
        product = promotion.product
        name = product.name if product else promotion.category.name
        if promotion.price is not None:
            price = promotion.price
        elif product is not None:
            price = unit_prices([product], at=max(at, promotion.starts_at))[product.pk]
        else:
            price = None
        if price is None:
            body = f"{name} {promotion.name}"
        else:
            body = texts.offer_body(product_name=name, price=price, ends_at=promotion.ends_at)
        return Draft(body=body, product=product, promotion=promotion)
    if product is None:
        raise CampaignError(_("Choose a promotion or a product."))
    return Draft(
        body=texts.offer_body(product_name=product.name, price=product.price, ends_at=None),
        product=product,
        promotion=None,
    )


def create_campaign(
    *,
    station: ServiceCenter,
    actor,
    body: str,
    send_at: datetime | None = None,
    product: Product | None = None,
    promotion: Promotion | None = None,
    category: Category | None = None,
    months: int | None = None,
) -> Campaign:
    """Write a campaign and choose its recipients now (the audience the partner was shown).

    Above ``MARKETING_APPROVAL_ABOVE`` recipients it waits for the county; else it is scheduled for
    ``send_at`` (now if not given), moved past the quiet hours.
    """
    body = (body or "").strip()
    if not body:
        raise CampaignError(_("Write the text of the message."))
    now = timezone.now()
    with transaction.atomic():
        villagers = list(
            selectors.audience(station, category=category, months=months, at=now).values_list("pk", flat=True)
        )
        if not villagers:
            raise CampaignError(_("No villager of the station agreed to promotional SMS with these conditions."))
        waits = len(villagers) > settings.MARKETING_APPROVAL_ABOVE
        campaign = Campaign.objects.create(
            service_center=station,
            promotion=promotion,
            product=product,
            body=body,
            text=texts.compose(station_name=station.name, body=body),
            bought_category=category,
            bought_within_months=months if category else None,
            send_at=next_allowed(max(send_at or now, now)),
            status=S.WAITING if waits else S.SCHEDULED,
            created_by=actor,
        )
        Recipient.objects.bulk_create(Recipient(campaign=campaign, villager_id=pk) for pk in villagers)
    return campaign


def approve(*, campaign: Campaign, actor) -> Campaign:
    """The county lets a large campaign go: scheduled for its time (or 08:00, or now if its time has passed)."""
    now = timezone.now()
    updated = Campaign.objects.filter(pk=campaign.pk, status=S.WAITING).update(
        status=S.SCHEDULED, decided_by=actor, decided_at=now, send_at=next_allowed(max(campaign.send_at, now))
    )
    if not updated:
        raise CampaignError(_("This campaign no longer waits for a decision."))
    campaign.refresh_from_db()
    return campaign


def refuse(*, campaign: Campaign, actor, reason: str) -> Campaign:
    reason = (reason or "").strip()[:300]
    if not reason:
        raise CampaignError(_("Say why the campaign is refused: the partner sees it."))
    with transaction.atomic():
        updated = Campaign.objects.filter(pk=campaign.pk, status=S.WAITING).update(
            status=S.REFUSED, decided_by=actor, decided_at=timezone.now(), refusal_reason=reason
        )
        if not updated:
            raise CampaignError(_("This campaign no longer waits for a decision."))
        _call_off_the_rest(campaign.pk)
    campaign.refresh_from_db()
    return campaign


CANCELLABLE = (S.WAITING, S.SCHEDULED, S.SENDING)


def cancel(*, campaign: Campaign) -> int:
    """The partner calls a campaign off before its last batch: nobody still waiting gets it.  Returns how many
    recipients were spared.  A batch being sent at that moment finishes (its recipients are claimed); the
    next finds nobody waiting."""
    with transaction.atomic():
        if not Campaign.objects.filter(pk=campaign.pk, status__in=CANCELLABLE).update(status=S.CANCELLED):
            raise CampaignError(_("This campaign has gone out already or was refused: there is nothing to call off."))
        spared = _call_off_the_rest(campaign.pk)
    campaign.refresh_from_db()
    return spared


def _call_off_the_rest(campaign_id: int) -> int:
    # Every recipient ends: those still waiting when the campaign ends unsent are marked so.
    return Recipient.objects.filter(campaign_id=campaign_id, status=R.PENDING).update(status=R.CANCELLED)


# --- sending -------------------------------------------------------------------------------------------


def due_campaign_ids(*, now=None) -> list[int]:
    now = now or timezone.now()
    if in_quiet_hours(now):
        return []
    due = Campaign.objects.filter(status__in=[S.SCHEDULED, S.SENDING], send_at__lte=now)
    return list(due.order_by("send_at", "pk").values_list("pk", flat=True))


def send_batch(campaign_id: int, *, size: int | None = None, now=None) -> int:
    """Send the next batch of one due campaign's recipients: returns how many were handled (0: nothing left).

    The recipients are claimed with SKIP LOCKED and leave ``pending`` in this transaction, whatever their
    outcome; their SMS go out after commit through the outbox.  Safe to run twice, or on two workers at once.
    """
    now = now or timezone.now()
    size = size or settings.MARKETING_BATCH_SIZE
    if in_quiet_hours(now):
        return 0
    live = Campaign.objects.filter(pk=campaign_id, status__in=[S.SCHEDULED, S.SENDING], send_at__lte=now)
    if not live.exists():
        return 0  # not due, waiting for the county, refused or done
    Campaign.objects.filter(pk=campaign_id, status=S.SCHEDULED).update(status=S.SENDING)
    text = Campaign.objects.values_list("text", flat=True).get(pk=campaign_id)
    with transaction.atomic():
        batch = list(
            Recipient.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(campaign_id=campaign_id, status=R.PENDING)
            .order_by("pk")[:size]
        )
        if not batch:
            _finish(campaign_id)
            return 0
        # The villagers' rows, locked in primary-key order and read again: an opt-out by reply (which locks
        # them too) that committed before this is seen, one still running waits for this batch to commit.
        current = {
            v.pk: v
            for v in Villager.objects.select_for_update(of=("self",))
            .filter(pk__in=[r.villager_id for r in batch])
            .order_by("pk")
        }
        sent_this_week = dict(
            Recipient.objects.filter(
                villager_id__in=[r.villager_id for r in batch], status=R.SENT, sent_at__gt=now - WEEK
            )
            .values("villager_id")
            .annotate(n=Count("pk"))
            .values_list("villager_id", "n")
        )
        outcomes: dict[str, list[int]] = {}
        to_send = []
        for recipient in batch:
            villager = recipient.villager = current[recipient.villager_id]
            if not villager.marketing_consent or villager.anonymised_at is not None:
                outcomes.setdefault(R.OPTED_OUT, []).append(recipient.pk)
            elif not villager.sms_phone:
                outcomes.setdefault(R.NO_PHONE, []).append(recipient.pk)
            elif sent_this_week.get(villager.pk, 0) >= settings.MARKETING_SMS_PER_WEEK:
                outcomes.setdefault(R.CAPPED, []).append(recipient.pk)
            else:
                to_send.append(recipient)
        for status, pks in outcomes.items():
            Recipient.objects.filter(pk__in=pks, status=R.PENDING).update(status=status)
        messages = notifications.queue_sms(
            notifications.Sms(
                str(r.villager.sms_phone),
                TEMPLATE,
                {"text": text},
                villager_id=r.villager_id,
                reference=f"C{campaign_id}",
            )
            for r in to_send
        )
        # One UPDATE for the batch: its rows are locked by this transaction since they were claimed.
        for recipient, message in zip(to_send, messages, strict=True):
            recipient.status, recipient.notification, recipient.sent_at = R.SENT, message, now
        Recipient.objects.bulk_update(to_send, ["status", "notification", "sent_at"])
    return len(batch)


def may_still_send(notification) -> datetime | str | None:
    """The outbox's check before each attempt of a promotional SMS (``register_send_check``).

    The batch checked consent and the hour when it wrote the SMS, but the outbox may send it much later: a retry
    after the gateway failed (backoff up to an hour), or the re-queue task after a broker outage.  By then the
    villager may have replied 退订, or it may be night.  Withdrawn consent: not sent, and the recipient counts as
    opted out (as if the batch had found it so); in the quiet hours: it waits until 08:00.  An opt-out committing
    between this check and the gateway call still gets this one text: the outbox holds no lock across the call.
    """
    consent = (
        Villager.objects.filter(pk=notification.villager_id, anonymised_at__isnull=True)
        .values_list("marketing_consent", flat=True)
        .first()
    )
    if not consent:
        Recipient.objects.filter(notification_id=notification.pk, status=R.SENT).update(
            status=R.OPTED_OUT, notification=None, sent_at=None
        )
        return "no consent to promotional SMS any more: not sent"
    now = timezone.now()
    if in_quiet_hours(now):
        return next_allowed(now)
    return None


def _finish(campaign_id: int) -> None:
    if not Recipient.objects.filter(campaign_id=campaign_id, status=R.PENDING).exists():
        Campaign.objects.filter(pk=campaign_id, status__in=[S.SCHEDULED, S.SENDING]).update(status=S.DONE)


def send_due(*, now=None) -> int:
    """Every due campaign, batch after batch until none is left (the beat task's body); returns recipients handled."""
    handled = 0
    for campaign_id in due_campaign_ids(now=now):
        while n := send_batch(campaign_id, now=now):
            handled += n
    return handled
