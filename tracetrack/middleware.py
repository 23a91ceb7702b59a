"""Request context for code that has no request in hand (services writing audit rows)."""

import time
import uuid

from django.conf import settings

from tracetrack import request_context


class RequestContextMiddleware:
    """Give every request an id (kept from `X-Request-ID` when a proxy set a sane one) and
    remember it and the client IP for the audit log; echo the id in the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
        request.request_id = request_id
        token = request_context.bind(
            ip=request.META.get("REMOTE_ADDR") or None, request_id=request_id, request=request
        )
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(token)
        response["X-Request-ID"] = request_id
        return response


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
