from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from partners.phones import mask_phone
from ruralshop.admin_inlines import ReadOnlyModelAdmin

from . import services
from .models import Consent, InboundSms, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = [
        "pk",
        "template",
        "reference",
        "masked_recipient",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "template", "channel"]
    search_fields = ["reference"]
    readonly_fields = [f.name for f in Notification._meta.fields if f.name != "recipient"] + ["masked_recipient"]
    exclude = ["recipient"]
    actions = ["resend"]

    @admin.display(description=_("recipient"))
    def masked_recipient(self, obj):
        return mask_phone(obj.recipient)

    @admin.action(description=_("Send the selected messages again"))
    def resend(self, request, queryset):
        count = 0
        for notification in queryset.exclude(status=Notification.Status.SENT):
            services.resend(notification)
            count += 1
        self.message_user(request, _("%(count)s messages queued again.") % {"count": count}, messages.SUCCESS)

    def has_add_permission(self, request):
        return False


@admin.register(Consent)
class ConsentAdmin(admin.ModelAdmin):
    """The record, read-only: a change of mind is recorded where the villager's details are changed."""

    list_display = ["villager", "purpose", "granted", "method", "recorded_by", "recorded_at"]
    list_filter = ["purpose", "granted", "method"]
    search_fields = ["villager__name"]
    list_select_related = ["villager", "recorded_by"]
    readonly_fields = ["villager", "purpose", "granted", "method", "recorded_by", "recorded_at"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(InboundSms)
class InboundSmsAdmin(ReadOnlyModelAdmin):
    list_display = ["received_at", "gateway_id", "masked_sender", "outcome", "reference"]
    list_filter = ["outcome"]
    search_fields = ["gateway_id", "reference"]

    @admin.display(description=_("from"))
    def masked_sender(self, obj):
        return mask_phone(obj.sender)
