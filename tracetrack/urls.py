from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from tracetrack import views

admin.site.site_header = "TraceTrack back office"
admin.site.site_title = "TraceTrack"

urlpatterns = [
    # Until the operator pages exist, the back office is the home page.
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("tracetrack.api.urls")),
    # Log in / out links of the browsable API (session + CSRF).
    path("api-auth/", include("rest_framework.urls")),
    path("health/", views.health, name="health"),
    path("ready/", views.ready, name="ready"),
]

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))

# JSON errors under /api/, Django's pages elsewhere.
handler404 = "tracetrack.api.errors.not_found"
handler500 = "tracetrack.api.errors.server_error"
