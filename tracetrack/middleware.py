"""Request middleware: what every request carries and leaves behind.

`RequestContextMiddleware` (outermost of ours) gives each request its id and client IP,
times what it spends on the database and the cache, and when it is answered writes one log
line, the Prometheus observations and the `X-Request-ID` and `Server-Timing` headers.
`SessionIdleMiddleware` ends idle sessions without writing every session on every request.
`InputBoundsMiddleware` refuses control characters and oversized values in query strings
and forms before any view reads them.
"""

import logging
import re
import time
import uuid

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.db import DatabaseError, connection

from tracetrack import metrics, request_context
from tracetrack.db import replicas
from tracetrack.net import client_ip, from_trusted_proxy

logger = logging.getLogger("tracetrack.request")
# The probes (liveness, readiness, metrics) answer no text and are nobody's activity: no
# middleware reads the session or the user for them (the cache, or the database behind it),
# whatever cookie the caller sends, so that `/health/` stays the process alone.
PROBE_PATHS = frozenset({"/health/", "/ready/", "/metrics"})
SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")

# A request id from a trusted proxy is kept when it is a bounded token; else we make one.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_for(request) -> str:
    incoming = request.META.get("HTTP_X_REQUEST_ID", "")
    if incoming and REQUEST_ID.fullmatch(incoming) and from_trusted_proxy(request):
        return incoming
    return uuid.uuid4().hex


class _TimedQueries:
    """A `connection.execute_wrapper`: adds each statement's time to the request's usage."""

    __slots__ = ("usage",)

    def __init__(self, usage):
        self.usage = usage

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        except DatabaseError:
            metrics.DB_ERRORS.labels("query").inc()
            raise
        finally:
            self.usage.db_seconds += time.perf_counter() - start
            self.usage.db_queries += 1


def route_of(request) -> str:
    """The URL pattern that served the request (a bounded label), not its path."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "<unmatched>"
    return "/" + (match.route or "").replace("^", "").replace("$", "")


class RequestContextMiddleware:
    """See the module docstring. Goes first, so that it times everything after it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        start = time.perf_counter()
        request_id = request_id_for(request)
        request.request_id = request_id
        token = request_context.bind(ip=client_ip(request), request_id=request_id, request=request)
        usage = request_context.current().usage
        try:
            with connection.execute_wrapper(_TimedQueries(usage)):
                response = self.get_response(request)
            if settings.DEBUG and response.status_code == 404:
                from tracetrack.api.errors import json_not_found_under_debug

                response = json_not_found_under_debug(request, response)
            seconds = time.perf_counter() - start
            response["X-Request-ID"] = request_id
            response["Server-Timing"] = (
                f'db;dur={usage.db_seconds * 1000:.1f};desc="{usage.db_queries} queries", '
                f'cache;dur={usage.cache_seconds * 1000:.1f};desc="{usage.cache_calls} calls", '
                f"total;dur={seconds * 1000:.1f}"
            )
            self._observe(request, response, seconds, usage)  # the log line still carries the id
            if request.method not in SAFE_METHODS:
                replicas.note_write(getattr(request, "user", None))
        finally:
            request_context.reset(token)
        return response

    @staticmethod
    def _observe(request, response, seconds: float, usage) -> None:
        route, method, status = route_of(request), request.method, response.status_code
        metrics.REQUEST_SECONDS.labels(route, method).observe(seconds)
        metrics.RESPONSES.labels(route, method, str(status)).inc()
        metrics.DB_QUERIES.inc(usage.db_queries)
        metrics.DB_SECONDS.inc(usage.db_seconds)
        if connection.vendor == "postgresql":
            metrics.observe_pool(connection.pool)
        level = logging.ERROR if status >= 500 and status != 503 else logging.INFO
        logger.log(level, "%s %s %s", method, request.path, status, extra={
            "method": method,
            "path": request.path,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 2),
            "db_ms": round(usage.db_seconds * 1000, 2),
            "db_queries": usage.db_queries,
            "cache_ms": round(usage.cache_seconds * 1000, 2),
            "cache_calls": usage.cache_calls,
            "remote_addr": request_context.current().ip,
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200] or None,
            "bytes": None if response.streaming else len(response.content),
        })


# Input bounds (README: Security). Every query parameter and every field of a urlencoded form,
# names and values, is free of control characters (a NUL reaches PostgreSQL as an error;
# tab, line feed and carriage return stay allowed) and bounded in length, before any view or
# form reads it; each field's own rule (length, pattern) then lives in its form or
# serializer. Multipart bodies (uploads) are left to their forms, which refuse NUL too.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_PATH = 2048
MAX_QUERY_STRING = 4096
MAX_QUERY_VALUE = 512
MAX_FORM_VALUE = 10_000
# Django's session keys are 32 lowercase letters and digits: a cookie that is not one is
# ignored (as no session) rather than looked up.
SESSION_KEY = re.compile(r"[a-z0-9]{8,64}")


class InputBoundsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = self.problem(request)
        if problem is not None:
            return self.refuse(request, *problem)
        session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if session_key is not None and not SESSION_KEY.fullmatch(session_key):
            del request.COOKIES[settings.SESSION_COOKIE_NAME]
        return self.get_response(request)

    @staticmethod
    def problem(request) -> tuple[str, str] | None:
        """(field, message) of the first value out of bounds, or None."""
        if CONTROL_CHARACTERS.search(request.path) or len(request.path) > MAX_PATH:
            return "path", "The path holds control characters (such as NUL) or is too long."
        query = request.META.get("QUERY_STRING", "")
        if query:
            if len(query) > MAX_QUERY_STRING:
                return "query", f"The query string is longer than {MAX_QUERY_STRING} characters."
            found = InputBoundsMiddleware.check(request.GET, MAX_QUERY_VALUE)
            if found:
                return found
        if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
            return InputBoundsMiddleware.check(request.POST, MAX_FORM_VALUE)
        return None

    @staticmethod
    def check(data, limit: int) -> tuple[str, str] | None:
        for key, values in data.lists():
            name = CONTROL_CHARACTERS.sub("?", key)[:50]
            if CONTROL_CHARACTERS.search(key) or len(key) > 100:
                return name, "A parameter name holds control characters or is too long."
            for value in values:
                if CONTROL_CHARACTERS.search(value):
                    return name, "Control characters (such as NUL) are not allowed."
                if len(value) > limit:
                    return name, f"Ensure this value has at most {limit} characters (it has {len(value)})."
        return None

    @staticmethod
    def refuse(request, field: str, message: str):
        from django.http import HttpResponse, JsonResponse

        if request.path.startswith("/api/"):
            return JsonResponse({"code": "invalid", "detail": message, "errors": {field: [message]},
                                 "request_id": getattr(request, "request_id", "")}, status=400)
        return HttpResponse(f"Bad request: {field}: {message}", status=400, content_type="text/plain; charset=utf-8")


class DocumentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware, for the answers a browser renders as a document: HTML
    pages, and SVG (an SVG opened on its own can run script). A JSON answer has no use for
    a policy, and building it costs ~30 µs, 1.7 % of the `/health/` floor."""

    DOCUMENTS = ("text/html", "image/svg+xml")

    def process_response(self, request, response):
        if not response.get("Content-Type", "").startswith(self.DOCUMENTS):
            return response
        return super().process_response(request, response)


class SessionIdleMiddleware:
    """Sessions end after SESSION_COOKIE_AGE seconds without a request (DESIGN.md rule 13).

    Django's SESSION_SAVE_EVERY_REQUEST would get that by writing the session on every
    request — a database write on every scan. Instead a logged-in session is written (and
    its expiry pushed back) when its last write is more than SESSION_REFRESH_SECONDS old, so
    a session ends between AGE − REFRESH and AGE seconds after its last request. A login
    notes the time as it writes the new session (`note_refresh`, on user_logged_in). Goes
    after SessionMiddleware, which saves what this marks."""

    KEY = "_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path_info in PROBE_PATHS:
            return response  # a probe is no activity of the user's, and reads no session
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        # Only a logged-in session that exists already: an anonymous request, or one with a
        # stale cookie, must not create one; a session being written anyway needs nothing.
        if (session is not None and session.session_key is not None and not session.modified
                and user is not None and user.is_authenticated):
            if time.time() - session.get(self.KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
                note_refresh(session)
        return response


def note_refresh(session) -> None:
    session[SessionIdleMiddleware.KEY] = int(time.time())
