"""Admin changes that go through the services.

The admin validates a form by running the service in a transaction that is then rolled
back, so a refusal (`last_admin`, `bill_completed`, …) shows on the form as an error; the
save then runs the service for real. The rule itself lives only in the service.
"""

import json

from django.contrib import admin, messages
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Q
from django.utils.functional import cached_property

from tracetrack.codes import normalize_code
from tracetrack.db.replicas import stale_reads
from tracetrack.errors import InvalidInput, ServiceError


class _Rollback(Exception):
    pass


def dry_run(call) -> ServiceError | None:
    """Run `call` and undo everything it wrote; return the refusal it raised, if any."""
    try:
        with transaction.atomic():
            call()
            raise _Rollback
    except _Rollback:
        return None
    except ServiceError as exc:
        return exc


class StaleChangelistMixin:
    """A changelist's reads may be a second stale: from a replica when one fits
    (tracetrack.db.replicas)."""

    def changelist_view(self, request, extra_context=None):
        if request.method != "GET":
            return super().changelist_view(request, extra_context)
        with stale_reads():
            return super().changelist_view(request, extra_context)


class ServiceAdminMixin(StaleChangelistMixin):
    """Subclasses implement `perform_save(request, obj, form, change) -> obj` (and may
    implement `perform_delete(request, obj)`) by calling one service."""

    def perform_save(self, request, obj, form, change):
        raise NotImplementedError

    def perform_delete(self, request, obj):
        raise NotImplementedError

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceForm(form_class):
            def _post_clean(self):
                # The model's check constraints are the service's to judge (its dry run
                # below, then the database): Django's own check of them would say only
                # `Constraint "…" is violated`, on no field.
                self.instance.validate_constraints = lambda exclude=None: None
                super()._post_clean()
                if self.errors:
                    return
                error = dry_run(lambda: model_admin.perform_save(request, self.instance, self, change))
                if isinstance(error, InvalidInput):
                    for field, field_messages in error.errors.items():
                        for message in field_messages:
                            self.add_error(field if field in self.fields else None, message)
                elif error is not None:
                    self.add_error(None, error.detail)

        return ServiceForm

    def save_model(self, request, obj, form, change):
        saved = self.perform_save(request, obj, form, change)
        obj.pk = saved.pk

    def get_deleted_objects(self, objs, request):
        # The delete service decides what else changes (links, counts, bill places) and
        # keeps the scan log; the confirmation lists only the objects themselves.
        objs = list(objs)
        return [str(obj) for obj in objs], {self.model._meta.verbose_name_plural: len(objs)}, set(), []

    def delete_model(self, request, obj):
        try:
            self.perform_delete(request, obj)
        except ServiceError as exc:
            self.message_user(request, f"{obj} was not deleted: {exc.detail}", messages.ERROR)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(StaleChangelistMixin, admin.ModelAdmin):
    """Logs and link rows: written by the services only, never by hand."""

    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EstimatedCountPaginator(Paginator):
    """Changelist totals without an exact COUNT(*) over millions of rows: on PostgreSQL,
    the planner's estimate (the table's statistics when unfiltered, EXPLAIN's row estimate
    when filtered), and an exact count only when the estimate is small. Other databases
    count exactly (they hold development-sized data)."""

    exact_below = 10_000

    @cached_property
    def count(self):
        queryset = self.object_list
        if connection.vendor != "postgresql":
            return super().count
        estimate = self._estimate(queryset)
        if estimate < self.exact_below:
            return super().count
        return estimate

    @staticmethod
    def _estimate(queryset) -> int:
        if queryset.query.is_empty():
            return 0
        try:
            sql, params = queryset.order_by().query.sql_with_params()
        except EmptyResultSet:
            return 0
        with connection.cursor() as cursor:
            if not queryset.query.where:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
                if row and row[0] >= 0:
                    return int(row[0])
            cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            if isinstance(plan, str):
                plan = json.loads(plan)
            return int(plan[0]["Plan"]["Plan Rows"])


class CodeSearchMixin:
    """Search by code through an index: the term is trimmed and upper-cased (codes are
    stored so) and matched with `search_lookups` — exact or prefix (`startswith`, which
    PostgreSQL answers from the varchar_pattern_ops index), never `icontains`.

    A lookup across a relation (`bill__bill_id`, `parent__qr_id__startswith`) is first
    resolved in the related table through its own code index, and the changelist is then
    filtered on the foreign key column (`bill_id IN (…) OR parent_id IN (…)`, answered from
    the foreign key indexes). Left as a join, an OR over two joined tables cannot use any
    index and PostgreSQL scans them all."""

    search_lookups: tuple[str, ...] = ()
    # Above this many related matches (a very short prefix) the ids stay in a subquery
    # rather than being sent back as a list of parameters.
    search_related_limit = 1000

    def get_search_results(self, request, queryset, search_term):
        term = normalize_code(search_term)
        if not term:
            return queryset, False
        conditions = [c for c in (self._search_condition(lookup, term) for lookup in self.search_lookups) if c]
        if not conditions:
            return queryset.none(), False
        condition = Q()
        for each in conditions:
            condition |= each
        return queryset.filter(condition), False

    def _search_condition(self, lookup: str, term: str) -> Q | None:
        """The condition for one lookup, or None when it matches nothing."""
        name, _, remote_lookup = lookup.partition("__")
        field = self.model._meta.get_field(name)
        if not (remote_lookup and field.concrete and (field.many_to_one or field.one_to_one)):
            return Q(**{lookup: term})
        target = field.target_field.attname
        matching = field.related_model._default_manager.filter(**{remote_lookup: term}).order_by()
        keys = list(matching.values_list(target, flat=True)[: self.search_related_limit + 1])
        if not keys:
            return None
        if len(keys) > self.search_related_limit:
            return Q(**{f"{field.attname}__in": matching.values(target)})
        return Q(**{f"{field.attname}__in": keys})
