"""The review in the admin: the thresholds are edited here; call-backs and reviews are read only (the
county decides on its pages, where every decision keeps who and why)."""

from django.contrib import admin

from ruralshop.admin_inlines import ReadOnlyModelAdmin, SingletonAdmin

from .models import CallBack, Review, ReviewPolicy


@admin.register(ReviewPolicy)
class ReviewPolicyAdmin(SingletonAdmin):
    readonly_fields = ["updated_at"]


@admin.register(CallBack)
class CallBackAdmin(ReadOnlyModelAdmin):
    list_display = ["drawn_at", "order", "result", "called_by", "called_at"]
    list_select_related = ["order", "called_by"]
    list_filter = ["result", "order__service_center__village__county"]
    search_fields = ["order__number"]


@admin.register(Review)
class ReviewAdmin(ReadOnlyModelAdmin):
    list_display = ["flagged_at", "service_center", "order", "status", "decided_by", "decided_at", "clawed_back"]
    list_select_related = ["service_center", "order", "decided_by"]
    list_filter = ["status", "service_center__village__county"]
    search_fields = ["order__number", "service_center__code", "reason"]
