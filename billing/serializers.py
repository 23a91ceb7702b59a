"""API representations of bills and the bodies of bill requests."""

from rest_framework import serializers

from bags.models import BagKind
from bags.serializers import BagCodeField
from billing.models import Bill
from billing.selectors import actual_weight_kg, bill_parent_codes, expected_weight_kg
from tracetrack.api.idempotency import ScanIdField


class BillSerializer(serializers.ModelSerializer):
    """Use with `billing.selectors.bills_with_totals`, which annotates `child_total`."""

    child_count = serializers.IntegerField(source="child_total", read_only=True)
    expected_weight_kg = serializers.SerializerMethodField()
    actual_weight_kg = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Bill
        fields = [
            "bill_id", "status", "capacity", "parent_count", "child_count", "expected_weight_kg", "actual_weight_kg",
            "destination", "vehicle_number", "description", "created_by", "created_at", "completed_at",
        ]

    def get_expected_weight_kg(self, bill) -> float:
        return expected_weight_kg(bill.capacity)

    def get_actual_weight_kg(self, bill) -> float:
        return actual_weight_kg(bill.child_total)


class BillDetailSerializer(BillSerializer):
    parents = serializers.SerializerMethodField()

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "parents"]

    def get_parents(self, bill) -> list[str]:
        return bill_parent_codes(bill)


class BillCreateSerializer(serializers.Serializer):
    # Formats and ranges are checked by the service, which names the field in a 400.
    bill_id = serializers.CharField(max_length=200, trim_whitespace=False)
    capacity = serializers.JSONField()
    destination = serializers.CharField(allow_blank=True, max_length=1000)
    vehicle_number = serializers.CharField(allow_blank=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class BillUpdateSerializer(serializers.Serializer):
    capacity = serializers.JSONField(required=False)
    destination = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    vehicle_number = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class BillParentInput(serializers.Serializer):
    qr_id = BagCodeField(BagKind.PARENT)
    scan_id = ScanIdField()


class SummarySerializer(serializers.Serializer):
    date = serializers.DateField()
    bills_created = serializers.IntegerField()
    bills_completed = serializers.IntegerField()
    parents = serializers.IntegerField()
    children = serializers.IntegerField()
    actual_weight_kg = serializers.FloatField()
    expected_weight_kg = serializers.FloatField()
    by_user = serializers.ListField(child=serializers.DictField())
