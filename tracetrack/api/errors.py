"""One error body for every error under /api/v1/: {"code", "detail", "request_id"} (+
"errors" for 400s and the extra keys of a refusal). DRF's own exceptions, the services'
ServiceError and Django's 404/500/503 all come out in this shape; `request_id` is the
request's id (also in its X-Request-ID header, its log lines and its audit rows)."""

import logging
import sys

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import DatabaseError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.defaults import bad_request as django_bad_request
from django.views.defaults import page_not_found
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from tracetrack import request_context
from tracetrack.db import is_connection_error
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


def with_request_id(body: dict) -> dict:
    body["request_id"] = request_context.current().request_id
    return body


def service_error_body(exc: ServiceError) -> dict:
    """The error body of a refusal from a service."""
    return with_request_id(exc.as_dict())


def error_body(exc: exceptions.APIException) -> tuple[dict, int]:
    code, http_status = next(
        (known for exc_class, known in _CODES.items() if isinstance(exc, exc_class)), ("error", exc.status_code)
    )
    # An explicit code on an AuthenticationFailed (invalid_credentials) or a 429 (locked_out) wins.
    explicit = getattr(exc, "tracetrack_code", None)
    code = explicit or code
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(exc.detail)
        first = next(iter(errors.values()))[0] if errors else _("Invalid input.")
        return with_request_id({"code": code, "detail": first, "errors": errors}), http_status
    if isinstance(exc, exceptions.ParseError):
        detail = str(exc.detail)
        return with_request_id({"code": code, "detail": detail, "errors": {"non_field_errors": [detail]}}), http_status
    return with_request_id({"code": code, "detail": " ".join(_flatten(exc.detail))}), http_status


def exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER."""
    if isinstance(exc, ServiceError):
        set_rollback()
        return Response(service_error_body(exc), status=exc.status)
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


def bad_request(request, exception=None):
    """handler400 (a request Django itself refuses: a body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    too many fields, a host not allowed): JSON under /api/, Django's page elsewhere."""
    if not _is_api(request):
        return django_bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        detail = _("The request body is over the limit of %(limit)s bytes.") % {"limit": f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,}"}
    elif isinstance(exception, TooManyFieldsSent):
        detail = _("The request has more than %(limit)s fields.") % {"limit": f"{settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,}"}
    else:
        detail = _("Bad request.")
    return JsonResponse(with_request_id({"code": "invalid", "detail": detail, "errors": {"non_field_errors": [detail]}}),
                        status=400)


def json_not_found_under_debug(request, response):
    """Under DEBUG Django answers an unknown URL with its debug page (handler404 is not
    used): under /api/ it stays the API's JSON 404."""
    if response.status_code == 404 and _is_api(request) and not response.get("Content-Type", "").startswith(
            "application/json"):
        return not_found(request)
    return response


def not_found(request, exception=None):
    """handler404: JSON under /api/, Django's page elsewhere."""
    if _is_api(request):
        return JsonResponse(with_request_id({"code": "not_found", "detail": _("Not found.")}), status=404)
    return page_not_found(request, exception)


BUSY_RETRY_AFTER = 2  # seconds


def _database_busy(exc) -> bool:
    """Is the error "no database connection free in time" (the pool's timeout under
    overload)? Not a bug but a full server: the client should retry."""
    return isinstance(exc, OperationalError) and isinstance(exc.__cause__, PoolTimeout)


def _database_unavailable(exc) -> bool:
    """Is the error PostgreSQL being down or unreachable (the breaker is open, or the
    server dropped the connection mid-request)?"""
    return isinstance(exc, DatabaseError) and is_connection_error(exc.__cause__)


def server_error(request):
    """handler500: JSON under /api/, our page elsewhere, each with the request id.

    Two errors that are not bugs get their own answers: PostgreSQL unreachable → 503
    `unavailable` with Retry-After (the phones' queues keep the scans and retry); no
    database connection free within DB_POOL_TIMEOUT (overload) → 429 `rate_limited` with
    Retry-After under /api/, 503 elsewhere."""
    exc = sys.exc_info()[1]
    request_id = request_context.current().request_id or getattr(request, "request_id", "")
    if _database_busy(exc):
        status, code, retry_after = (429 if _is_api(request) else 503), "rate_limited", BUSY_RETRY_AFTER
        detail = _("The server is busy; try again in a moment.")
    elif _database_unavailable(exc):
        status, code, retry_after = 503, "unavailable", settings.DB_UNAVAILABLE_RETRY_AFTER
        detail = _("The database cannot be reached right now; try again in a moment.")
    else:
        status, code, retry_after = 500, "server_error", None
        detail = _("Internal error; it has been logged.")
    if _is_api(request):
        response = JsonResponse({"code": code, "detail": detail, "request_id": request_id}, status=status)
    else:
        # Rendered without the request: its context processors would look the user up,
        # in the very database that may be down.
        page = render_to_string("503.html" if status != 500 else "500.html", {"detail": detail, "request_id": request_id})
        response = HttpResponse(page, status=status)
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response
