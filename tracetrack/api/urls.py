"""/api/v1/"""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from accounts.api import AreaViewSet, MeView, TokenView, UserViewSet
from bags.api import BagViewSet
from billing.api import BillViewSet
from scans.api import ScanViewSet
from tracetrack.api.views import StatsView

app_name = "api"

router = DefaultRouter()
router.register("bags", BagViewSet, basename="bag")
router.register("scans", ScanViewSet, basename="scan")
router.register("bills", BillViewSet, basename="bill")
router.register("areas", AreaViewSet, basename="area")
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    path("stats/", StatsView.as_view(), name="stats"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *router.urls,
]
