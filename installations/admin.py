from django.contrib import admin

from .models import Appointment, Installer


@admin.register(Installer)
class InstallerAdmin(admin.ModelAdmin):
    list_display = ["name", "county", "user", "client", "capacity", "work_weekdays", "is_active"]
    list_filter = ["county", "is_active"]
    search_fields = ["name", "phone", "user__username"]
    raw_id_fields = ["user"]


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["order", "installer", "day", "half_day", "status", "fail_reason"]
    list_filter = ["status", "half_day", "installer__county"]
    date_hierarchy = "day"
    raw_id_fields = ["order", "booked_by"]
    readonly_fields = ["booked_at", "reminded_at", "done_at"]
