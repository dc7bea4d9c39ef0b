"""Login brute-force protection (django-axes): whose address a request is, and the page a locked-out user sees."""

import ipaddress

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import render
from django.utils.translation import ngettext


def client_ip(request) -> str:
    """The client's address, as far as we can trust it.

    ``X-Forwarded-For`` is whatever the client wrote, plus one address per proxy
    it went through: only the last ``TRUSTED_PROXY_COUNT`` entries were written
    by our own proxies, and the entry those proxies saw the request come from is
    the client.  Without a configured proxy the header is ignored, so rotating it
    cannot reset the failure count of a username and IP pair.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = settings.TRUSTED_PROXY_COUNT
    if not proxies:
        return remote
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    if len(hops) < proxies:  # did not come through all our proxies: only the socket is known
        return remote
    candidate = hops[-proxies]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def lockout_response(request, original_response=None, credentials=None):
    """The login page again, with why and for how long, instead of a bare error page (429)."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    message = ngettext(
        "Too many failed log-in attempts for this user from this computer. "
        "Try again in %(minutes)d minute, or ask an administrator to unlock the account.",
        "Too many failed log-in attempts for this user from this computer. "
        "Try again in %(minutes)d minutes, or ask an administrator to unlock the account.",
        minutes,
    ) % {"minutes": minutes}
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    # An unbound form: validating a bound one would authenticate (and count a failure) again.
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout_message": message, "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
