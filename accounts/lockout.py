"""What a locked-out login gets back (django-axes' AXES_LOCKOUT_CALLABLE)."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy

from tracetrack import request_context

LOCKED_OUT_DETAIL = gettext_lazy("Too many failed logins; this account is locked for a while on this address.")


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    """429 with Retry-After: the API's error body under /api/, plain text elsewhere."""
    retry_after = str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    if request.path.startswith("/api/"):
        response = JsonResponse({"code": "locked_out", "detail": LOCKED_OUT_DETAIL,
                                 "request_id": request_context.current().request_id}, status=429)
    else:
        response = HttpResponse(LOCKED_OUT_DETAIL, status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = retry_after
    return response
