"""The cash book in the admin: read only.  Money moves through the pages (and their services), never here."""

from django.contrib import admin

from .models import CashEntry, DayClose, Remittance


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CashEntry)
class CashEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "station", "kind", "method", "amount", "order", "created_by"]
    list_select_related = ["station", "order", "created_by"]
    list_filter = ["kind", "method", "station__village__county"]
    search_fields = ["order__number", "station__code", "station__name", "reference", "note"]
    date_hierarchy = "created_at"


@admin.register(DayClose)
class DayCloseAdmin(ReadOnlyAdmin):
    list_display = ["day", "station", "expected", "counted", "difference", "late", "closed_by"]
    list_select_related = ["station", "closed_by"]
    list_filter = ["late", "station__village__county"]
    search_fields = ["station__code", "station__name", "note"]


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyAdmin):
    list_display = ["recorded_at", "station", "slip_number", "amount", "status", "received_amount"]
    list_select_related = ["station"]
    list_filter = ["status", "handed_to", "station__village__county"]
    search_fields = ["station__code", "station__name", "slip_number"]
