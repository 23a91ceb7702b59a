"""API v1 of reports (included by tracetrack/api/urls.py)."""

from django.urls import path

from reports.api import StatsView

urlpatterns = [path("stats/", StatsView.as_view(), name="stats")]
