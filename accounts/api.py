"""Account API: tokens, me, areas, users (API.md, Authentication; Stats, areas, users)."""

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services
from accounts.lockout import LOCKED_OUT_DETAIL
from accounts.models import ApiToken, DispatchArea
from accounts.permissions import RolePermission
from accounts.selectors import user_get, users_for_listing
from accounts.serializers import (
    AreaSerializer,
    MeSerializer,
    TokenRequestSerializer,
    TokenSerializer,
    UserSerializer,
    UserWriteSerializer,
)
from tracetrack import metrics
from tracetrack.api.replicas import StaleReadsMixin
from tracetrack.api.schema import error_responses
from tracetrack.api.throttling import LoginThrottle


class InvalidCredentials(exceptions.AuthenticationFailed):
    tracetrack_code = "invalid_credentials"
    default_detail = gettext_lazy("Wrong username or password.")


class LockedOut(exceptions.Throttled):
    tracetrack_code = "locked_out"
    default_detail = LOCKED_OUT_DETAIL


class TokenView(APIView):
    """Obtain a token with a username and password; revoke the token that made the call."""

    throttle_classes = [LoginThrottle]

    def get_permissions(self):
        return [AllowAny()] if self.request.method == "POST" else [IsAuthenticated()]

    def get_throttles(self):
        return super().get_throttles() if self.request.method == "POST" else []

    @extend_schema(
        request=TokenRequestSerializer,
        responses={201: TokenSerializer, **error_responses(400, 401, 429)},
        auth=[],
        description="401 invalid_credentials; 429 locked_out after LOGIN_FAILURE_LIMIT failures per username and IP.",
    )
    def post(self, request):
        serializer = TokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        django_request = request._request
        user = authenticate(django_request, username=data["username"], password=data["password"])
        if getattr(django_request, "axes_locked_out", False):
            raise LockedOut(wait=int(settings.AXES_COOLOFF_TIME.total_seconds()))
        if user is None or not user.is_active:
            raise InvalidCredentials()
        token, raw = services.token_create(user=user, name=data.get("name", ""), read_only=data["read_only"],
                                           require_signature=data["require_signature"])
        metrics.LOGINS.labels("success").inc()  # a token login sends no user_logged_in
        answer = {"token": raw, "token_id": token.pk, "expires_at": token.expires_at}
        if token.signing_secret:
            answer["signing_secret"] = token.signing_secret
        return Response(TokenSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: OpenApiResponse(description="revoked"), **error_responses(400, 401)},
                   description="Revoke the token that authenticates this request.")
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise exceptions.ValidationError({"non_field_errors": [_("Call this with the Bearer token to revoke.")]})
        services.token_revoke(actor=request.user, token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    @extend_schema(responses={200: MeSerializer, **error_responses(401)})
    def get(self, request):
        return Response(MeSerializer(request.user).data)


class AreaViewSet(StaleReadsMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Dispatch areas by code."""

    queryset = DispatchArea.objects.all()
    serializer_class = AreaSerializer
    cursor_ordering = "code"
    filterset_class = None


class UserViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.DestroyModelMixin, viewsets.GenericViewSet,
):
    """Users by username (admins only)."""

    serializer_class = UserSerializer
    permission_classes = [RolePermission]
    policy = {"*": "user.manage"}
    lookup_field = "username"
    lookup_value_regex = "[^/]+"
    cursor_ordering = "username"
    filterset_class = None

    def get_queryset(self):
        return users_for_listing()

    def get_object(self):
        return user_get(username=self.kwargs["username"])

    def get_serializer_class(self):
        return UserWriteSerializer if self.action in ("create", "partial_update") else UserSerializer

    @extend_schema(request=UserWriteSerializer, responses={201: UserSerializer, **error_responses(400, 401, 403, 409)})
    def create(self, request, *args, **kwargs):
        serializer = UserWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = services.user_create(
            actor=request.user, username=data["username"], password=data["password"], role=data["role"],
            dispatch_area=data.get("dispatch_area"), email=data.get("email", ""),
        )
        if data.get("is_active") is False:
            user = services.user_update(actor=request.user, target=user, is_active=False)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UserWriteSerializer, responses={200: UserSerializer, **error_responses(400, 401, 403, 404, 409)},
                   description="409: own_role (nobody changes their own role), last_admin.")
    def partial_update(self, request, *args, **kwargs):
        target = self.get_object()
        serializer = UserWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "username" in data and data["username"] != target.username:
            raise exceptions.ValidationError({"username": [_("A username cannot be changed.")]})
        changes = {k: data[k] for k in ("email", "role", "dispatch_area", "is_active", "password") if k in data}
        user = services.user_update(actor=request.user, target=target, **changes)
        return Response(UserSerializer(user).data)

    @extend_schema(responses={204: OpenApiResponse(description="deleted"), **error_responses(401, 403, 404, 409)},
                   description="409: last_admin.")
    def destroy(self, request, *args, **kwargs):
        services.user_delete(actor=request.user, target=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
