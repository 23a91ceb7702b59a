"""Admin for bags and links. Bags come from scans, the API and imports, so they are read
here; deleting goes through `bag_delete`, so counts, bill places and the audit log stay
right. Searches and totals use indexes and estimates, never a full scan."""
from django.contrib import admin
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from bags.codes import normalize_code
from bags.models import Bag, Link
from bags.services import bag_delete
from tracetrack.admin_services import EstimatedCountPaginator, ReadOnlyAdmin, ServiceAdminMixin


class ChildLinkInline(admin.TabularInline):
    """A parent's children (at most PARENT_CAPACITY rows)."""

    model = Link
    fk_name = "parent"
    fields = ["child", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "child"
    verbose_name_plural = "children"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("child", "parent")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Bag)
class BagAdmin(ServiceAdminMixin, admin.ModelAdmin):
    list_display = ["qr_id", "kind", "status", "child_count", "parent", "dispatch_area", "created_at"]
    list_filter = ["kind", "status", "dispatch_area"]
    list_select_related = ["dispatch_area", "parent_link__parent"]
    search_fields = ["qr_id"]
    search_help_text = _("A bag code or any part of it (0042 finds SB00420).")
    # A term of three characters or more is looked for anywhere in the code (LIKE '%TERM%',
    # answered on PostgreSQL from the trigram index bag_qr_id_trgm, migration 0005); a
    # shorter one has no trigram to look up, so it matches the code's beginning, from the
    # qr_id pattern-ops index.
    search_contains_min_length = 3
    paginator = EstimatedCountPaginator
    inlines = [ChildLinkInline]
    readonly_fields = ["qr_id", "kind", "status", "child_count", "created_by", "created_at", "updated_at"]
    fields = ["qr_id", "kind", "status", "child_count", "dispatch_area", "created_by", "created_at", "updated_at"]
    show_full_result_count = False
    @admin.display(description="parent", ordering=None)
    def parent(self, bag):
        """A child's parent (joined in: one LEFT JOIN on the link's unique child index)."""
        link = getattr(bag, "parent_link", None) if bag.kind == "child" else None
        return link.parent.qr_id if link else "—"

    def get_search_results(self, request, queryset, search_term):
        # Codes are stored trimmed and upper-case (a check constraint): the term is made so,
        # and compared with the column itself, which is what the indexes hold.
        term = normalize_code(search_term)
        if not term:
            return queryset, False
        lookup = "qr_id__contains" if len(term) >= self.search_contains_min_length else "qr_id__startswith"
        return queryset.filter(**{lookup: term}), False

    def has_add_permission(self, request):
        return False  # bags come from scans, the API and imports

    def has_change_permission(self, request, obj=None):
        return False  # a bag's state follows from scans; nothing to edit by hand

    def perform_delete(self, request, obj):
        bag_delete(user=request.user, qr_id=obj.qr_id)


def bag_pk(term: str) -> int | None:
    """The id of the bag with this code, for searches that then use the id indexes."""
    return Bag.objects.filter(qr_id=normalize_code(term)).values_list("pk", flat=True).first()


@admin.register(Link)
class LinkAdmin(ReadOnlyAdmin):
    list_display = ["parent", "child", "created_at"]
    list_select_related = ["parent", "child"]
    search_fields = ["parent__qr_id"]
    search_help_text = "A parent or child bag code."
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        pk = bag_pk(search_term)
        return queryset.filter(Q(parent_id=pk) | Q(child_id=pk)) if pk else queryset.none(), False
