"""OpenAPI pieces shared by the API views (drf-spectacular)."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error (API.md, Errors); refusals may add keys such as
    `current_parent` or `current_bill`."""

    code = serializers.CharField()
    detail = serializers.CharField()
    request_id = serializers.CharField(help_text="the request's id: its X-Request-ID, log lines and audit rows")
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    current_parent = serializers.CharField(required=False, allow_null=True,
                                           help_text="null when that parent is in another area")
    current_bill = serializers.CharField(required=False)


_DESCRIPTIONS = {
    400: "invalid: malformed JSON, missing or invalid fields, wrong QR format; a path, query parameter or "
         "form field with control characters (NUL) or over its length",
    401: "not_authenticated, invalid_credentials, invalid_token",
    403: "permission_denied",
    404: "not_found",
    409: "a business rule refuses the request (see the operation's description)",
    415: "unsupported_media_type: a body in a Content-Type the operation does not read",
    422: "idempotency_mismatch: a scan_id reused with a different body",
    429: "rate_limited or locked_out, with Retry-After",
    503: "unavailable: the database cannot be reached; with Retry-After",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[status]) for status in statuses}


class ApiAutoSchema(AutoSchema):
    """Documents the errors every operation can answer, so the schema is complete without
    repeating them on each view: 401/403/429 everywhere a login is needed, 400 everywhere (bad
    bodies, filters or cursors; any path or parameter out of the input bounds of
    tracetrack.middleware), 415 for bodies, 404 wherever a path names an object."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        statuses = set()
        public = any(getattr(p, "__class__", None).__name__ == "AllowAny" for p in self.view.get_permissions())
        if not public:
            statuses |= {401, 403}
        statuses |= {400, 429, 503}
        if self.method in ("POST", "PUT", "PATCH"):
            statuses.add(415)
        if "{" in self.path:
            statuses.add(404)
        for status in sorted(statuses):
            if str(status) not in responses:
                responses[str(status)] = self._get_response_for_code(
                    OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[status]), str(status)
                )
        return responses
