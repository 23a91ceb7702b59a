"""Role checks of the server-rendered pages."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts.policy import allowed
from tracetrack.errors import NotFound


def page_requires(action: str):
    """Login required (redirect to /login/), then the role must allow `action` (403). A
    service's NotFound (no such bill, bag) is the page's 404."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, action):
                raise PermissionDenied
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.detail) from None

        return wrapped

    return decorator
