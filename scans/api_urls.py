"""API v1 of scans (included by tracetrack/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from scans.api import ScanViewSet

router = SimpleRouter()
router.register("scans", ScanViewSet, basename="scan")
urlpatterns = router.urls
