from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export import fields, resources
from import_export.admin import ImportExportModelAdmin
from import_export.widgets import ForeignKeyWidget, Widget

from partners.models import Warehouse
from ruralshop.admin_inlines import ReadOnlyModelAdmin, ReadOnlyTabularInline

from . import stock as stocks
from .models import Category, Product, Promotion, Seller, Stock, StockMovement


@admin.register(Seller)
class SellerAdmin(admin.ModelAdmin):
    list_display = ["name", "default_commission_rate"]
    search_fields = ["name"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name", "name_en", "slug", "parent", "position"]
    list_filter = ["parent"]
    search_fields = ["name", "name_en", "slug"]
    prepopulated_fields = {"slug": ["name"]}


class ProductResource(resources.ModelResource):
    """CSV/XLSX rows keyed by SKU, with category and seller by name."""

    category = fields.Field(attribute="category", column_name="category", widget=ForeignKeyWidget(Category, "slug"))
    seller = fields.Field(attribute="seller", column_name="seller", widget=ForeignKeyWidget(Seller, "name"))

    class Meta:
        model = Product
        import_id_fields = ["sku"]
        fields = ["sku", "name", "category", "seller", "unit", "price", "weight_kg", "volume_m3", "needs_installation", "is_active"]  # fmt: skip
        skip_unchanged = True
        report_skipped = False


class WholeNumberWidget(Widget):
    """A count of units: 12, "12" or 12.0 (spreadsheets store numbers as floats); 1.5, "abc" or True are refused."""

    def clean(self, value, row=None, **kwargs):
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool):
            raise ValueError(_("Enter a whole number of units."))
        if isinstance(value, float):
            if not value.is_integer():
                raise ValueError(_("Enter a whole number of units."))
            return int(value)
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if len(text) > 12 or not text.lstrip("+-").isdecimal() or not text.lstrip("+-").isascii():
            raise ValueError(_("Enter a whole number of units."))
        return int(text)


STOCK_FILE_HELP = _(
    "A stock file has the columns sku, warehouse and either received (units that came in) or counted "
    "(a stock-take: the units on the shelf), and optionally note. It never carries on_hand or reserved: "
    "on hand changes only by receipts, counts and write-offs, and reserved belongs to the orders."
)


class StockImportResource(resources.ModelResource):
    """Stock files, row by row through catalog.stock: ``received`` is goods in, ``counted`` a stock-take.

    ``on_hand`` and ``reserved`` are shown in the preview (before and after) but never read from the file:
    a file that carries them is refused as a whole.
    """

    product = fields.Field(attribute="product", column_name="sku", widget=ForeignKeyWidget(Product, "sku"))
    warehouse = fields.Field(attribute="warehouse", column_name="warehouse", widget=ForeignKeyWidget(Warehouse, "code"))
    # Plain attributes of the row's instance, read by save_instance (and shown in the preview).
    received = fields.Field(attribute="import_received", column_name="received", widget=WholeNumberWidget())
    counted = fields.Field(attribute="import_counted", column_name="counted", widget=WholeNumberWidget())
    note = fields.Field(attribute="import_note", column_name="note")
    on_hand = fields.Field(attribute="on_hand", column_name="on_hand", readonly=True)
    reserved = fields.Field(attribute="reserved", column_name="reserved", readonly=True)

    FORBIDDEN_COLUMNS = ("on_hand", "reserved")

    class Meta:
        model = Stock
        import_id_fields = ["product", "warehouse"]
        fields = ["product", "warehouse", "received", "counted", "note", "on_hand", "reserved"]
        skip_unchanged = False
        clean_model_instances = False
        use_transactions = True  # the preview is a rolled-back run; a confirmed import is all or nothing

    @classmethod
    def get_display_name(cls):
        return _("stock receipts and counts")

    def get_user_visible_fields(self):
        return [f for f in self.get_import_fields() if not f.readonly]

    def import_data(self, dataset, *args, rollback_on_validation_errors=True, **kwargs):
        # A row refused at confirmation (say, orders reserved more since the preview) undoes the whole file.
        return super().import_data(
            dataset, *args, rollback_on_validation_errors=rollback_on_validation_errors, **kwargs
        )

    def before_import(self, dataset, **kwargs):
        headers = {str(h) for h in dataset.headers or []}
        forbidden = [c for c in self.FORBIDDEN_COLUMNS if c in {h.strip().lower() for h in headers}]
        if forbidden:
            raise ValueError(
                _("This file has a %(columns)s column, which is never imported. %(help)s")
                % {"columns": " / ".join(forbidden), "help": STOCK_FILE_HELP}
            )
        if not {"sku", "warehouse"} <= headers or not headers & {"received", "counted"}:
            raise ValueError(STOCK_FILE_HELP)
        # Lock every existing row of the file at once, in primary-key order, before any row moves:
        # row by row in file order, an import and an order could each hold a row the other waits for.
        if connection.in_atomic_block:
            columns = list(dataset.headers)
            skus = {str(r[columns.index("sku")]).strip() for r in dataset}
            codes = {str(r[columns.index("warehouse")]).strip() for r in dataset}
            product_ids = Product.objects.filter(sku__in=skus).values_list("pk", flat=True)
            warehouse_ids = Warehouse.objects.filter(code__in=codes).values_list("pk", flat=True)
            stocks.lock_stock(pairs=[(p, w) for p in product_ids for w in warehouse_ids])

    def save_instance(self, instance, is_create, row, **kwargs):
        received = getattr(instance, "import_received", None)
        counted = getattr(instance, "import_counted", None)
        if (received is None) == (counted is None):
            raise ValidationError(_("Fill in either received or counted in each row, not both and not neither."))
        file_name = kwargs.get("file_name") or ""
        note = (getattr(instance, "import_note", None) or "").strip() or _("import of %(file)s") % {"file": file_name}
        args = {"product": instance.product, "warehouse": instance.warehouse, "actor": kwargs.get("user"), "note": note}
        try:
            if received is not None:
                change = stocks.receive_stock(quantity=received, **args)
            else:
                change = stocks.count_stock(counted=counted, **args)
        except stocks.StockError as exc:
            raise ValidationError(str(exc)) from exc
        # The row as it now stands, for the preview and the admin log; never saved from here.
        instance.pk, instance.on_hand, instance.reserved = change.stock.pk, change.stock.on_hand, change.stock.reserved
        instance._state.adding = False


class StockExportResource(resources.ModelResource):
    """What each warehouse holds: on hand, reserved for orders, available."""

    product = fields.Field(attribute="product", column_name="sku", widget=ForeignKeyWidget(Product, "sku"))
    warehouse = fields.Field(attribute="warehouse", column_name="warehouse", widget=ForeignKeyWidget(Warehouse, "code"))
    available = fields.Field(attribute="available", column_name="available", readonly=True)

    class Meta:
        model = Stock
        fields = ["product", "warehouse", "on_hand", "reserved", "available"]

    def get_queryset(self):
        return Stock.objects.select_related("product", "warehouse")


class StockInline(ReadOnlyTabularInline):
    """Shown on the product; changed on the stock row's own page (receive, count, write off, quarantine)."""

    model = Stock
    fields = ["warehouse", "on_hand", "reserved", "quarantined"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(ImportExportModelAdmin):
    resource_classes = [ProductResource]
    list_display = ["sku", "name", "category", "seller", "price", "unit", "needs_installation", "is_active"]
    list_select_related = ["category", "seller"]
    list_filter = ["is_active", "needs_installation", "category", "seller"]
    search_fields = ["sku", "name"]
    list_editable = ["is_active"]
    inlines = [StockInline]


class StockReceiveForm(forms.ModelForm):
    """A new stock row is a first receipt: the units that came in, through receive_stock."""

    quantity = forms.IntegerField(label=_("quantity received"), min_value=1, max_value=stocks.MAX_QUANTITY)
    note = forms.CharField(label=_("note"), max_length=stocks.NOTE_LENGTH, required=False)

    class Meta:
        model = Stock
        fields = ["product", "warehouse"]


class StockChangeForm(forms.ModelForm):
    """On hand, reserved and quarantined are shown, never typed: a change is a receipt, a count, a write-off, or
    units out of quarantine (released back on the shelf, or written off), with a note."""

    RECEIVE, COUNT, WRITE_OFF = "receive", "count", "write_off"
    RELEASE, QUARANTINE_WRITE_OFF = "release", "quarantine_write_off"
    QUARANTINE = (RELEASE, QUARANTINE_WRITE_OFF)
    operation = forms.ChoiceField(
        label=_("change"),
        required=False,
        choices=[
            ("", _("no change")),
            (RECEIVE, _("receive: units that came in")),
            (COUNT, _("count: the units on the shelf (stock-take)")),
            (WRITE_OFF, _("write off: damaged, lost or expired units")),
            (RELEASE, _("release from quarantine: inspected units fit to sell, back on the shelf")),
            (QUARANTINE_WRITE_OFF, _("write off from quarantine: units that cannot be sold")),
        ],
    )
    quantity = forms.IntegerField(label=_("quantity"), required=False, min_value=0, max_value=stocks.MAX_QUANTITY)
    note = forms.CharField(label=_("note"), max_length=stocks.NOTE_LENGTH, required=False)

    class Meta:
        model = Stock
        fields = []

    def clean(self):
        data = super().clean()
        operation, quantity = data.get("operation"), data.get("quantity")
        if not operation:
            if quantity is not None:
                self.add_error("operation", _("Choose whether the quantity was received, counted or written off."))
            return data
        if quantity is None:
            if "quantity" not in self.errors:
                self.add_error("quantity", _("Enter the quantity."))
            return data
        if operation != self.COUNT and quantity < 1:
            self.add_error("quantity", _("Enter at least 1."))
        elif operation == self.WRITE_OFF and not data.get("note", "").strip():
            self.add_error("note", _("Say why the units are written off."))
        elif operation in self.QUARANTINE and not data.get("note", "").strip():
            self.add_error("note", _("Say what the inspection found."))
        elif operation in self.QUARANTINE and quantity > self.instance.quarantined:
            # A hint, like the checks below: the service decides under the row lock.
            self.add_error(
                "quantity",
                ngettext(
                    "Only %(count)s unit is in quarantine.",
                    "Only %(count)s units are in quarantine.",
                    self.instance.quarantined,
                )
                % {"count": self.instance.quarantined},
            )
        else:
            # Checking is split from doing: the service checks again under the row lock.
            try:
                if operation == self.COUNT:
                    stocks.check_count(stock=self.instance, counted=quantity)
                elif operation == self.WRITE_OFF:
                    stocks.check_write_off(stock=self.instance, quantity=quantity)
            except stocks.StockError as exc:
                self.add_error("quantity", str(exc))
        return data


class QuarantineFilter(admin.SimpleListFilter):
    title = _("quarantine")
    parameter_name = "quarantine"

    def lookups(self, request, model_admin):
        return [("yes", _("units in quarantine"))]

    def queryset(self, request, queryset):
        return queryset.filter(quarantined__gt=0) if self.value() == "yes" else queryset


@admin.register(Stock)
class StockAdmin(ImportExportModelAdmin):
    """Stock rows: read here, changed only through catalog.stock (the page's change form, the import) and the orders."""

    list_display = ["product", "warehouse", "on_hand", "reserved", "available", "quarantined"]
    list_select_related = ["product", "warehouse"]
    list_filter = ["warehouse", "product__category", QuarantineFilter]
    search_fields = ["product__sku", "product__name"]
    autocomplete_fields = ["product"]
    import_template_name = "admin/catalog/stock/import.html"

    def get_import_context_data(self, **kwargs):
        return {**super().get_import_context_data(**kwargs), "stock_file_help": STOCK_FILE_HELP}

    def get_import_resource_classes(self, request):
        return [StockImportResource]

    def get_export_resource_classes(self, request):
        return [StockExportResource]

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = StockChangeForm if obj is not None else StockReceiveForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["product", "warehouse", "quantity", "note"]
        return [
            "product",
            "warehouse",
            "on_hand",
            "reserved",
            "available",
            "quarantined",
            "movements",
            "operation",
            "quantity",
            "note",
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["product", "warehouse", "on_hand", "reserved", "available", "quarantined", "movements"]

    @admin.display(description=_("available"))
    def available(self, obj):
        return obj.available

    @admin.display(description=_("movements"))
    def movements(self, obj):
        url = reverse("admin:catalog_stockmovement_changelist")
        query = urlencode({"product__id__exact": obj.product_id, "warehouse__id__exact": obj.warehouse_id})
        return format_html('<a href="{}?{}">{}</a>', url, query, _("every change of this row"))

    def save_model(self, request, obj, form, change):
        """Never ``obj.save()``: it would write back the on hand and reserved read when the form opened."""
        data = form.cleaned_data
        request.stock_change = request.stock_refusal = None
        try:
            if not change:
                result = stocks.receive_stock(
                    product=data["product"],
                    warehouse=data["warehouse"],
                    quantity=data["quantity"],
                    actor=request.user,
                    note=data["note"],
                )
                obj.pk, obj.on_hand, obj.reserved = result.stock.pk, result.stock.on_hand, result.stock.reserved
                obj._state.adding = False
            elif data.get("operation"):
                args = {"product": obj.product, "warehouse": obj.warehouse, "actor": request.user, "note": data["note"]}
                operation, quantity = data["operation"], data["quantity"]
                if operation == StockChangeForm.RECEIVE:
                    result = stocks.receive_stock(quantity=quantity, **args)
                elif operation == StockChangeForm.COUNT:
                    result = stocks.count_stock(counted=quantity, **args)
                elif operation == StockChangeForm.RELEASE:
                    result = stocks.release_from_quarantine(quantity=quantity, **args)
                elif operation == StockChangeForm.QUARANTINE_WRITE_OFF:
                    result = stocks.write_off_from_quarantine(quantity=quantity, **args)
                else:
                    result = stocks.write_off_stock(quantity=quantity, **args)
            else:
                return
            request.stock_change = result.movement
        except stocks.StockError as exc:
            # Refused under the row lock (the form's check passed on older numbers): a message, no change.
            request.stock_refusal = str(exc)

    def log_addition(self, request, obj, message):
        if getattr(request, "stock_refusal", None) is None:
            super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        movement = getattr(request, "stock_change", None)
        if movement is not None:
            super().log_change(request, obj, str(movement))

    def response_add(self, request, obj, post_url_continue=None):
        if getattr(request, "stock_refusal", None):
            self.message_user(request, request.stock_refusal, messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if getattr(request, "stock_refusal", None):
            self.message_user(request, request.stock_refusal, messages.ERROR)
            return HttpResponseRedirect(request.path)
        return super().response_change(request, obj)

    def process_result(self, result, request):
        """A confirmed import that a row refused (rolled back as a whole) says so, instead of "Import finished"."""
        if result.has_errors() or result.has_validation_errors():
            problems = [str(error.error) for error in result.base_errors]
            for invalid in result.invalid_rows:
                problems.append(
                    _("row %(number)s: %(errors)s")
                    % {
                        "number": invalid.number,
                        "errors": "; ".join(m for ms in invalid.error_dict.values() for m in ms),
                    }
                )
            for number, errors in result.row_errors():
                problems.append(_("row %(number)s: %(error)s") % {"number": number, "error": errors[0].error})
            self.message_user(
                request,
                _("Nothing was imported: %(problems)s") % {"problems": " | ".join(problems[:10])},
                messages.ERROR,
            )
            return HttpResponseRedirect(reverse("admin:catalog_stock_import"))
        return super().process_result(result, request)

    def has_delete_permission(self, request, obj=None):
        return False  # a row with history is kept; a product no longer stocked is counted to 0


@admin.register(StockMovement)
class StockMovementAdmin(ReadOnlyModelAdmin):
    """The stock ledger: read-only, written by catalog.stock and the orders (orders.stock_moves)."""

    list_display = ["created_at", "product", "warehouse", "kind", "on_hand_delta", "reserved_delta", "quarantined_delta", "order", "actor", "note"]  # fmt: skip
    list_select_related = ["product", "warehouse", "order", "actor"]
    list_filter = ["kind", "warehouse"]
    search_fields = ["product__sku", "product__name", "order__number", "note"]
    date_hierarchy = "created_at"


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = ["name", "product", "category", "price", "percent_off", "starts_at", "ends_at"]
    list_select_related = ["product", "category"]
    list_filter = ["category"]
    search_fields = ["name", "product__name", "product__sku"]
    autocomplete_fields = ["product"]
    date_hierarchy = "starts_at"
