"""Basic admin for bags and links (the full back office is a later issue). Deleting goes
through `bag_delete`, so counts, bill places and the audit log stay right."""

from django.contrib import admin

from bags.models import Bag, Link
from bags.services import bag_delete
from tracetrack.admin_services import ReadOnlyAdmin, ServiceAdminMixin


@admin.register(Bag)
class BagAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["qr_id", "kind", "status", "child_count", "dispatch_area", "created_at"]
    list_filter = ["kind", "status", "dispatch_area"]
    list_select_related = ["dispatch_area"]
    # "^" is an index-friendly prefix search; "=" an exact match.
    search_fields = ["^qr_id"]
    readonly_fields = ["qr_id", "kind", "status", "child_count", "created_by", "created_at", "updated_at"]
    fields = ["qr_id", "kind", "status", "child_count", "dispatch_area", "created_by", "created_at", "updated_at"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # bags come from scans, the API and imports

    def has_change_permission(self, request, obj=None):
        return False  # a bag's state follows from scans; nothing to edit by hand

    def perform_delete(self, request, obj):
        bag_delete(user=request.user, qr_id=obj.qr_id)


@admin.register(Link)
class LinkAdmin(ReadOnlyAdmin):
    list_display = ["parent", "child", "created_at"]
    list_select_related = ["parent", "child"]
    search_fields = ["^parent__qr_id", "^child__qr_id"]
    show_full_result_count = False
