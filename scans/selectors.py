"""Reads about scans, scoped to the caller."""

from django.db.models import F, QuerySet

from accounts.models import User
from scans.models import Scan

# What lists of scans show. The user's name and the area's code come as annotations
# (`user_name`, `area_code`) rather than whole joined rows: a page of 50 scans then builds
# 50 objects, not 150 (this list is what dashboards and integrators poll).
LIST_FIELDS = ("id", "scan_id", "kind", "qr_id", "parent_qr", "timestamp", "undone_at")


def scans_visible_to(user: User) -> QuerySet[Scan]:
    """Scans `user` may read, newest first, as lists show them; dispatchers see their own
    area's."""
    queryset = Scan.objects.only(*LIST_FIELDS).annotate(
        user_name=F("user__username"), area_code=F("dispatch_area__code")
    )
    if user.is_dispatcher:
        queryset = queryset.filter(dispatch_area_id=user.dispatch_area_id)
    return queryset
