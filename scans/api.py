"""Scan API: list scans; submit parent scans, child scans and undo (API.md, Scans)."""

import json

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import exceptions, mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from accounts.permissions import RolePermission
from bags.serializers import BagSerializer
from scans import batch, services
from scans.decode import MAX_FRAME_BYTES as MAX_UPLOAD
from scans.decode import decode_qr_codes
from scans.filters import ScanFilter
from scans.models import Scan
from scans.selectors import scans_visible_to
from scans.serializers import (
    BATCH_LIMIT,
    BatchInput,
    ChildScanInput,
    ParentScanInput,
    ScanSerializer,
    UndoInput,
    child_scan_body,
    parent_scan_body,
    request_fields,
    undo_body,
)
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
BatchAnswer = inline_serializer(
    "BatchAnswer",
    {"results": serializers.ListField(child=inline_serializer(
        "BatchResult", {"status": serializers.IntegerField(),
                        "body": serializers.JSONField(help_text="the single endpoint's body for this item")}))},
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

    def get_serializer_class(self):
        """Each action's own input (the browsable API's form shows `parent`, `qr_id`,
        `scan_id`, not a scan's fields); the list's scans otherwise."""
        inputs = {"parent": ParentScanInput, "child": ChildScanInput, "undo": UndoInput, "batch": BatchInput,
                  "decode": DecodeInput}
        return inputs.get(self.action, ScanSerializer)

    def get_throttles(self):
        if self.action in ("parent", "child", "undo", "batch"):
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
            return parent_scan_body(services.scan_parent(
                user=request.user, qr_id=data["qr_id"], scan_id=data.get("scan_id"),
                dispatch_area=data["dispatch_area"],
            ))

        # Every accepted parent scan (200 or 201) writes its scan-log row under the scan_id.
        return idempotent_response(request, kind="parent", scan_id=data.get("scan_id"), action="scan.parent",
                                   params=request_fields(data), produce=produce,
                                   writes_holder=lambda status: status in (200, 201))

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
            return child_scan_body(services.scan_child(
                user=request.user, parent_qr=data["parent"], qr_id=data["qr_id"], scan_id=data.get("scan_id")
            ))

        # A new link (201) writes its scan-log row under the scan_id; a duplicate (200) none.
        return idempotent_response(request, kind="child", scan_id=data.get("scan_id"), action="scan.child",
                                   params=request_fields(data), produce=produce,
                                   writes_holder=lambda status: status == 201)

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
        return Response(undo_body(result)[1])

    @extend_schema(
        request=BatchInput,
        responses={200: BatchAnswer, **error_responses(400, 401, 403, 429)},
        description="Up to 30 parent, child and undo scans in one request (a phone's offline queue), in order. "
        "Each result is the status and body its single endpoint would have answered at that point of the "
        "sequence, refusals and scan_id replays included; one item's refusal changes nothing of the others. "
        "An item and a single call with the same scan_id and the same fields are the same request. "
        "400 (nothing applied): the body is not an object, items is missing, not a list, empty or longer "
        "than 30. The rate limits count every item.",
    )
    @action(detail=False, methods=["post"])
    def batch(self, request):
        envelope = BatchInput(data=request.data)
        if not envelope.is_valid():
            metrics.SCANS.labels("batch", "invalid").inc()
            raise exceptions.ValidationError(envelope.errors)
        content = batch.render(batch.run(request.user, envelope.validated_data["items"]))
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is not None and renderer.format != "json":
            return Response(json.loads(content))
        return HttpResponse(content, content_type="application/json")

    def throttle_weight(self, request) -> int:
        """A batch counts as many scans as it has items (API.md)."""
        if self.action != "batch":
            return 1
        try:
            items = request.data.get("items") if isinstance(request.data, dict) else None
        except exceptions.ParseError:
            return 1
        return min(len(items), BATCH_LIMIT + 1) if isinstance(items, list) and items else 1

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
