"""The one FilterSet for scans."""

import django_filters

from bags.codes import normalize_code
from scans.models import Scan, ScanKind


class ScanFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ScanKind.choices)
    user = django_filters.CharFilter(field_name="user__username")
    bag = django_filters.CharFilter(method="filter_bag", help_text="the scanned bag's qr_id")
    parent = django_filters.CharFilter(method="filter_parent", help_text="the parent's qr_id (child scans)")
    dispatch_area = django_filters.CharFilter(method="filter_area")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = Scan
        fields = ["kind", "user", "bag", "parent", "dispatch_area", "since", "until"]

    def filter_bag(self, queryset, name, value):
        return queryset.filter(bag__qr_id=normalize_code(value))

    def filter_parent(self, queryset, name, value):
        return queryset.filter(parent__qr_id=normalize_code(value))

    def filter_area(self, queryset, name, value):
        return queryset.filter(dispatch_area__code=value.strip().lower())
