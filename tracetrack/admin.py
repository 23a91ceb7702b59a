"""Admin of the kernel's own model: the record of idempotent requests, read-only."""

import uuid

from django.contrib import admin

from tracetrack.admin_services import EstimatedCountPaginator, ReadOnlyAdmin
from tracetrack.models import IdempotencyRecord


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["scan_id", "action", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["scan_id"]
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        try:
            return queryset.filter(scan_id=uuid.UUID(search_term.strip())), False
        except ValueError:
            return queryset.none(), False
