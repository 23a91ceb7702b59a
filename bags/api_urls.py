"""API v1 of bags (included by tracetrack/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from bags.api import BagViewSet

router = SimpleRouter()
router.register("bags", BagViewSet, basename="bag")
urlpatterns = router.urls
