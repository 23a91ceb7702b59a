"""Helpers for the server-rendered pages: role checks and keyset pagination."""

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet

from accounts.policy import allowed

PAGE_SIZE = 50


def page_requires(action: str):
    """Login required (redirect to /login/), then the role must allow `action` (403)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not allowed(request.user, action):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def keyset_page(queryset: QuerySet, cursor: str | None, *, field: str = "created_at", size: int = PAGE_SIZE):
    """Newest first by (`field`, pk), after `cursor` (an opaque token from the previous
    page). Every page costs the same at any depth: no OFFSET. Returns (rows, next cursor)."""
    queryset = queryset.order_by(f"-{field}", "-pk")
    if cursor:
        try:
            stamp, pk = urlsafe_b64decode(cursor.encode()).decode().split("|")
            moment, last_pk = datetime.fromisoformat(stamp), int(pk)
        except (ValueError, UnicodeDecodeError):
            moment = None
        if moment is not None:
            queryset = queryset.filter(Q(**{f"{field}__lt": moment}) | Q(**{field: moment, "pk__lt": last_pk}))
    rows = list(queryset[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = urlsafe_b64encode(f"{getattr(last, field).isoformat()}|{last.pk}".encode()).decode()
    return rows, next_cursor
