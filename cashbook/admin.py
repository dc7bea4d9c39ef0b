"""The cash book in the admin: read only.  Money moves through the pages (and their services), never here."""

from django.contrib import admin

from ruralshop.admin_inlines import ReadOnlyModelAdmin

from .models import CashEntry, DayClose, Remittance


@admin.register(CashEntry)
class CashEntryAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "station", "kind", "method", "amount", "order", "created_by"]
    list_select_related = ["station", "order", "created_by"]
    list_filter = ["kind", "method", "station__village__county"]
    search_fields = ["order__number", "station__code", "station__name", "reference", "note"]
    date_hierarchy = "created_at"


@admin.register(DayClose)
class DayCloseAdmin(ReadOnlyModelAdmin):
    list_display = ["day", "station", "expected", "counted", "difference", "late", "closed_by"]
    list_select_related = ["station", "closed_by"]
    list_filter = ["late", "station__village__county"]
    search_fields = ["station__code", "station__name", "note"]


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyModelAdmin):
    list_display = ["recorded_at", "station", "slip_number", "amount", "status", "received_amount"]
    list_select_related = ["station"]
    list_filter = ["status", "handed_to", "station__village__county"]
    search_fields = ["station__code", "station__name", "slip_number"]
