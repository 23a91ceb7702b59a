"""Request context for code that has no request in hand (services writing audit rows)."""

import uuid

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
