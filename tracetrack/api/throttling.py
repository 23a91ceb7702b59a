"""Rate limits with django-ratelimit's counters (Redis in production), as DRF throttles so
that a limit answers 429 `rate_limited` with Retry-After in the API's error format."""

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from tracetrack import net


def client_ip(group, request) -> str:
    """django-ratelimit's key: the client's address behind our proxies. Some servers (unix
    sockets, test clients) set no REMOTE_ADDR: those count together."""
    return net.client_ip(request) or "unknown"


def _user_or_ip(group, request) -> str:
    user = getattr(request, "user", None)
    return str(user.pk) if user is not None and user.is_authenticated else client_ip(group, request)


class _RatelimitThrottle(BaseThrottle):
    group: str = ""
    setting: str = ""
    key = staticmethod(_user_or_ip)

    def allow_request(self, request, view):
        usage = get_usage(
            request,
            group=self.group,
            key=self.key,
            rate=getattr(settings, self.setting),
            method=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
            increment=True,
        )
        self._wait = None
        if usage is None or not usage["should_limit"]:
            return True
        self._wait = usage["time_left"]
        return False

    def wait(self):
        return self._wait


class ApiThrottle(_RatelimitThrottle):
    """Every API request, per user (per IP when anonymous): RATE_LIMIT_API."""

    group = "api"
    setting = "RATE_LIMIT_API"


class ScanThrottle(_RatelimitThrottle):
    """Scan submissions, per user: RATE_LIMIT_SCAN."""

    group = "scan"
    setting = "RATE_LIMIT_SCAN"


class LoginThrottle(_RatelimitThrottle):
    """The token endpoint, per IP: RATE_LIMIT_LOGIN (the login page shares the group)."""

    group = "login"
    setting = "RATE_LIMIT_LOGIN"
    key = staticmethod(client_ip)
