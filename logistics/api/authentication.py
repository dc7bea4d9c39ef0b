"""Logistics companies authenticate with ``Authorization: Token <key>``; keys are stored hashed."""

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.throttling import SimpleRateThrottle

from logistics.models import LogisticsClient, LogisticsClientKey

LAST_USED_RESOLUTION = timedelta(minutes=1)  # do not write the client row on every request


class LogisticsKeyAuthentication(BaseAuthentication):
    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Send the header as: Authorization: Token <key>."))
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid key.")) from None
        if len(key) > 200 or "\x00" in key:
            raise exceptions.AuthenticationFailed(_("Invalid key."))
        try:
            api_key = LogisticsClientKey.objects.get_from_key(key)
        except LogisticsClientKey.DoesNotExist:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked key.")) from None
        client = LogisticsClient.objects.filter(pk=api_key.client_id, is_active=True).first()
        if api_key.has_expired or client is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked key."))
        now = timezone.now()
        if client.last_used_at is None or client.last_used_at < now - LAST_USED_RESOLUTION:
            LogisticsClient.objects.filter(pk=client.pk).update(last_used_at=now)
        return client, api_key

    def authenticate_header(self, request):
        return self.keyword


class IsLogisticsClient(BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.user, LogisticsClient)


class PerClientThrottle(SimpleRateThrottle):
    """Requests per logistics client (not per IP: a company's servers may share one)."""

    scope = "logistics"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, LogisticsClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}
