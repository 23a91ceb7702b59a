"""API v1 of accounts (included by tracetrack/api/urls.py)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts.api import AreaViewSet, MeView, TokenView, UserViewSet

router = SimpleRouter()
router.register("areas", AreaViewSet, basename="area")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    *router.urls,
]
