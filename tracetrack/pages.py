"""Keyset pagination for the server-rendered pages."""

from base64 import urlsafe_b64decode, urlsafe_b64encode
from datetime import datetime

from django.db.models import Q, QuerySet

PAGE_SIZE = 50


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
