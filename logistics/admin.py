from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from partners.models import Warehouse
from ruralshop.admin_inlines import ReadOnlyTabularInline

from . import services
from .models import BatchStop, DeliveryBatch, Parcel, Route, RouteStop, UnplannedOrder, Vehicle


def _report(model_admin, request, name: str, report) -> None:
    if report.busy:
        model_admin.message_user(
            request,
            _("%(name)s is being planned by another run; try again in a minute.") % {"name": name},
            messages.WARNING,
        )
    else:
        model_admin.message_user(request, f"{name}: {len(report.batches)} batches, {report.parcels} parcels")


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["plate", "warehouse", "capacity_kg", "capacity_m3", "is_active"]
    list_filter = ["warehouse", "is_active"]
    search_fields = ["plate"]


class RouteStopInline(admin.TabularInline):
    model = RouteStop
    extra = 0
    autocomplete_fields = ["service_center"]


@admin.register(Route)
class RouteAdmin(admin.ModelAdmin):
    """Saving a route creates or moves its planning entry in the periodic tasks (at its cutoff)."""

    list_display = ["code", "name", "warehouse", "cutoff_time", "departure_weekdays", "travel_days"]
    list_filter = ["warehouse"]
    search_fields = ["code", "name"]
    filter_horizontal = ["vehicles"]
    inlines = [RouteStopInline]
    actions = ["plan_today"]

    @admin.action(description=_("Plan today's dispatch for the selected routes"))
    def plan_today(self, request, queryset):
        for route in queryset.select_related("warehouse"):
            report = services.plan_dispatch(
                warehouse=route.warehouse, dispatch_date=timezone.localdate(), route_ids=[route.pk]
            )
            _report(self, request, route.code, report)


class ParcelInline(ReadOnlyTabularInline):
    model = Parcel
    fields = ["label", "order", "weight_kg", "volume_m3", "status", "note", "photo_link"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("order", "photo")

    @admin.display(description=_("photo"))
    def photo_link(self, parcel):
        """The station's photo of a missing or damaged parcel, through the view that checks who asks."""
        photo = getattr(parcel, "photo", None)
        if photo is None:
            return "-"
        return format_html(
            '<a href="{}">{}×{}</a>', reverse("parcel-photo", args=[photo.pk]), photo.width, photo.height
        )


@admin.register(BatchStop)
class BatchStopAdmin(admin.ModelAdmin):
    list_display = ["batch", "sequence", "service_center", "status", "received_at"]
    list_select_related = ["batch", "service_center"]
    list_filter = ["status"]
    search_fields = ["batch__code", "service_center__code"]
    readonly_fields = ["batch", "service_center", "sequence", "status", "arrived_at", "received_at", "received_by"]
    inlines = [ParcelInline]

    def has_add_permission(self, request):
        return False


class BatchStopInline(ReadOnlyTabularInline):
    model = BatchStop
    fields = ["sequence", "service_center", "status", "arrived_at", "received_at"]
    show_change_link = True


@admin.register(DeliveryBatch)
class DeliveryBatchAdmin(admin.ModelAdmin):
    """Batches are made by the planner; the admin departs or cancels them through the services."""

    list_display = ["code", "dispatch_date", "route", "vehicle", "status", "parcel_count", "load"]
    list_select_related = ["route", "vehicle"]
    list_filter = ["status", "warehouse", "dispatch_date"]
    search_fields = ["code", "vehicle__plate"]
    date_hierarchy = "dispatch_date"
    readonly_fields = [f.name for f in DeliveryBatch._meta.fields]
    inlines = [BatchStopInline]
    actions = ["depart", "cancel"]

    @admin.display(description=_("load"))
    def load(self, obj):
        return f"{obj.load_percent}%"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _each(self, request, queryset, action):
        for batch in queryset:
            try:
                action(batch=batch, actor=request.user)
            except services.DispatchError as exc:
                self.message_user(request, str(exc), messages.WARNING)

    @admin.action(description=_("Depart the selected batches"))
    def depart(self, request, queryset):
        self._each(request, queryset, services.depart_batch)

    @admin.action(description=_("Cancel the selected planned batches"))
    def cancel(self, request, queryset):
        self._each(request, queryset, services.cancel_batch)


@admin.register(Parcel)
class ParcelAdmin(admin.ModelAdmin):
    list_display = ["label", "order", "batch_stop", "status", "overdue_since"]
    list_select_related = ["order", "batch_stop__batch"]
    list_filter = ["status"]
    search_fields = ["label", "order__number"]
    readonly_fields = ["batch_stop", "order", "label", "weight_kg", "volume_m3"]

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        # A parcel edited here changes its batch's manifest: a new version, so no cached copy is served.
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            services.bump_batch_version(obj.batch_stop.batch_id)


@admin.register(UnplannedOrder)
class UnplannedOrderAdmin(admin.ModelAdmin):
    list_display = ["order", "warehouse", "dispatch_date", "reason", "checked_at"]
    list_select_related = ["order", "warehouse"]
    list_filter = ["reason", "warehouse"]
    search_fields = ["order__number"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class PlanWarehouseMixin:
    @admin.action(description=_("Plan today's dispatch for the selected warehouses"))
    def plan_dispatch_today(self, request, queryset):
        for warehouse in queryset:
            report = services.plan_dispatch(warehouse=warehouse, dispatch_date=timezone.localdate())
            _report(self, request, warehouse.code, report)


# The warehouse admin lives in partners; the planning action is added here, where planning lives.
_warehouse_admin = admin.site._registry[Warehouse]
_warehouse_admin.actions = [*(_warehouse_admin.actions or []), PlanWarehouseMixin.plan_dispatch_today]


# --- API clients and webhooks --------------------------------------------------------------

from rest_framework_api_key.admin import APIKeyModelAdmin  # noqa: E402

from . import webhooks  # noqa: E402
from .models import LogisticsClient, LogisticsClientKey, WebhookDelivery, WebhookEndpoint  # noqa: E402


class WebhookEndpointForm(forms.ModelForm):
    """The events as checkboxes (stored comma-separated): a company subscribes to what it wants, nothing unknown."""

    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "secret", "events", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        events = self.initial.get("events") or ""
        if isinstance(events, str):  # the stored form, from the instance
            self.initial["events"] = sorted(WebhookEndpoint(events=events).event_names())

    def clean_events(self) -> str:
        return ",".join(self.cleaned_data["events"])


class WebhookEndpointInline(admin.TabularInline):
    model = WebhookEndpoint
    form = WebhookEndpointForm
    extra = 0


@admin.register(LogisticsClient)
class LogisticsClientAdmin(admin.ModelAdmin):
    list_display = ["name", "is_active", "created_at", "last_used_at"]
    list_filter = ["is_active", "warehouses"]
    search_fields = ["name"]
    filter_horizontal = ["warehouses"]
    readonly_fields = ["created_at", "last_used_at"]
    inlines = [WebhookEndpointInline]


@admin.register(LogisticsClientKey)
class LogisticsClientKeyAdmin(APIKeyModelAdmin):
    """Adding a key shows it once; revoking takes effect on the next request."""

    list_display = [*APIKeyModelAdmin.list_display, "client"]
    list_filter = [*APIKeyModelAdmin.list_filter, "client"]
    search_fields = [*APIKeyModelAdmin.search_fields, "client__name"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event", "endpoint", "status", "attempts", "last_response_code", "last_error"]
    list_select_related = ["endpoint"]
    list_filter = ["status", "event"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Send the selected deliveries again"))
    def resend(self, request, queryset):
        for delivery in queryset.exclude(status=WebhookDelivery.Status.DELIVERED):
            webhooks.resend(delivery)
        self.message_user(request, _("Queued again."))
