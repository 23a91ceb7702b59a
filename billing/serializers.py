"""API representations of bills and the bodies of bill requests."""

from django.utils.translation import gettext_lazy
from rest_framework import serializers

from bags.models import BagKind
from bags.serializers import BagCodeField
from billing.models import BILL_TEXT_LIMITS, Bill
from billing.selectors import actual_weight_kg, bill_parent_codes, expected_weight_kg
from tracetrack.api.formats import api_datetime
from tracetrack.api.idempotency import ScanIdField
from tracetrack.errors import InvalidInput


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

    def to_representation(self, bill) -> dict:
        # The declared fields, built directly (DRF's field-by-field walk was most of the
        # cost of a bill-parents answer).
        return {
            "bill_id": bill.bill_id,
            "status": bill.status,
            "capacity": bill.capacity,
            "parent_count": bill.parent_count,
            "child_count": bill.child_total,
            "expected_weight_kg": self.get_expected_weight_kg(bill),
            "actual_weight_kg": self.get_actual_weight_kg(bill),
            "destination": bill.destination,
            "vehicle_number": bill.vehicle_number,
            "description": bill.description,
            "created_by": bill.created_by.username if bill.created_by_id else None,
            "created_at": api_datetime(bill.created_at),
            "completed_at": api_datetime(bill.completed_at),
        }

    def get_expected_weight_kg(self, bill) -> float:
        return expected_weight_kg(bill.capacity)

    def get_actual_weight_kg(self, bill) -> float:
        return actual_weight_kg(bill.child_total)


class BillDetailSerializer(BillSerializer):
    parents = serializers.SerializerMethodField()

    class Meta(BillSerializer.Meta):
        fields = [*BillSerializer.Meta.fields, "parents"]

    def to_representation(self, bill) -> dict:
        return {**super().to_representation(bill), "parents": self.get_parents(bill)}

    def get_parents(self, bill) -> list[str]:
        return bill_parent_codes(bill)


class BillCapacityField(serializers.IntegerField):
    """A bill's capacity as a request, a form or an import file gives it: a whole number
    (JSON 12, or the text "12"); not true/false, 2.5 or "12.0". Its range is the service's
    rule (DESIGN.md rule 9)."""

    default_error_messages = {"invalid": gettext_lazy("Capacity must be a whole number.")}

    def to_internal_value(self, data) -> int:
        if isinstance(data, bool) or (isinstance(data, float) and not data.is_integer()):
            self.fail("invalid")
        if isinstance(data, str) and not data.strip().isdigit():
            self.fail("invalid")
        return super().to_internal_value(data.strip() if isinstance(data, str) else data)


def _text(name: str, **kwargs) -> serializers.CharField:
    """A bill text: as long as its column (billing.models.BILL_TEXT_LIMITS); whether it may
    be empty is the service's rule."""
    return serializers.CharField(allow_blank=True, max_length=BILL_TEXT_LIMITS[name], **kwargs)


class BillCreateSerializer(serializers.Serializer):
    """The body of POST /bills/, and the fields of a bill page's form or an import row."""

    # The bill id's format is checked by the service (billing.codes.parse_bill_id).
    bill_id = serializers.CharField(max_length=200, trim_whitespace=False)
    capacity = BillCapacityField()
    destination = _text("destination")
    vehicle_number = _text("vehicle_number")
    description = _text("description", required=False)


def bill_input(data: dict) -> dict:
    """A bill's fields from a page's form or an import row, parsed as the API parses them;
    a field that does not parse is a 400 on it (InvalidInput), as the service's own are."""
    serializer = BillCreateSerializer(data=data)
    if not serializer.is_valid():
        raise InvalidInput({field: [str(message) for message in messages]
                            for field, messages in serializer.errors.items()})
    return serializer.validated_data


class BillUpdateSerializer(serializers.Serializer):
    capacity = BillCapacityField(required=False)
    destination = _text("destination", required=False)
    vehicle_number = _text("vehicle_number", required=False)
    description = _text("description", required=False)


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
