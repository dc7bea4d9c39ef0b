from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import services
from .models import County, CountyManager, Holiday, ServiceCenter, StationStaff, Village, Villager, Warehouse
from .phones import PHONE_FORMFIELD_OVERRIDES


class VillageInline(admin.TabularInline):
    model = Village
    extra = 0
    fields = ["town", "name"]


class WarehouseInline(admin.StackedInline):
    model = Warehouse
    extra = 0


class CountyManagerInline(admin.TabularInline):
    model = CountyManager
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(County)
class CountyAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "province", "commission_netting", "promise_days"]
    list_filter = ["province"]
    search_fields = ["code", "name", "province"]
    inlines = [WarehouseInline, VillageInline, CountyManagerInline]


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    """Days the runs do not leave: the delivery promise skips them (a county's, or every county's)."""

    list_display = ["day", "name", "county"]
    list_filter = ["county"]
    date_hierarchy = "day"


@admin.register(Warehouse)
class WarehouseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "county", "address"]
    list_select_related = ["county"]
    search_fields = ["code", "name", "county__name"]


@admin.register(Village)
class VillageAdmin(admin.ModelAdmin):
    list_display = ["name", "town", "county"]
    list_select_related = ["county"]
    list_filter = ["county"]
    search_fields = ["name", "town", "county__name"]


class StationStaffInline(admin.TabularInline):
    model = StationStaff
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(ServiceCenter)
class ServiceCenterAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "village", "county_name", "status", "opened_on", "pay_on_pickup_limit"]
    list_select_related = ["village__county"]
    list_filter = ["status", "village__county"]
    search_fields = ["code", "name", "village__name", "address"]
    autocomplete_fields = ["village"]
    inlines = [StationStaffInline]
    date_hierarchy = "opened_on"
    formfield_overrides = PHONE_FORMFIELD_OVERRIDES  # digits, spaces, + and - only, as on the partner pages

    @admin.display(description=County._meta.verbose_name, ordering="village__county__name")
    def county_name(self, obj):
        return obj.village.county.name


@admin.register(StationStaff)
class StationStaffAdmin(admin.ModelAdmin):
    list_display = ["user", "service_center", "role"]
    list_select_related = ["user", "service_center"]
    list_filter = ["role", "service_center__village__county"]
    search_fields = ["user__username", "service_center__code", "service_center__name"]
    autocomplete_fields = ["user", "service_center"]


@admin.register(CountyManager)
class CountyManagerAdmin(admin.ModelAdmin):
    list_display = ["user", "county"]
    list_select_related = ["user", "county"]
    autocomplete_fields = ["user", "county"]


@admin.register(Villager)
class VillagerAdmin(admin.ModelAdmin):
    list_display = ["name", "masked_phone", "service_center", "sms_consent", "created_at"]
    list_select_related = ["service_center"]
    list_filter = ["sms_consent", "service_center__village__county"]
    search_fields = ["name", "phone", "service_center__code", "service_center__name"]
    autocomplete_fields = ["service_center"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    list_per_page = 50
    show_full_result_count = False  # counting a big table on every page is slow
    actions = ["anonymise"]
    formfield_overrides = PHONE_FORMFIELD_OVERRIDES  # digits, spaces, + and - only, as on the partner pages

    @admin.display(description=Villager._meta.get_field("phone").verbose_name)
    def masked_phone(self, obj):
        return obj.masked_phone

    @admin.action(description=_("Anonymise the selected villagers (at their request; orders are kept)"))
    def anonymise(self, request, queryset):
        for villager in queryset.filter(anonymised_at__isnull=True):
            services.anonymise_villager(villager=villager)
        self.message_user(request, _("Anonymised."), messages.SUCCESS)
