from django.conf import settings
from django.contrib import admin
from django.contrib.auth.views import LogoutView
from django.urls import include, path

from accounts import views as account_views
from bags import views as bag_views
from billing import views as bill_views
from scans import views as scan_views
from stats import views as stats_views
from tracetrack import views
from tracetrack.metrics import metrics_view

urlpatterns = [
    path("", account_views.home, name="home"),
    path("login/", account_views.LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("account/eod-summary/", account_views.eod_summary_choice, name="eod-summary-choice"),
    path("scan/", scan_views.scan, name="scan"),
    path("scan/<str:parent_qr>/", scan_views.scan, name="scan-parent"),
    path("lookup/", bag_views.lookup, name="lookup"),
    path("dashboard/", stats_views.dashboard, name="dashboard"),
    path("bills/", bill_views.bill_list, name="bill-list"),
    path("bills/new/", bill_views.bill_create, name="bill-create"),
    path("bills/summary/", bill_views.bill_summary, name="bill-summary"),
    path("bills/<str:bill_id>/", bill_views.bill_detail, name="bill-detail"),
    path("bills/<str:bill_id>/<str:action>/", bill_views.bill_action, name="bill-action"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracetrack.api.urls")),
    # Log in / out links of the browsable API (session + CSRF).
    path("api-auth/", include("rest_framework.urls")),
    path("health/", views.health, name="health"),
    path("ready/", views.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
]

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))

# JSON errors under /api/, Django's pages elsewhere.
handler404 = "tracetrack.api.errors.not_found"
handler500 = "tracetrack.api.errors.server_error"
