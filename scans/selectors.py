"""Reads about scans, scoped to the caller."""

from django.db.models import QuerySet

from accounts.models import User
from scans.models import Scan


def scans_visible_to(user: User) -> QuerySet[Scan]:
    """Scans `user` may read; dispatchers see their own area's."""
    queryset = Scan.objects.select_related("user", "dispatch_area")
    if user.is_dispatcher:
        queryset = queryset.filter(dispatch_area_id=user.dispatch_area_id)
    return queryset
