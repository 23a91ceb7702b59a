"""Basic admin for bills. Changes go through the bill services (the full back office, with
complete/reopen actions, is a later issue)."""

from django.contrib import admin

from billing import services
from billing.models import Bill, BillBag
from tracetrack.admin_services import ReadOnlyAdmin, ServiceAdminMixin


class BillBagInline(admin.TabularInline):
    model = BillBag
    fields = ["parent", "added_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bill)
class BillAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["bill_id", "status", "parent_count", "capacity", "destination", "vehicle_number", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["^bill_id"]
    date_hierarchy = "created_at"
    inlines = [BillBagInline]
    fields = ["bill_id", "capacity", "destination", "vehicle_number", "description", "status", "parent_count",
              "created_by", "created_at", "completed_at", "completed_by"]
    readonly_fields = ["status", "parent_count", "created_by", "created_at", "completed_at", "completed_by"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["bill_id"] if obj else [])

    def perform_save(self, request, obj, form, change):
        data = form.cleaned_data
        editable = ("capacity", "destination", "vehicle_number", "description")
        if change:
            changes = {field: data[field] for field in form.changed_data if field in editable}
            return services.bill_update(user=request.user, bill_id=obj.bill_id, **changes)
        return services.bill_create(user=request.user, bill_id=data["bill_id"], **{f: data.get(f, "") for f in editable})

    def perform_delete(self, request, obj):
        services.bill_delete(user=request.user, bill_id=obj.bill_id)


@admin.register(BillBag)
class BillBagAdmin(ReadOnlyAdmin):
    list_display = ["bill", "parent", "added_by", "created_at"]
    list_select_related = ["bill", "parent", "added_by"]
    search_fields = ["^bill__bill_id", "^parent__qr_id"]
    show_full_result_count = False
