"""Scan API: list scans; submit parent scans, child scans and undo (API.md, Scans)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import RolePermission
from bags.serializers import BagSerializer
from scans import services
from scans.decode import MAX_FRAME_BYTES as MAX_UPLOAD
from scans.decode import decode_qr_codes
from scans.filters import ScanFilter
from scans.models import Scan
from scans.selectors import scans_visible_to
from scans.serializers import ChildScanInput, ParentScanInput, ScanSerializer, UndoInput, request_fields
from tracetrack import metrics
from tracetrack.api.idempotency import idempotent_response
from tracetrack.api.replicas import StaleReadsMixin
from tracetrack.api.schema import error_responses
from tracetrack.api.throttling import ScanThrottle
from tracetrack.errors import ServiceError

ParentScanAnswer = inline_serializer(
    "ParentScanAnswer", {"bag": BagSerializer(), "created": serializers.BooleanField(), "scan": ScanSerializer()}
)
ChildScanAnswer = inline_serializer(
    "ChildScanAnswer",
    {"bag": BagSerializer(), "parent": BagSerializer(), "scan": ScanSerializer(allow_null=True),
     "duplicate": serializers.BooleanField()},
)
UndoAnswer = inline_serializer("UndoAnswer", {"removed": serializers.CharField(), "parent": BagSerializer()})
DecodeInput = inline_serializer("DecodeInput", {"image": serializers.FileField()})
DecodeAnswer = inline_serializer("DecodeAnswer", {"codes": serializers.ListField(child=serializers.CharField())})


class ScanViewSet(StaleReadsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Scans, newest first. Dispatchers see their own area's."""

    serializer_class = ScanSerializer
    filterset_class = ScanFilter
    permission_classes = [RolePermission]
    policy = {"*": "scan"}
    cursor_ordering = "-timestamp"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Scan.objects.none()
        return scans_visible_to(self.request.user)

    def get_throttles(self):
        if self.action in ("parent", "child", "undo"):
            return [ScanThrottle()]
        return super().get_throttles()

    def _input(self, serializer_class, *, kind: str) -> dict:
        serializer = serializer_class(data=self.request.data)
        if not serializer.is_valid():
            counter = metrics.UNDOS.labels("invalid") if kind == "undo" else metrics.SCANS.labels(kind, "invalid")
            counter.inc()
            raise exceptions.ValidationError(serializer.errors)
        return serializer.validated_data

    @extend_schema(
        request=ParentScanInput,
        responses={201: OpenApiResponse(ParentScanAnswer, description="a new parent"),
                   200: OpenApiResponse(ParentScanAnswer, description="an existing parent"),
                   **error_responses(400, 401, 403, 409, 422, 429)},
        description="Scan a parent bag; it is created when new. A dispatcher's new parent takes their area. "
        "409: is_child, area_mismatch.",
    )
    @action(detail=False, methods=["post"])
    def parent(self, request):
        data = self._input(ParentScanInput, kind="parent")

        def produce():
            result = services.scan_parent(
                user=request.user, qr_id=data["qr_id"], scan_id=data.get("scan_id"),
                dispatch_area=data["dispatch_area"],
            )
            body = {"bag": BagSerializer(result.bag).data, "created": result.created, "scan": ScanSerializer(result.scan).data}
            return (201 if result.created else 200), body

        return idempotent_response(request, kind="parent", scan_id=data.get("scan_id"), action="scan.parent",
                                   params=request_fields(data), produce=produce)

    @extend_schema(
        request=ChildScanInput,
        responses={201: OpenApiResponse(ChildScanAnswer, description="linked"),
                   200: OpenApiResponse(ChildScanAnswer, description="duplicate: already in this parent"),
                   **error_responses(400, 401, 403, 404, 409, 422, 429)},
        description="Scan a child into a parent. 409: capacity_reached, already_linked (adds current_parent), "
        "is_parent, bill_completed, area_mismatch.",
    )
    @action(detail=False, methods=["post"])
    def child(self, request):
        data = self._input(ChildScanInput, kind="child")

        def produce():
            result = services.scan_child(
                user=request.user, parent_qr=data["parent"], qr_id=data["qr_id"], scan_id=data.get("scan_id")
            )
            # The service hands back the child and the parent with what their
            # representations read (area, creator, link, bill) already loaded.
            body = {
                "bag": BagSerializer(result.child).data,
                "parent": BagSerializer(result.parent).data,
                "scan": ScanSerializer(result.scan).data if result.scan else None,
                "duplicate": result.duplicate,
            }
            return (200 if result.duplicate else 201), body

        return idempotent_response(request, kind="child", scan_id=data.get("scan_id"), action="scan.child",
                                   params=request_fields(data), produce=produce)

    @extend_schema(
        request=UndoInput,
        responses={200: UndoAnswer, **error_responses(400, 401, 403, 404, 409, 429)},
        description="Undo the caller's newest child scan on the parent (admins: anyone's) if it is at most "
        "UNDO_WINDOW old. 409: nothing_to_undo, bill_completed, area_mismatch.",
    )
    @action(detail=False, methods=["post"])
    def undo(self, request):
        data = self._input(UndoInput, kind="undo")
        try:
            result = services.undo_last_scan(user=request.user, parent_qr=data["parent"])
        except ServiceError as exc:
            metrics.UNDOS.labels(exc.code).inc()
            raise
        metrics.UNDOS.labels("undone").inc()
        return Response({"removed": result.removed, "parent": BagSerializer(result.parent).data})

    @extend_schema(
        request={"multipart/form-data": DecodeInput},
        responses={200: DecodeAnswer, **error_responses(400, 401, 403, 429)},
        description="Read the QR codes in a camera frame (for browsers without BarcodeDetector). "
        "400 when the image holds no readable code. Nothing is scanned: submit the code to /scans/parent/ "
        "or /scans/child/.",
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser])
    def decode(self, request):
        upload = request.FILES.get("image")
        return Response({"codes": decode_qr_codes(upload.read(MAX_UPLOAD + 1) if upload else b"")})
