"""Read-only admin for the scan log."""

import uuid

from django.contrib import admin
from django.db.models import Q

from bags.admin import bag_pk
from scans.models import Scan
from tracetrack.admin_dates import DataDateHierarchyMixin
from tracetrack.admin_services import EstimatedCountPaginator, ReadOnlyAdmin


@admin.register(Scan)
class ScanAdmin(DataDateHierarchyMixin, ReadOnlyAdmin):
    list_display = ["timestamp", "kind", "qr_id", "parent_qr", "user", "dispatch_area", "undone", "undone_at"]
    list_filter = ["kind", "dispatch_area"]
    list_select_related = ["user", "dispatch_area"]
    search_fields = ["qr_id"]
    search_help_text = "A bag code (its scans, and the scans into it) or a scan_id."
    date_hierarchy = "timestamp"  # only the years, months and days with scans, from the scan_time index
    paginator = EstimatedCountPaginator

    @admin.display(description="undone", boolean=True)
    def undone(self, scan) -> bool:
        return scan.undone_at is not None

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            return queryset.filter(scan_id=uuid.UUID(term)), False
        except ValueError:
            pass
        pk = bag_pk(term)
        return queryset.filter(Q(bag_id=pk) | Q(parent_id=pk)) if pk else queryset.none(), False
