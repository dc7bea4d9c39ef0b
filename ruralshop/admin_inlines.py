from django.contrib import admin


class ReadOnlyTabularInline(admin.TabularInline):
    """Rows that change only through a service (order lines, events, ledger entries, parcels): shown, never edited here.

    ``readonly_fields`` follow ``fields``, so a subclass names its columns once.
    """

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """A ledger's admin (stock movements, the cash book): listed and searched, never added, edited or deleted here."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
