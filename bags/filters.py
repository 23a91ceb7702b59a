"""The one FilterSet for bags, shared by the API and the pages."""

import django_filters

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
        return queryset.filter(dispatch_area__code=value.strip().lower())

    def filter_search(self, queryset, name, value):
        code = normalize_code(value)
        return queryset.filter(qr_id__startswith=code) if code else queryset

    def filter_linked(self, queryset, name, value):
        return queryset.filter(kind=BagKind.CHILD, parent_link__isnull=not value)

    def filter_billed(self, queryset, name, value):
        return queryset.filter(kind=BagKind.PARENT, bill_link__isnull=not value)
