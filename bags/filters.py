"""The one FilterSet for bags, shared by the API and the pages."""

import django_filters
from django.db.models import OuterRef, Subquery

from accounts.models import DispatchArea
from accounts.selectors import normalize_area_code
from bags.codes import normalize_code
from bags.models import Bag, BagKind, BagStatus
from tracetrack.filters import StrictBooleanFilter


class BagFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=BagKind.choices)
    status = django_filters.ChoiceFilter(choices=BagStatus.choices)
    dispatch_area = django_filters.CharFilter(method="filter_area")
    search = django_filters.CharFilter(method="filter_search", help_text="qr_id prefix")
    linked = StrictBooleanFilter(method="filter_linked", help_text="children with (true) or without a parent")
    billed = StrictBooleanFilter(method="filter_billed", help_text="parents on (true) or off a bill")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Bag
        fields = ["kind", "status", "dispatch_area", "search", "linked", "billed", "created_after", "created_before"]

    def filter_area(self, queryset, name, value):
        # The area's id from a one-row subquery (an InitPlan, run once), so the bag scan
        # itself filters on dispatch_area_id (and can use `bag_area_created`), instead of a
        # join to the area table that is checked only after each row is fetched.
        area = DispatchArea.objects.filter(code=normalize_area_code(value)).values("pk")[:1]
        return queryset.filter(dispatch_area_id=Subquery(area))

    def filter_search(self, queryset, name, value):
        code = normalize_code(value)
        return queryset.filter(qr_id__startswith=code) if code else queryset

    def filter_linked(self, queryset, name, value):
        # Children only. The scan and bag services keep a child `completed` exactly while
        # it has a parent and `pending` while it has none (the stats count unlinked
        # children the same way), so the status answers "linked?" from the
        # (kind, status, created_at) index — or, for the few unlinked ones, the partial
        # `bag_pending_children` index on PostgreSQL — in the list's newest-first order,
        # instead of an anti-join of a million bags against a million links.
        return queryset.filter(kind=BagKind.CHILD, status=BagStatus.COMPLETED if value else BagStatus.PENDING)

    def filter_billed(self, queryset, name, value):
        # Parents only, walked newest first through the small `bag_parent_created` index,
        # each checked with one probe of the unique BillBag.parent index, until the page
        # is full. A scalar subquery rather than (NOT) EXISTS on purpose: PostgreSQL turns
        # EXISTS into a semi/anti join, and with the list's eight select_related joins
        # (more than join_collapse_limit) that join is planned last, after joining every
        # parent it walks past; the subquery stays a filter on the index scan itself.
        # The place model through the relation billing declares on bags (bags import no
        # app above them).
        places = Bag._meta.get_field("bill_link").related_model
        place = Subquery(places.objects.filter(parent_id=OuterRef("pk")).values("pk"))
        return queryset.alias(bill_place=place).filter(kind=BagKind.PARENT, bill_place__isnull=not value)
