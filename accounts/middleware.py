"""The signed-in user's own language."""

from django.utils import translation

from tracetrack.middleware import PROBE_PATHS


class UserLanguageMiddleware:
    """After LocaleMiddleware and authentication: a signed-in user who chose a language
    (`User.language`, the switch in the page header) gets it on every device, whatever the
    cookie or the browser says. API calls with a token follow `Accept-Language` (API.md)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in PROBE_PATHS:
            user = request.user
            chosen = user.language if user.is_authenticated else ""
            if chosen and chosen != request.LANGUAGE_CODE:
                translation.activate(chosen)
                request.LANGUAGE_CODE = chosen
        return self.get_response(request)
