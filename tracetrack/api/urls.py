"""/api/v1/: each app's endpoints (its api_urls module), the schema, the docs, and the
browsable root. The kernel names the apps' URL modules; it imports none of them."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import APIRootView

app_name = "api"

# The browsable API's root page: each listing's URL name.
ROOT = {"bags": "bag-list", "scans": "scan-list", "bills": "bill-list", "areas": "area-list", "users": "user-list"}

urlpatterns = [
    path("", APIRootView.as_view(api_root_dict=ROOT), name="api-root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # Scans first: the most frequent requests by far (the patterns are tried in order).
    *(path("", include(f"{app}.api_urls")) for app in ("scans", "bags", "billing", "accounts", "reports")),
]
