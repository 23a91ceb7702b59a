"""The one FilterSet for bills."""

import django_filters

from billing.models import Bill, BillStatus
from tracetrack.codes import normalize_code


class BillFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=BillStatus.choices)
    created_by = django_filters.CharFilter(field_name="created_by__username")
    search = django_filters.CharFilter(method="filter_search", help_text="bill_id prefix")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Bill
        fields = ["status", "created_by", "search", "created_after", "created_before"]

    def filter_search(self, queryset, name, value):
        code = normalize_code(value)
        return queryset.filter(bill_id__startswith=code) if code else queryset
