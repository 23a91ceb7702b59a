"""Rate limits (tracetrack.ratelimit) as DRF throttles, so that a limit answers 429
`rate_limited` with Retry-After in the API's error format. A throttle counts all its limits
in one round trip; a batch counts as many requests as it has items."""

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from tracetrack import net, ratelimit
from tracetrack.ratelimit import Limit


def client_ip(request) -> str:
    """The client's address behind our proxies. Some servers (unix sockets, test clients)
    set no REMOTE_ADDR: those count together."""
    return net.client_ip(request) or "unknown"


def _user_or_ip(request) -> str:
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else client_ip(request)


class _Throttle(BaseThrottle):
    # (group, setting) of each limit, counted per user (per IP when anonymous).
    limits: tuple[tuple[str, str], ...] = ()

    def ident(self, request) -> str:
        return _user_or_ip(request)

    def weight(self, request, view) -> int:
        return max(1, int(getattr(view, "throttle_weight", lambda request: 1)(request)))

    def allow_request(self, request, view):
        ident = self.ident(request)
        self._wait = ratelimit.hit([Limit(group, ident, getattr(settings, name)) for group, name in self.limits],
                                   self.weight(request, view))
        return self._wait is None

    def wait(self):
        return self._wait


class ApiThrottle(_Throttle):
    """Every API request, per user (per IP when anonymous): RATE_LIMIT_API."""

    limits = (("api", "RATE_LIMIT_API"),)


class ScanThrottle(_Throttle):
    """Scan submissions, per user: RATE_LIMIT_SCAN, and RATE_LIMIT_API as every request."""

    limits = (("api", "RATE_LIMIT_API"), ("scan", "RATE_LIMIT_SCAN"))


class LoginThrottle(_Throttle):
    """The token endpoint, per IP: RATE_LIMIT_LOGIN (the login page shares the group)."""

    limits = (("login", "RATE_LIMIT_LOGIN"),)

    def ident(self, request) -> str:
        return client_ip(request)
