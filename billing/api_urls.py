"""API v1 of billing (included by tracetrack/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from billing.api import BillViewSet

router = SimpleRouter()
router.register("bills", BillViewSet, basename="bill")
urlpatterns = router.urls
