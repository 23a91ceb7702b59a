"""Business errors: exceptions that carry the machine codes of API.md.

Services raise them; the API's exception handler and the pages turn them into the error
body `{"code", "detail", ...}` or a message. `status` is the HTTP status the API answers.
"""

from typing import Any

from django.utils.translation import gettext_lazy


class ServiceError(Exception):
    """A request the rules refuse. `extra` holds additional keys of the error body
    (for example `current_parent` with `already_linked`)."""

    status = 409
    default_code = "conflict"
    default_detail = gettext_lazy("The request conflicts with the current state.")

    def __init__(self, code: str | None = None, detail: str | None = None, **extra: Any):
        self.code = code or self.default_code
        self.detail = str(detail or self.default_detail)
        self.extra = extra
        super().__init__(f"{self.code}: {self.detail}")

    def as_dict(self) -> dict[str, Any]:
        """The error body of API.md."""
        return {"code": self.code, "detail": self.detail, **self.extra}


class Refused(ServiceError):
    """409: a business rule refuses the request."""


class ScanRefused(Refused):
    """409 from a parent scan, child scan or undo."""


class BagRefused(Refused):
    """409 from creating or deleting a bag."""


class BillRefused(Refused):
    """409 from a bill operation."""


class UserRefused(Refused):
    """409 from a user change (`own_role`, `last_admin`)."""


class NotFound(ServiceError):
    status = 404
    default_code = "not_found"
    default_detail = gettext_lazy("Not found.")


class InvalidInput(ServiceError):
    """400 with per-field messages in `errors`."""

    status = 400
    default_code = "invalid"
    default_detail = gettext_lazy("The request is not valid.")

    def __init__(self, errors: dict[str, list[str]], detail: str | None = None):
        first = next(iter(errors.values()))[0] if errors else None
        super().__init__("invalid", detail or first, errors=errors)

    @property
    def errors(self) -> dict[str, list[str]]:
        return self.extra["errors"]


class Forbidden(ServiceError):
    status = 403
    default_code = "permission_denied"
    default_detail = gettext_lazy("You do not have permission to do this.")


class IdempotencyMismatch(ServiceError):
    status = 422
    default_code = "idempotency_mismatch"
    default_detail = gettext_lazy("This scan_id was already used for a different request.")


def invalid(field: str, message: str) -> InvalidInput:
    """A 400 about one field."""
    return InvalidInput({field: [message]})
