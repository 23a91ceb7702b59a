"""Bag API (API.md, Bags)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from accounts.permissions import RolePermission
from bags import services
from bags.filters import BagFilter
from bags.models import Bag
from bags.selectors import bag_get, bag_with_relations, bags_visible_to
from bags.serializers import BagCreateSerializer, BagDetailSerializer, BagSerializer
from tracetrack.api.replicas import StaleReadsMixin
from tracetrack.api.schema import error_responses


class BagViewSet(
    StaleReadsMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Bags, newest first. Dispatchers see their own area's; other bags are 404 to them."""

    serializer_class = BagSerializer
    filterset_class = BagFilter
    permission_classes = [RolePermission]
    policy = {"list": "bag.read", "retrieve": "bag.read", "create": "bag.create", "destroy": "bag.delete"}
    lookup_field = "qr_id"
    lookup_value_regex = "[^/]+"
    cursor_ordering = "-created_at"

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Bag.objects.none()
        return bags_visible_to(self.request.user)

    def get_serializer_class(self):
        if self.action == "retrieve":
            return BagDetailSerializer
        if self.action == "create":
            return BagCreateSerializer
        return BagSerializer

    def get_object(self):
        return bag_get(user=self.request.user, qr_id=self.kwargs["qr_id"])

    @extend_schema(
        request=BagCreateSerializer,
        responses={201: BagSerializer, **error_responses(400, 401, 403, 409)},
        description="Register a bag without scanning it. 409: bag_exists.",
    )
    def create(self, request, *args, **kwargs):
        data = self._input(BagCreateSerializer)
        bag = services.bag_create(
            user=request.user, qr_id=data["qr_id"], kind=data["kind"], dispatch_area=data.get("dispatch_area")
        )
        return Response(BagSerializer(bag_with_relations(bag)).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={204: OpenApiResponse(description="deleted"), **error_responses(401, 403, 404, 409)},
        description="Delete a bag (admins). A child leaves its parent; a parent's children go back to pending and "
        "its bill place is freed. 409: bill_completed.",
    )
    def destroy(self, request, *args, **kwargs):
        services.bag_delete(user=request.user, qr_id=kwargs["qr_id"])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={200: BagDetailSerializer, **error_responses(401, 403, 404)})
    def retrieve(self, request, *args, **kwargs):
        return Response(BagDetailSerializer(self.get_object()).data)

    def _input(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data
