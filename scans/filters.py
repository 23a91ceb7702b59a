"""The one FilterSet for scans."""

import django_filters

from accounts.selectors import normalize_area_code
from bags.codes import normalize_code
from scans.models import Scan, ScanKind


class ScanFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=ScanKind.choices)
    user = django_filters.CharFilter(field_name="user__username")
    bag = django_filters.CharFilter(method="filter_bag", help_text="the scanned bag's qr_id (deleted bags too)")
    parent = django_filters.CharFilter(method="filter_parent",
                                       help_text="the parent's qr_id (child scans; deleted parents too)")
    dispatch_area = django_filters.CharFilter(method="filter_area")
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = Scan
        fields = ["kind", "user", "bag", "parent", "dispatch_area", "since", "until"]

    # Both match the codes kept on the scan rows (indexes `scan_code_time`,
    # `scan_parent_code_time`), not the bags they point to: a deleted bag's scans are found.
    def filter_bag(self, queryset, name, value):
        return queryset.filter(qr_id=normalize_code(value))

    def filter_parent(self, queryset, name, value):
        return queryset.filter(parent_qr=normalize_code(value))

    def filter_area(self, queryset, name, value):
        return queryset.filter(dispatch_area__code=normalize_area_code(value))
