"""One error body for every error under /api/v1/: {"code", "detail"} (+ "errors" for 400s
and the extra keys of a refusal). DRF's own exceptions, the services' ServiceError and
Django's 404/500 all come out in this shape."""

import logging
import sys

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tracetrack.errors import ServiceError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"

_CODES = {
    exceptions.ParseError: ("invalid", status.HTTP_400_BAD_REQUEST),
    exceptions.ValidationError: ("invalid", status.HTTP_400_BAD_REQUEST),
    exceptions.NotAuthenticated: ("not_authenticated", status.HTTP_401_UNAUTHORIZED),
    exceptions.AuthenticationFailed: ("invalid_token", status.HTTP_401_UNAUTHORIZED),
    exceptions.PermissionDenied: ("permission_denied", status.HTTP_403_FORBIDDEN),
    exceptions.NotFound: ("not_found", status.HTTP_404_NOT_FOUND),
    exceptions.MethodNotAllowed: ("method_not_allowed", status.HTTP_405_METHOD_NOT_ALLOWED),
    exceptions.NotAcceptable: ("not_acceptable", status.HTTP_406_NOT_ACCEPTABLE),
    exceptions.UnsupportedMediaType: ("unsupported_media_type", status.HTTP_415_UNSUPPORTED_MEDIA_TYPE),
    exceptions.Throttled: ("rate_limited", status.HTTP_429_TOO_MANY_REQUESTS),
}


def _flatten(detail) -> list[str]:
    if isinstance(detail, dict):
        return [message for value in detail.values() for message in _flatten(value)]
    if isinstance(detail, list):
        return [message for value in detail for message in _flatten(value)]
    return [str(detail)]


def _field_errors(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {str(field): _flatten(value) for field, value in detail.items()}
    return {"non_field_errors": _flatten(detail)}


def error_body(exc: exceptions.APIException) -> tuple[dict, int]:
    code, http_status = next(
        (known for exc_class, known in _CODES.items() if isinstance(exc, exc_class)), ("error", exc.status_code)
    )
    # An explicit code on an AuthenticationFailed (invalid_credentials) or a 429 (locked_out) wins.
    explicit = getattr(exc, "tracetrack_code", None)
    code = explicit or code
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        first = next(iter(errors.values()))[0] if errors else "Invalid input."
        return {"code": code, "detail": first, "errors": errors}, http_status
    if isinstance(exc, exceptions.ParseError):
        return {"code": code, "detail": str(exc.detail), "errors": {"non_field_errors": [str(exc.detail)]}}, http_status
    return {"code": code, "detail": " ".join(_flatten(exc.detail))}, http_status


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    if isinstance(exc, ServiceError):
        set_rollback()
        return Response(exc.as_dict(), status=exc.status)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a bug: let it become a 500 (logged, and JSON through handler500)
    body, http_status = error_body(exc)
    headers = {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    if getattr(exc, "wait", None) is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    set_rollback()
    return Response(body, status=http_status, headers=headers)


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


BUSY_RETRY_AFTER = 2  # seconds


def _database_busy() -> bool:
    """Is the error being handled "no database connection free in time" (the pool's
    timeout under overload)? Not a bug but a full server: the client should retry."""
    from django.db import OperationalError
    from psycopg_pool import PoolTimeout

    exc = sys.exc_info()[1]
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


def server_error(request):
    """handler500: JSON under /api/, Django's page elsewhere. An overloaded server (no
    database connection free within DB_POOL_TIMEOUT) answers 429 `rate_limited` with
    Retry-After under /api/ (the clients' offline queues retry those) and 503 elsewhere."""
    if _database_busy():
        detail = "The server is busy; try again in a moment."
        if _is_api(request):
            response = JsonResponse({"code": "rate_limited", "detail": detail}, status=429)
        else:
            response = HttpResponse(detail, status=503, content_type="text/plain; charset=utf-8")
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
    if _is_api(request):
        return JsonResponse({"code": "server_error", "detail": "Internal error; it has been logged."}, status=500)
    from django.views.defaults import server_error as django_server_error

    return django_server_error(request)
