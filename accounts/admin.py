from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import services

User = get_user_model()


@admin.action(description=_("Log out everywhere (end all sessions)"), permissions=["change"])
def log_out_everywhere(modeladmin, request, queryset):
    count = services.end_all_sessions_of_users(user_ids=list(queryset.values_list("pk", flat=True)))
    modeladmin.message_user(
        request,
        ngettext("%(count)d session ended.", "%(count)d sessions ended.", count) % {"count": count},
        messages.SUCCESS,
    )


# Added to whatever admin is registered for users (Django's UserAdmin unless another app replaced it).
_registered = admin.site._registry.get(User)
if _registered is not None:
    _registered.actions = [*(_registered.actions or []), log_out_everywhere]
