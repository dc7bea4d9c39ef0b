from django.contrib import admin

from .models import ProduceKind, ProduceLot


@admin.register(ProduceKind)
class ProduceKindAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "name_en",
        "county",
        "unit",
        "grades",
        "perishable",
        "keeps_days",
        "restricted",
        "allowed",
        "commission_rate",
        "is_active",
    ]
    list_filter = ["county", "perishable", "restricted", "is_active"]
    search_fields = ["name", "name_en"]


@admin.register(ProduceLot)
class ProduceLotAdmin(admin.ModelAdmin):
    """Read-only: lots change only through the produce services (the money through the cash book)."""

    list_display = ["number", "station", "kind", "quantity", "status", "value", "created_at"]
    list_filter = ["status", "kind__county"]
    search_fields = ["number", "villager__name", "station__code"]
    readonly_fields = [f.name for f in ProduceLot._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
