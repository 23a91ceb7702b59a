"""Admin for users, areas, tokens and the audit log. User changes go through the
services, so the own-role and last-admin rules hold here too."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm
from django.db import connection
from django.db.models import Q

from accounts import services
from accounts.models import ApiToken, AuditLog, DispatchArea, User
from tracetrack import request_context
from tracetrack.admin_services import EstimatedCountPaginator, ReadOnlyAdmin, ServiceAdminMixin


@admin.register(DispatchArea)
class DispatchAreaAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through `user_update` (audited)."""

    def save(self, commit=True):
        return services.user_update(
            actor=request_context.current().user, target=self.user, password=self.cleaned_data["password1"]
        )


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    list_display = ["username", "email", "role", "dispatch_area", "is_active", "last_login"]
    list_filter = ["role", "dispatch_area", "is_active"]
    list_select_related = ["dispatch_area"]
    search_fields = ["^username", "email"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["email", "first_name", "last_name"]}),
        ("Role", {"fields": ["role", "dispatch_area", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["username", "role", "dispatch_area", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
    autocomplete_fields = ["dispatch_area"]
    change_password_form = ServicePasswordChangeForm

    def perform_save(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            return services.user_create(
                actor=request.user,
                username=data["username"],
                password=data["password1"],
                role=data["role"],
                dispatch_area=data.get("dispatch_area"),
                validate=False,  # the add form has validated it already
            )
        user = services.user_update(
            actor=request.user,
            target=obj,
            role=data["role"],
            dispatch_area=data.get("dispatch_area"),
            email=data.get("email", ""),
            is_active=data["is_active"],
        )
        type(obj).objects.filter(pk=obj.pk).update(first_name=data.get("first_name", ""), last_name=data.get("last_name", ""))
        return user

    def perform_delete(self, request, obj):
        services.user_delete(actor=request.user, target=obj)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_select_related = ["user"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    exclude = ["key_hash"]

    def has_add_permission(self, request):
        return False


class AuditActionFilter(admin.SimpleListFilter):
    """The actions present in the log, read as a loose index scan of `audit_action_time`
    (one index probe per distinct action) instead of the `SELECT DISTINCT action` over the
    whole log that Django's default filter runs on every changelist view."""

    title = "action"
    parameter_name = "action__exact"

    def lookups(self, request, model_admin):
        table = connection.ops.quote_name(AuditLog._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE found(action) AS ("
                f" SELECT MIN(action) FROM {table}"
                f" UNION ALL SELECT (SELECT MIN(action) FROM {table} WHERE action > found.action)"
                f" FROM found WHERE found.action IS NOT NULL"
                f") SELECT action FROM found WHERE action IS NOT NULL"
            )
            return [(action, action) for (action,) in cursor.fetchall()]

    def queryset(self, request, queryset):
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditLog)
class AuditLogAdmin(ReadOnlyAdmin):
    list_display = ["timestamp", "actor_username", "action", "entity_type", "entity_id", "ip"]
    list_filter = [AuditActionFilter, "entity_type"]
    search_fields = ["entity_id"]
    search_help_text = "What changed: a bag code, bill id, username or scan id."
    date_hierarchy = "timestamp"
    date_hierarchy_drilldown = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(entity_id=term) | Q(entity_id=term.upper())), False
