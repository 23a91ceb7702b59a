"""Basic admin for bills. Changes go through the bill services (the full back office, with
complete/reopen actions, is a later issue)."""

from django.contrib import admin, messages

from billing import services
from billing.models import Bill, BillBag
from tracetrack.errors import ServiceError


class BillBagInline(admin.TabularInline):
    model = BillBag
    fields = ["parent", "added_by", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = ["bill_id", "status", "parent_count", "capacity", "destination", "vehicle_number", "created_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    search_fields = ["^bill_id"]
    date_hierarchy = "created_at"
    inlines = [BillBagInline]
    readonly_fields = ["status", "parent_count", "created_by", "created_at", "completed_at", "completed_by"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (["bill_id"] if obj else [])

    def save_model(self, request, obj, form, change):
        try:
            if change:
                services.bill_update(
                    user=request.user,
                    bill_id=obj.bill_id,
                    **{f: form.cleaned_data[f] for f in form.changed_data if f in ("capacity", "destination", "vehicle_number", "description")},
                )
            else:
                created = services.bill_create(
                    user=request.user,
                    bill_id=obj.bill_id,
                    capacity=obj.capacity,
                    destination=obj.destination,
                    vehicle_number=obj.vehicle_number,
                    description=obj.description,
                )
                obj.pk = created.pk
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)

    def delete_model(self, request, obj):
        try:
            services.bill_delete(user=request.user, bill_id=obj.bill_id)
        except ServiceError as exc:
            self.message_user(request, exc.detail, messages.ERROR)

    def delete_queryset(self, request, queryset):
        for bill in queryset:
            self.delete_model(request, bill)
