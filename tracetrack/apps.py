from django.contrib.admin.apps import AdminConfig


class TraceTrackAdminConfig(AdminConfig):
    default_site = "tracetrack.admin_site.TraceTrackAdminSite"
