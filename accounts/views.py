from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import services


@require_POST
@login_required
def logout_everywhere(request):
    """End every session of the user, this one included (a shared PC left logged in somewhere else)."""
    count = services.end_all_sessions(user=request.user)
    logout(request)
    messages.success(request, _("You were logged out on every device (%(count)d sessions).") % {"count": count})
    return redirect("login")
