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
