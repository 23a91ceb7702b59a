"""`Authorization: Bearer <token>` for programs (API tokens hashed at rest), and session authentication for the pages' API calls."""

from django.http.request import RawPostDataException
from django.utils.functional import LazyObject, empty
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.authentication import SessionScheme as SpectacularSessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.permissions import SAFE_METHODS

from accounts.services import token_authenticate, token_check_signature


class SignatureRequired(exceptions.AuthenticationFailed):
    tracetrack_code = "signature_required"
    default_detail = gettext_lazy("This token signs its requests: send X-TT-Timestamp and X-TT-Signature.")


class InvalidSignature(exceptions.AuthenticationFailed):
    tracetrack_code = "invalid_signature"
    default_detail = gettext_lazy("Bad request signature: wrong, malformed, older or newer than 300 s, "
                                  "or already used.")


class ReadOnlyToken(exceptions.PermissionDenied):
    default_detail = gettext_lazy("This token is read-only: it may only GET, HEAD or OPTIONS.")


def _body(request) -> bytes:
    try:
        return request._request.body
    except RawPostDataException:  # read as a stream already: it cannot be checked
        return b"\x00unreadable"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if header and header[0].lower() == b"token":
            raise exceptions.NotAuthenticated(
                _("Authentication credentials were not provided: use 'Authorization: Bearer <token>', not 'Token'."))
        if not header or header[0].lower() != self.keyword.encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Authorization header must be 'Bearer <token>'."))
        try:
            raw = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from None
        token = token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed(_("Unknown, expired or revoked token."))
        if token.signing_secret:
            meta = request.META
            refused = token_check_signature(
                token, timestamp=meta.get("HTTP_X_TT_TIMESTAMP"), signature=meta.get("HTTP_X_TT_SIGNATURE"),
                method=request.method, path=request.get_full_path(), body=_body(request),
            )
            if refused:
                raise SignatureRequired() if refused == "signature_required" else InvalidSignature()
        if token.read_only and request.method not in SAFE_METHODS:
            raise ReadOnlyToken()
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token from POST /api/v1/auth/token/."}


def _unwrapped(user):
    """The real user behind Django's and django-otp's lazy wrappers.

    The middleware leaves `request.user` as a SimpleLazyObject inside a SimpleLazyObject; every attribute read
    through it costs two proxy hops, and a scan reads the user about fifty times (role, areas, pk, is_active,
    throttle, permissions). django-otp's wrapper sets `otp_device` and `is_verified` on the real user, so
    nothing is lost by handing the view the object itself.
    """
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    return user


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (CSRF enforced as there), giving the view the unwrapped user."""

    def authenticate(self, request):
        found = super().authenticate(request)
        return None if found is None else (_unwrapped(found[0]), found[1])


class SessionScheme(SpectacularSessionScheme):
    # drf-spectacular matches authentication classes exactly, not by subclass: name ours so the schema keeps
    # its cookieAuth scheme.
    target_class = "accounts.authentication.SessionAuthentication"
