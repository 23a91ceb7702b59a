"""API representations of scans and the bodies of scan requests."""

from rest_framework import serializers

from accounts.selectors import normalize_area_code
from bags.models import BagKind
from bags.serializers import BagCodeField, BagSerializer
from scans.models import Scan
from tracetrack.api.formats import api_datetime
from tracetrack.api.idempotency import ScanIdField
from tracetrack.api.inputs import InputSerializer


class ScanSerializer(serializers.ModelSerializer):
    """A scan from `scans.selectors.scans_visible_to` (user name and area code annotated),
    or one a service has just written (user and area in hand)."""

    parent = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    dispatch_area = serializers.SerializerMethodField()

    class Meta:
        model = Scan
        fields = ["id", "scan_id", "kind", "qr_id", "parent", "user", "dispatch_area", "timestamp", "undone_at"]

    def to_representation(self, scan) -> dict:
        # The same fields as the declared ones, built directly: DRF's field-by-field walk
        # was a third of the time of a page of 50 scans.
        return {
            "id": scan.pk,
            "scan_id": str(scan.scan_id),
            "kind": scan.kind,
            "qr_id": scan.qr_id,
            "parent": self.get_parent(scan),
            "user": self.get_user(scan),
            "dispatch_area": self.get_dispatch_area(scan),
            "timestamp": api_datetime(scan.timestamp),
            "undone_at": api_datetime(scan.undone_at),
        }

    def get_parent(self, scan) -> str | None:
        return scan.parent_qr or None

    def get_user(self, scan) -> str | None:
        if hasattr(scan, "user_name"):
            return scan.user_name
        return scan.user.username if scan.user_id else None

    def get_dispatch_area(self, scan) -> str | None:
        if hasattr(scan, "area_code"):
            return scan.area_code
        return scan.dispatch_area.code if scan.dispatch_area_id else None


class _ScanInput(InputSerializer):
    scan_id = ScanIdField()


class ParentScanInput(_ScanInput):
    qr_id = BagCodeField(BagKind.PARENT)
    dispatch_area = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=50,
                                          default="", help_text="a new parent's area; ignored for dispatchers")

    def validate_dispatch_area(self, value) -> str:
        return normalize_area_code(value)


class ChildScanInput(_ScanInput):
    parent = BagCodeField(BagKind.PARENT)
    qr_id = BagCodeField(BagKind.CHILD)


class UndoInput(InputSerializer):
    parent = BagCodeField(BagKind.PARENT)


def request_fields(data: dict) -> dict:
    """A scan request's validated fields without its `scan_id`: what an idempotent retry
    must repeat exactly."""
    return {key: value for key, value in data.items() if key != "scan_id"}


# The bodies of the scan endpoints' answers (API.md), shared by the single endpoints and
# the batch, whose items answer exactly as their single calls would.
def parent_scan_body(result) -> tuple[int, dict]:
    body = {"bag": BagSerializer(result.bag).data, "created": result.created, "scan": ScanSerializer(result.scan).data}
    return (201 if result.created else 200), body


def child_scan_body(result) -> tuple[int, dict]:
    # The service hands back the child and the parent with what their representations
    # read (area, creator, link, bill) already loaded.
    body = {
        "bag": BagSerializer(result.child).data,
        "parent": BagSerializer(result.parent).data,
        "scan": ScanSerializer(result.scan).data if result.scan else None,
        "duplicate": result.duplicate,
    }
    return (200 if result.duplicate else 201), body


def undo_body(result) -> tuple[int, dict]:
    return 200, {"removed": result.removed, "parent": BagSerializer(result.parent).data}


class BatchItemInput(serializers.Serializer):
    """One item of a batch (its fields are checked by its kind's own input, below)."""

    kind = serializers.ChoiceField(choices=["parent", "child", "undo"])


ITEM_INPUTS = {"parent": ParentScanInput, "child": ChildScanInput, "undo": UndoInput}
BATCH_LIMIT = 30


class BatchInput(serializers.Serializer):
    """The envelope: 1 to BATCH_LIMIT items, each an object; anything else is a 400 and
    nothing is applied."""

    items = serializers.ListField(child=serializers.JSONField(allow_null=True), min_length=1, max_length=BATCH_LIMIT,
                                  help_text="{kind: parent, qr_id, scan_id?, dispatch_area?} | "
                                            "{kind: child, parent, qr_id, scan_id?} | {kind: undo, parent}")
