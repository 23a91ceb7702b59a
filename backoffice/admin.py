"""The back office in the admin: background import jobs, and the import, export and label
tools of the bag, bill and scan changelists.

The apps' own model admins (bags/admin.py, billing/admin.py, scans/admin.py) know nothing
of the back office (layers import one way); here they are registered again with its tools
added: export-selected actions, QR labels, the changelist buttons
(templates/admin/tracetrack/change_list.html)."""

from django.contrib import admin

from backoffice import admin_views
from backoffice.models import Job
from bags.admin import BagAdmin
from bags.models import Bag
from billing.admin import BillAdmin
from billing.models import Bill
from scans.admin import ScanAdmin
from scans.models import Scan
from tracetrack.admin_services import ReadOnlyAdmin


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "file_name", "status", "phase", "rows_total", "user", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["user"]
    readonly_fields = ["kind", "phase", "status", "user", "file_name", "rows_total", "error", "created_at",
                       "started_at", "finished_at"]
    fields = readonly_fields

    def get_urls(self):
        return admin_views.backoffice_urls(self.admin_site) + super().get_urls()

    def has_module_permission(self, request):
        return admin_views.can_import(request.user)

    def has_view_permission(self, request, obj=None):
        return admin_views.can_import(request.user)


class _Tools:
    change_list_template = "admin/tracetrack/change_list.html"


def _reregister(model, base, *, tools: dict, actions: list):
    admin.site.unregister(model)
    admin.site.register(model, type(base.__name__, (_Tools, base), {
        "backoffice_tools": tools,
        "actions": [*(base.actions or []), *actions],
        "__module__": __name__,
    }))


_EXPORTS = [admin_views.export_selected_csv, admin_views.export_selected_xlsx]
_reregister(Bag, BagAdmin, tools={"import": "bags", "labels": True, "export": "bags"},
            actions=[*_EXPORTS, admin_views.print_labels])
_reregister(Bill, BillAdmin, tools={"import": "bills", "export": "bills"}, actions=_EXPORTS)
_reregister(Scan, ScanAdmin, tools={"export": "scans"}, actions=_EXPORTS)
