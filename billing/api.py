"""Bill API (API.md, Bills)."""

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.permissions import RolePermission
from billing import services
from billing.filters import BillFilter
from billing.selectors import bill_day_summary, bill_get, bill_with_parents, bills_with_totals
from billing.serializers import (
    BillCreateSerializer,
    BillDetailSerializer,
    BillParentInput,
    BillSerializer,
    BillUpdateSerializer,
    SummarySerializer,
)
from tracetrack.api.idempotency import idempotent_response
from tracetrack.api.replicas import StaleReadsMixin
from tracetrack.api.schema import error_responses
from tracetrack.api.throttling import ScanThrottle
from tracetrack.codes import normalize_code

_UPDATABLE = ("capacity", "destination", "vehicle_number", "description")


def _detail(bill) -> dict:
    """The detail of a bill a service has just changed (and hands back, its creator loaded)."""
    return BillDetailSerializer(bill_with_parents(bill)).data


class BillViewSet(
    StaleReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.DestroyModelMixin, viewsets.GenericViewSet,
):
    """Bills, newest first (billers and admins)."""

    serializer_class = BillSerializer
    filterset_class = BillFilter
    permission_classes = [RolePermission]
    policy = {"*": "bill.manage", "list": "bill.read", "retrieve": "bill.read", "summary": "bill.read",
              "destroy": "bill.delete"}
    lookup_field = "bill_id"
    lookup_value_regex = "[^/]+"
    cursor_ordering = "-created_at"
    stale_read_actions = ("list", "retrieve", "summary")

    def get_queryset(self):
        return bills_with_totals()

    def get_serializer_class(self):
        return {
            "retrieve": BillDetailSerializer,
            "create": BillCreateSerializer,
            "partial_update": BillUpdateSerializer,
            "parents": BillParentInput,
        }.get(self.action, BillSerializer)

    def get_object(self):
        return bill_get(bill_id=self.kwargs["bill_id"])

    def get_throttles(self):
        if self.action == "parents":
            return [ScanThrottle()]
        return super().get_throttles()

    def _input(self, serializer_class, *, partial=False) -> dict:
        serializer = serializer_class(data=self.request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(responses={200: BillDetailSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(request=BillCreateSerializer, responses={201: BillDetailSerializer, **error_responses(400, 401, 403, 409)},
                   description="Create a bill (capacity 1–50). 409: bill_exists.")
    def create(self, request, *args, **kwargs):
        data = self._input(BillCreateSerializer)
        bill = services.bill_create(user=request.user, **data)
        return Response(_detail(bill), status=status.HTTP_201_CREATED)

    @extend_schema(request=BillUpdateSerializer, responses={200: BillDetailSerializer, **error_responses(400, 401, 403, 404, 409)},
                   description="Edit a bill. Capacity up to 100, never below its parents (400). 409: bill_completed.")
    def partial_update(self, request, *args, **kwargs):
        data = self._input(BillUpdateSerializer, partial=True)
        bill = services.bill_update(user=request.user, bill_id=kwargs["bill_id"], **{k: data[k] for k in _UPDATABLE if k in data})
        return Response(_detail(bill))

    @extend_schema(responses={204: OpenApiResponse(description="deleted"), **error_responses(401, 403, 404, 409)},
                   description="Delete a bill (admins); its parents are freed. 409: bill_completed (reopen it first).")
    def destroy(self, request, *args, **kwargs):
        services.bill_delete(user=request.user, bill_id=kwargs["bill_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        request=BillParentInput,
        responses={201: BillDetailSerializer, 200: OpenApiResponse(BillDetailSerializer, description="duplicate: already on this bill"),
                   **error_responses(400, 401, 403, 404, 409, 422, 429)},
        description="Put a parent bag on the bill. 409: already_billed (adds current_bill), bill_full, "
        "bill_completed, is_child.",
    )
    @action(detail=True, methods=["post"])
    def parents(self, request, bill_id=None):
        data = self._input(BillParentInput)

        code = normalize_code(bill_id)

        def produce():
            result = services.bill_add_parent(user=request.user, bill_id=code, parent_qr=data["qr_id"])
            body = {**_detail(result.bill), "duplicate": result.duplicate}
            return (200 if result.duplicate else 201), body

        return idempotent_response(request, kind="bill_parent", scan_id=data.get("scan_id"), action="bill.add_parent",
                                   params={"bill_id": code, "qr_id": data["qr_id"]}, produce=produce)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="removed"), **error_responses(401, 403, 404, 409)},
                   description="Take a parent off the bill. 409: bill_completed.")
    @action(detail=True, methods=["delete"], url_path=r"parents/(?P<qr_id>[^/]+)", url_name="remove-parent")
    def remove_parent(self, request, bill_id=None, qr_id=None):
        services.bill_remove_parent(user=request.user, bill_id=bill_id, parent_qr=qr_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={200: BillDetailSerializer, **error_responses(401, 403, 404, 409)},
                   description="Complete a full bill. 409: bill_incomplete, bill_completed.")
    @action(detail=True, methods=["post"])
    def complete(self, request, bill_id=None):
        return Response(_detail(services.bill_complete(user=request.user, bill_id=bill_id)))

    @extend_schema(request=None, responses={200: BillDetailSerializer, **error_responses(401, 403, 404, 409)},
                   description="Reopen a completed bill. 409: bill_not_completed.")
    @action(detail=True, methods=["post"])
    def reopen(self, request, bill_id=None):
        return Response(_detail(services.bill_reopen(user=request.user, bill_id=bill_id)))

    @extend_schema(
        parameters=[OpenApiParameter("date", str, description="YYYY-MM-DD; default: today in TIME_ZONE")],
        responses={200: SummarySerializer, **error_responses(400, 401, 403)},
        description="End-of-day summary: bills created and completed that day; parents, children and weights of "
        "the bills completed that day; per user.",
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def summary(self, request):
        raw = request.query_params.get("date")
        if raw:
            try:
                day = date.fromisoformat(raw)
            except ValueError:
                raise exceptions.ValidationError({"date": [_("Date must be YYYY-MM-DD.")]}) from None
        else:
            day = timezone.localdate()
        summary = bill_day_summary(day=day)
        return Response(SummarySerializer(summary).data)
