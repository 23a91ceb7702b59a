from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from tracetrack import views

admin.site.site_header = "TraceTrack back office"
admin.site.site_title = "TraceTrack"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", views.health, name="health"),
    path("ready/", views.ready, name="ready"),
]

if settings.DEBUG_TOOLBAR:
    urlpatterns.append(path("__debug__/", include("debug_toolbar.urls")))
