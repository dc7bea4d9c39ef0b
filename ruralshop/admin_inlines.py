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


class SingletonAdmin(admin.ModelAdmin):
    """A one-row settings model (its ``SINGLETON_PK``): the list opens the form itself, showing the defaults
    until it is first saved; no add, no delete.

    There is no "add" because the row is created by the first save of that form (the model's ``save`` pins
    its primary key), so a second row cannot exist, and a GET writes nothing.
    """

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is None and str(object_id) == str(self.model.SINGLETON_PK):
            return self.model(pk=self.model.SINGLETON_PK)  # not saved yet: the defaults
        return obj

    def changelist_view(self, request, extra_context=None):
        return self.change_view(request, str(self.model.SINGLETON_PK), extra_context=extra_context)
