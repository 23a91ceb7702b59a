"""OpenAPI pieces shared by the API views (drf-spectacular)."""

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    """The body of every error (API.md, Errors); refusals may add keys such as
    `current_parent` or `current_bill`."""

    code = serializers.CharField()
    detail = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False)
    current_parent = serializers.CharField(required=False)
    current_bill = serializers.CharField(required=False)


_DESCRIPTIONS = {
    400: "invalid: malformed JSON, missing or invalid fields, wrong QR format",
    401: "not_authenticated, invalid_credentials, invalid_token",
    403: "permission_denied",
    404: "not_found",
    409: "a business rule refuses the request (see the operation's description)",
    422: "idempotency_mismatch: a scan_id reused with a different body",
    429: "rate_limited or locked_out, with Retry-After",
}


def error_responses(*statuses: int) -> dict[int, OpenApiResponse]:
    return {status: OpenApiResponse(ErrorSerializer, description=_DESCRIPTIONS[status]) for status in statuses}
