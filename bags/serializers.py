"""API representations of bags (API.md, Bags)."""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from rest_framework import serializers

from bags.codes import parse_code
from bags.models import Bag, BagKind, Link
from bags.selectors import child_codes
from tracetrack.api.formats import api_datetime
from tracetrack.errors import InvalidInput


def _link_parent(bag: Bag) -> Bag | None:
    try:
        return bag.parent_link.parent
    except Link.DoesNotExist:
        return None


def _bill_id(parent: Bag | None) -> str | None:
    if parent is None:
        return None
    try:
        return parent.bill_link.bill.bill_id
    except ObjectDoesNotExist:
        return None


class BagSerializer(serializers.ModelSerializer):
    """Use with `bags.selectors.bags_visible_to`, which joins what this reads."""

    dispatch_area = serializers.CharField(source="dispatch_area.code", default=None, read_only=True, allow_null=True)
    child_count = serializers.SerializerMethodField()
    capacity = serializers.SerializerMethodField()
    weight_kg = serializers.SerializerMethodField()
    parent = serializers.SerializerMethodField()
    bill = serializers.SerializerMethodField()
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True, allow_null=True)

    class Meta:
        model = Bag
        fields = [
            "qr_id", "kind", "status", "dispatch_area", "child_count", "capacity", "weight_kg",
            "parent", "bill", "created_by", "created_at", "updated_at",
        ]

    def to_representation(self, bag) -> dict:
        # The same fields as the declared ones, built directly: DRF's field-by-field walk
        # is a large part of a list page's or a scan answer's time.
        return {
            "qr_id": bag.qr_id,
            "kind": bag.kind,
            "status": bag.status,
            "dispatch_area": bag.dispatch_area.code if bag.dispatch_area_id else None,
            "child_count": self.get_child_count(bag),
            "capacity": self.get_capacity(bag),
            "weight_kg": self.get_weight_kg(bag),
            "parent": self.get_parent(bag),
            "bill": self.get_bill(bag),
            "created_by": bag.created_by.username if bag.created_by_id else None,
            "created_at": api_datetime(bag.created_at),
            "updated_at": api_datetime(bag.updated_at),
        }

    def get_child_count(self, bag) -> int | None:
        return bag.child_count if bag.kind == BagKind.PARENT else None

    def get_capacity(self, bag) -> int | None:
        return settings.PARENT_CAPACITY if bag.kind == BagKind.PARENT else None

    def get_weight_kg(self, bag) -> float:
        children = bag.child_count if bag.kind == BagKind.PARENT else 1
        return float(children * settings.KG_PER_CHILD)

    def get_parent(self, bag) -> str | None:
        parent = _link_parent(bag) if bag.kind == BagKind.CHILD else None
        return parent.qr_id if parent else None

    def get_bill(self, bag) -> str | None:
        """A parent's bill; for a child, the bill its parent is on."""
        return _bill_id(bag if bag.kind == BagKind.PARENT else _link_parent(bag))


class BagDetailSerializer(BagSerializer):
    children = serializers.SerializerMethodField()

    class Meta(BagSerializer.Meta):
        fields = [*BagSerializer.Meta.fields, "children"]

    def to_representation(self, bag) -> dict:
        return {**super().to_representation(bag), "children": self.get_children(bag)}

    def get_children(self, bag) -> list[str] | None:
        if bag.kind != BagKind.PARENT:
            return None
        return child_codes(bag)


class BagCodeField(serializers.CharField):
    """A bag code in a request body: trimmed, upper-cased and checked against the format of
    `kind` (DESIGN.md rule 1, `bags.codes.parse_code`) as the body is read, so a malformed
    code is a 400 before anything else looks at the request (an idempotent replay
    included)."""

    def __init__(self, kind: str, **kwargs):
        self.kind = kind
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> str:
        value = super().to_internal_value(data)
        try:
            return parse_code(value, self.kind, field=self.field_name)
        except InvalidInput as exc:
            raise serializers.ValidationError(next(iter(exc.errors.values()))) from None


class BagCreateSerializer(serializers.Serializer):
    # The code's format depends on the kind: the service checks it (400 on qr_id).
    qr_id = serializers.CharField(max_length=200, trim_whitespace=False)
    kind = serializers.ChoiceField(choices=BagKind.choices)
    dispatch_area = serializers.CharField(required=False, allow_null=True, allow_blank=True)
