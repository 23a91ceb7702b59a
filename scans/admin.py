"""Read-only admin for the scan log."""

from django.contrib import admin

from scans.models import IdempotencyRecord, Scan
from tracetrack.admin_services import ReadOnlyAdmin


@admin.register(Scan)
class ScanAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "kind", "qr_id", "parent_qr", "user", "dispatch_area", "undone_at"]
    list_filter = ["kind", "dispatch_area"]
    list_select_related = ["user", "dispatch_area"]
    search_fields = ["=qr_id", "=parent_qr", "=scan_id"]
    date_hierarchy = "timestamp"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["scan_id", "action", "user", "created_at"]
    list_select_related = ["user"]
    search_fields = ["=scan_id"]
