from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from ruralshop.admin_inlines import ReadOnlyTabularInline, SingletonAdmin

from . import commissions
from .models import (
    CollectionPolicy,
    CommissionEntry,
    CommissionRule,
    CommissionStatement,
    Order,
    OrderEvent,
    OrderLine,
    PickupReminder,
    SlipPrint,
)


@admin.register(CommissionRule)
class CommissionRuleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "product", "category", "seller", "rate", "valid_from", "valid_until"]
    list_select_related = ["product", "category", "seller"]
    list_filter = ["seller", "category"]
    autocomplete_fields = ["product"]


class OrderLineInline(ReadOnlyTabularInline):
    model = OrderLine
    fields = ["product", "quantity", "unit_price", "line_total", "commission_rate", "commission_amount"]


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor", "note"]


class PickupReminderInline(ReadOnlyTabularInline):
    model = PickupReminder
    fields = ["day", "created_at", "notification"]


class SlipPrintInline(ReadOnlyTabularInline):
    model = SlipPrint
    fields = ["printed_at", "printed_by", "reprint", "reason", "channel"]


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: orders change only through the services (and their events)."""

    list_display = ["number", "service_center", "villager", "status", "total", "created_at"]
    list_select_related = ["service_center", "villager"]
    list_filter = [
        "status",
        "delivery_method",
        "payment_method",
        "warehouse",
        ("taken_offline_at", admin.EmptyFieldListFilter),  # taken at the offline counter
    ]
    search_fields = ["number", "villager__name", "service_center__code", "service_center__name"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, OrderEventInline, PickupReminderInline, SlipPrintInline]
    show_full_result_count = False
    # The codes belong to the villager: not even the admin shows them.
    readonly_fields = [
        f.name for f in Order._meta.fields if f.name not in {"request_hash", "pickup_code", "consent_code"}
    ]
    exclude = ["request_hash", "pickup_code", "consent_code"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- goods waiting for pickup ---------------------------------------------------------


@admin.register(CollectionPolicy)
class CollectionPolicyAdmin(SingletonAdmin):
    """The one row: its list opens the form itself (the defaults until it is first saved); no add, no delete."""

    fields = ["reminder_days", "send_back_after_days", "updated_at"]
    readonly_fields = ["updated_at"]


# --- commissions -----------------------------------------------------------------


class AdjustmentForm(forms.ModelForm):
    class Meta:
        model = CommissionEntry
        fields = ["service_center", "amount", "note"]


@admin.register(CommissionEntry)
class CommissionEntryAdmin(admin.ModelAdmin):
    """The ledger is read-only; "add" posts an adjustment (with its note) through the service."""

    list_display = ["created_at", "service_center", "kind", "amount", "order", "produce_lot", "statement", "created_by"]
    list_select_related = ["service_center", "order", "statement", "created_by"]
    list_filter = ["kind", "service_center__village__county"]
    search_fields = ["order__number", "produce_lot", "service_center__code", "service_center__name", "note"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    form = AdjustmentForm
    autocomplete_fields = ["service_center"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [f.name for f in CommissionEntry._meta.fields]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["service_center", "amount", "note"]
        return [f.name for f in CommissionEntry._meta.fields]

    def save_model(self, request, obj, form, change):
        if change:
            raise PermissionDenied
        entry = commissions.post_adjustment(
            station=form.cleaned_data["service_center"],
            amount=form.cleaned_data["amount"],
            actor=request.user,
            note=form.cleaned_data["note"],
        )
        obj.pk = entry.pk
        obj._state.adding = False

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False


class CommissionEntryInline(ReadOnlyTabularInline):
    model = CommissionEntry
    fields = ["created_at", "kind", "order", "amount", "note"]


@admin.register(CommissionStatement)
class CommissionStatementAdmin(admin.ModelAdmin):
    list_display = ["service_center", "month", "total", "status", "approved_by", "paid_at"]
    list_select_related = ["service_center", "approved_by"]
    list_filter = ["status", "month", "service_center__village__county"]
    search_fields = ["service_center__code", "service_center__name"]
    readonly_fields = ["service_center", "month", "total", "status", "approved_by", "approved_at", "paid_by", "paid_at"]
    inlines = [CommissionEntryInline]
    actions = ["approve", "mark_paid"]

    def has_add_permission(self, request):
        return False  # built from the ledger by build_statements

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, action, done_message):
        done = 0
        for statement in queryset:
            try:
                action(statement=statement, actor=request.user)
                done += 1
            except commissions.CommissionError as exc:
                self.message_user(request, f"{statement}: {exc}", messages.WARNING)
        if done:
            self.message_user(request, done_message % {"count": done}, messages.SUCCESS)

    @admin.action(description=_("Approve the selected statements"))
    def approve(self, request, queryset):
        self._each(request, queryset, commissions.approve_statement, _("%(count)s statements approved."))

    @admin.action(description=_("Mark the selected statements paid"))
    def mark_paid(self, request, queryset):
        self._each(request, queryset, commissions.mark_paid, _("%(count)s statements marked paid."))
