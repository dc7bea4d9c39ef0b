"""Logistics companies authenticate with ``Authorization: Token <key>``; keys are stored hashed."""

from datetime import timedelta

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.redis import RedisCache
from django.utils import timezone
from django.utils.connection import ConnectionProxy
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
        # One indexed query (the key's unique prefix) for key and client together; the hash is checked
        # in Python (SHA-512, constant-time compare).  Revocation and deactivation are read on every
        # request, never cached: a revoked key fails on the very next one.
        prefix = key.partition(".")[0]
        keys = LogisticsClientKey.objects.select_related("client").filter(
            prefix=prefix, revoked=False, client__is_active=True
        )
        api_key = next(iter(keys.order_by()[:1]), None)  # the prefix is unique: no ORDER BY
        if api_key is None or not api_key.is_valid(key) or api_key.has_expired:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked key."))
        client = api_key.client
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
    """Requests per logistics client (not per IP: a company's servers may share one).

    A sliding-window counter instead of DRF's list of timestamps: DRF reads and
    rewrites the whole list (up to ``rate`` floats) on every request, and two
    concurrent requests lose one of their writes.  Here a request is one atomic
    INCR of this window's counter plus a GET of the previous one, in one Redis
    round trip; the previous window counts in proportion to how much of it
    still lies within the last ``duration`` seconds.
    """

    scope = "logistics"

    def get_cache_key(self, request, view):
        if not isinstance(request.user, LogisticsClient):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}

    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, self.elapsed = divmod(self.now, self.duration)
        current_key, previous_key = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        self.current, self.previous = self._count(current_key, previous_key)
        if self._estimate() > self.num_requests:
            self._uncount(current_key)  # a refused request does not use up the allowance, as in DRF
            self.current -= 1
            return False
        return True

    def _estimate(self) -> float:
        return self.previous * (1 - self.elapsed / self.duration) + self.current

    def _count(self, current_key: str, previous_key: str) -> tuple[int, int]:
        """Count this request in the current window; return (current, previous) counts."""
        ttl = 2 * self.duration + 1
        backend = self.cache
        if isinstance(backend, ConnectionProxy):  # django.core.cache.cache stands for this thread's backend
            backend = caches[DEFAULT_CACHE_ALIAS]
        if isinstance(backend, RedisCache):
            # Django's Redis cache keeps integers unpickled, so INCR works on its keys.
            current_key = backend.make_and_validate_key(current_key)
            previous_key = backend.make_and_validate_key(previous_key)
            pipe = backend._cache.get_client(current_key, write=True).pipeline(transaction=False)
            pipe.incr(current_key).expire(current_key, ttl).get(previous_key)
            current, _, previous = pipe.execute()
            return int(current), int(previous or 0)
        self.cache.add(current_key, 0, ttl)  # other caches (the file cache of make run and tests)
        try:
            current = self.cache.incr(current_key)
        except ValueError:  # expired between add and incr
            self.cache.set(current_key, current := 1, ttl)
        return current, int(self.cache.get(previous_key) or 0)

    def _uncount(self, current_key: str) -> None:
        try:
            self.cache.decr(current_key)
        except ValueError:
            pass

    def wait(self):
        """Seconds until the estimate drops to the limit again (at least 1)."""
        if self.current >= self.num_requests:
            return max(1.0, self.duration - self.elapsed)
        # previous * (1 - t / duration) + current <= num_requests, solved for t
        needed = self.duration * (1 - (self.num_requests - self.current) / self.previous)
        return max(1.0, needed - self.elapsed)
