"""What is said to people outside the system: the SMS outbox, and each villager's consent to be told."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from partners.models import Villager
from ruralshop.ledgers import AppendOnlyModel, AppendOnlyQuerySet


class Notification(models.Model):
    """The outbox: written in the transaction that decides to notify, sent by a task after commit (``outbox``)."""

    class Channel(models.TextChoices):
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")  # waiting for (another) attempt
        SENT = "sent", _("sent")  # accepted by the gateway
        FAILED = "failed", _("failed")  # gave up after the last retry; can be re-sent from the admin

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.SMS)
    recipient = models.CharField(_("recipient"), max_length=32)
    template = models.CharField(_("template"), max_length=50)
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    # The person told, when it is a villager: what anonymising them scrubs (``services.scrub_villager``).
    villager = models.ForeignKey(
        Villager,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("villager"),
    )
    # What the message is about, by the code people use (an order's number, a run's code): this app
    # knows no model above it, and the admin finds a villager's messages by their order number.
    reference = models.CharField(_("about"), max_length=40, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    # A worker claims the message before the gateway call and holds it until then: another delivery of
    # its task leaves it alone meanwhile; a worker killed mid-send lets it go when the time passes.
    claimed_until = models.DateTimeField(_("claimed until"), null=True, blank=True, editable=False)
    # When the retry of a failed attempt is due; a message still pending well after it has lost its
    # retry task (a broker restart) and is queued again by resend_stuck_notifications.
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True, editable=False)

    class Meta:
        db_table = "orders_notification"  # where it was born: moved in state only (migration 0001)
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="notification_pending"),
            models.Index(fields=["reference"], name="notification_reference"),
        ]

    def __str__(self) -> str:
        return f"{self.template} #{self.pk}"


class Consent(AppendOnlyModel):
    """One villager's yes or no to one use of their data, when and how it was given: the newest row stands.

    Append-only, so the record shows what the villager had agreed to on any day; a
    change of mind is a new row.  ``Villager.sms_consent`` is the current answer for SMS,
    kept by the partner's villager form, and ``Villager.marketing_consent`` the one for promotional SMS;
    this is the history of both (``services.record_consent``, ``optout.opt_out_by_reply``).
    """

    class Purpose(models.TextChoices):
        SMS = "sms", _("SMS about their orders")
        MARKETING = "marketing", _("promotional SMS")  # asked separately (PIPL); withdrawn by replying 退订/TD

    class Method(models.TextChoices):
        COUNTER = "counter", _("asked at the counter")
        PAPER = "paper", _("signed form")
        ADMIN = "admin", _("recorded by the county")
        MIGRATED = "migrated", _("recorded before the consent record")
        SMS_REPLY = "sms_reply", _("replied by SMS")  # an opt-out (退订, TD) sent back from their phone

    villager = models.ForeignKey(Villager, on_delete=models.PROTECT, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    granted = models.BooleanField(_("agrees"))
    method = models.CharField(_("how"), max_length=20, choices=Method.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("when"), auto_now_add=True)

    objects = AppendOnlyQuerySet.as_manager()

    never_updated = "the consent record is append-only: a change of mind is a new row"
    never_deleted = "the consent record is never deleted"

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consent record")
        ordering = ["-recorded_at", "-pk"]
        indexes = [models.Index(fields=["villager", "purpose", "-recorded_at"], name="consent_latest")]

    def __str__(self) -> str:
        return f"{self.villager_id} {self.purpose}: {'yes' if self.granted else 'no'}"


class InboundSms(models.Model):
    """A text a villager sent back, as the gateway delivered it to ``/sms/inbound/`` (signature checked).

    The apps that expect replies read it through the ``sms_received`` signal (orders: a consent code) and
    the outcome they report is kept here; ``gateway_id`` makes a redelivery by the gateway harmless.
    """

    class Outcome(models.TextChoices):
        RECEIVED = "received", _("received")  # no app has answered yet
        CONSENT = "consent", _("consent to an order")
        UNKNOWN_CODE = "unknown_code", _("no order waits for this code")
        WRONG_SENDER = "wrong_sender", _("a code of an order for someone else")
        IGNORED = "ignored", _("not a reply anything expects")
        OPTED_OUT = "opted_out", _("opted out of promotional SMS")  # 退订 or TD: marketing consent withdrawn

    gateway_id = models.CharField(_("gateway's message id"), max_length=64, unique=True)
    sender = models.CharField(_("from"), max_length=32)
    text = models.CharField(_("text"), max_length=500)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, default=Outcome.RECEIVED)
    reference = models.CharField(_("about"), max_length=40, blank=True)  # the order's number, when one matched

    class Meta:
        verbose_name = _("inbound SMS")
        verbose_name_plural = _("inbound SMS")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.gateway_id}: {self.outcome}"
