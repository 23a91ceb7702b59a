"""Admin for users, areas, tokens and the audit log. User changes go through the
services, so the own-role and last-admin rules hold here too."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm
from django.db import connection
from django.db.models import Q

from accounts import services
from accounts.models import ApiToken, AuditLog, DispatchArea, User
from tracetrack import request_context
from tracetrack.admin_dates import DataDateHierarchyMixin
from tracetrack.admin_services import EstimatedCountPaginator, ReadOnlyAdmin, ServiceAdminMixin


@admin.register(DispatchArea)
class DispatchAreaAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """Areas are added and renamed through accounts.services.area_save (audited); their
    code is what bags, scans and users name, so it stays, and an area is never deleted."""

    list_display = ["code", "name"]
    search_fields = ["code", "name"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def perform_save(self, request, obj, form, change):
        data = form.cleaned_data
        return services.area_save(actor=request.user, code=obj.code if change else data["code"], name=data["name"],
                                  area=obj if change else None)

    def has_delete_permission(self, request, obj=None):
        return False


class ServicePasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "change password" form, saved through `user_update` (audited)."""

    def save(self, commit=True):
        return services.user_update(
            actor=request_context.current().user, target=self.user, password=self.cleaned_data["password1"]
        )


class UserAddForm(AdminUserCreationForm):
    """Django's add-user form, whose passwords survive an error elsewhere on the form (a
    dispatcher without an area), so the admin does not type them again."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("password1", "password2"):
            if name in self.fields:
                self.fields[name].widget.render_value = True


@admin.register(User)
class UserAdmin(ServiceAdminMixin, DjangoUserAdmin):
    list_display = ["username", "email", "role", "dispatch_area", "is_active", "last_login"]
    list_filter = ["role", "dispatch_area", "is_active"]
    list_select_related = ["dispatch_area"]
    search_fields = ["^username", "email"]
    fieldsets = [
        (None, {"fields": ["username", "password"]}),
        ("Profile", {"fields": ["email", "first_name", "last_name", "eod_summary"]}),
        ("Role", {"fields": ["role", "dispatch_area", "is_active"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"fields": ["username", "role", "dispatch_area", "password1", "password2"]})]
    readonly_fields = ["last_login", "date_joined"]
    autocomplete_fields = ["dispatch_area"]
    change_password_form = ServicePasswordChangeForm
    add_form = UserAddForm

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
            first_name=data.get("first_name", ""),
            last_name=data.get("last_name", ""),
            eod_summary=data.get("eod_summary", True),
        )
        return user

    def perform_delete(self, request, obj):
        services.user_delete(actor=request.user, target=obj)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Tokens are made by their users (POST /auth/token/); the back office reads them and
    revokes them (accounts.services.token_revoke), nothing else."""

    list_display = ["prefix", "name", "user", "scopes", "signing", "created_at", "expires_at", "last_used_at",
                    "revoked_at"]
    list_select_related = ["user"]
    list_filter = ["read_only"]
    search_fields = ["prefix", "name", "user__username"]
    readonly_fields = ["user", "name", "prefix", "scopes", "signing", "created_at", "expires_at", "last_used_at",
                       "revoked_at"]
    exclude = ["key_hash", "signing_secret", "read_only"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scopes(self, obj):
        return "read" if obj.read_only else "read, write"

    @admin.display(description="signed requests", boolean=True)
    def signing(self, obj):
        return obj.require_signature

    @admin.action(description="Revoke selected tokens")
    def revoke(self, request, queryset):
        tokens = list(queryset.filter(revoked_at__isnull=True))
        for token in tokens:
            services.token_revoke(actor=request.user, token=token)
        self.message_user(request, f"{len(tokens)} token(s) revoked.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return False


class _AuditValuesFilter(admin.SimpleListFilter):
    """The values of `field` present in the log, read as a loose index scan of an index
    that starts with the field (one index probe per distinct value) instead of the
    `SELECT DISTINCT` over the whole log that Django's default filter runs on every
    changelist view."""

    field = ""

    def lookups(self, request, model_admin):
        table = connection.ops.quote_name(AuditLog._meta.db_table)
        column = connection.ops.quote_name(self.field)
        with connection.cursor() as cursor:
            cursor.execute(
                f"WITH RECURSIVE found(value) AS ("
                f" SELECT MIN({column}) FROM {table}"
                f" UNION ALL SELECT (SELECT MIN({column}) FROM {table} WHERE {column} > found.value)"
                f" FROM found WHERE found.value IS NOT NULL"
                f") SELECT value FROM found WHERE value IS NOT NULL"
            )
            return [(value, value) for (value,) in cursor.fetchall()]

    def queryset(self, request, queryset):
        return queryset.filter(**{self.field: self.value()}) if self.value() else queryset


class AuditActionFilter(_AuditValuesFilter):
    title = "action"
    parameter_name = "action__exact"
    field = "action"  # index audit_action_time


class AuditEntityTypeFilter(_AuditValuesFilter):
    title = "entity type"
    parameter_name = "entity_type__exact"
    field = "entity_type"  # index audit_entity_type_time


@admin.register(AuditLog)
class AuditLogAdmin(DataDateHierarchyMixin, ReadOnlyAdmin):
    list_display = ["timestamp", "actor_username", "action", "entity_type", "entity_id", "ip"]
    list_filter = [AuditActionFilter, AuditEntityTypeFilter]
    search_fields = ["entity_id"]
    search_help_text = "What changed: a bag code, bill id, username or scan id."
    date_hierarchy = "timestamp"  # only the periods with rows (DataDateHierarchyMixin)
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(Q(entity_id=term) | Q(entity_id=term.upper())), False
