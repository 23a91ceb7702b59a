"""The staff dashboard: totals, per area, scans per hour today, bills by status, top
operators today and the last 50 scans; it refreshes itself every few seconds."""

from django.shortcuts import render

from accounts.pages import page_requires
from reports.dashboard import dashboard_data
from tracetrack.db.replicas import stale_ok


@page_requires("dashboard.read")
@stale_ok
def dashboard(request):
    template = "pages/dashboard_body.html" if request.GET.get("fragment") else "pages/dashboard.html"
    return render(request, template, dashboard_data(request.user))
