"""Promotional SMS: a station's campaign, written from a promotion or a product, and its recipients."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from catalog.models import Category, Product, Promotion
from partners.models import ServiceCenter, Villager


class Campaign(models.Model):
    """One promotional text a partner sends to the station's villagers who agreed to promotional SMS."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")  # being written; nobody chosen yet
        WAITING = "waiting", _("waiting for the county")  # above the size the county approves
        REFUSED = "refused", _("refused by the county")  # with the county's reason; never sent
        SCHEDULED = "scheduled", _("scheduled")  # recipients chosen, due at ``send_at``
        SENDING = "sending", _("sending")  # batches going out
        DONE = "done", _("sent")  # every recipient sent, failed or skipped
        CANCELLED = "cancelled", _("called off")  # by the partner before the last batch; the rest not sent

    service_center = models.ForeignKey(
        ServiceCenter, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("service center")
    )
    promotion = models.ForeignKey(
        Promotion, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("promotion")
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    body = models.CharField(_("text"), max_length=300)  # the partner's words; ``text`` adds station and stop line
    text = models.CharField(_("text sent"), max_length=400)
    # The audience filter, kept to show what was chosen: bought in this category within these months.
    bought_category = models.ForeignKey(
        Category, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("bought from")
    )
    bought_within_months = models.PositiveSmallIntegerField(_("within months"), null=True, blank=True)
    send_at = models.DateTimeField(_("send at"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    refusal_reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "send_at"], name="campaign_due")]

    def __str__(self) -> str:
        return f"{self.service_center_id} #{self.pk}"


class Recipient(models.Model):
    """One villager of a campaign: claimed by a conditional update when sent, so nobody is texted twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("waiting")  # chosen, not sent yet
        SENT = "sent", _("sent")  # written to the outbox (``notification``)
        FAILED = "failed", _("failed")  # the outbox gave up on it
        OPTED_OUT = "opted_out", _("skipped: opted out")  # no marketing consent any more at send time
        CAPPED = "capped", _("skipped: weekly limit")  # had MARKETING_SMS_PER_WEEK already
        NO_PHONE = "no_phone", _("skipped: no phone")  # the phone was removed since
        CANCELLED = "cancelled", _("not sent: the campaign ended first")  # called off or refused before their turn

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    villager = models.ForeignKey(Villager, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    notification = models.ForeignKey(
        "notifications.Notification", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "villager"], name="recipient_once_per_campaign"),
            # A sent row has its moment: the weekly cap and the attribution read it.
            models.CheckConstraint(condition=~Q(status="sent") | Q(sent_at__isnull=False), name="recipient_sent_at"),
        ]
        indexes = [
            models.Index(fields=["campaign", "status"], name="recipient_campaign_status"),
            models.Index(fields=["villager", "sent_at"], name="recipient_villager_sent"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.villager_id}: {self.status}"
