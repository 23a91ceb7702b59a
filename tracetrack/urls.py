"""The URL configuration: each app's pages (its urls module), the admin, API v1, the
operational endpoints. The kernel names the apps' URL modules; it imports none of them."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

from tracetrack import views
from tracetrack.metrics import metrics_view

urlpatterns = [
    # API v1 first: Django tries the patterns in order, and the scans arrive there (the
    # pages' patterns, at the root, would each be tried before it). No page starts with api/.
    path("api/v1/", include("tracetrack.api.urls")),
    *(path("", include(f"{app}.urls")) for app in ("accounts", "scans", "billing", "reports")),
    path("admin/", admin.site.urls),
    # Log in / out links of the browsable API (session + CSRF).
    path("api-auth/", include("rest_framework.urls")),
    # The pages' scripts' strings in the request's language (anyone; the query names the
    # language, so a cached copy never serves the other one).
    path("jsi18n/", cache_control(max_age=3600)(JavaScriptCatalog.as_view()), name="javascript-catalog"),
    path("health/", views.health, name="health"),
    path("ready/", views.ready, name="ready"),
    path("metrics", metrics_view, name="metrics"),
    # The installable app: at the root, so that the service worker's scope is the whole site.
    path("manifest.webmanifest", views.web_manifest, name="web-manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("offline/", views.offline, name="offline"),
]

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))

# JSON errors under /api/, Django's pages elsewhere.
handler400 = "tracetrack.api.errors.bad_request"
handler404 = "tracetrack.api.errors.not_found"
handler500 = "tracetrack.api.errors.server_error"
