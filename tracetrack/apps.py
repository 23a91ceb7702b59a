from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class TraceTrackAdminConfig(AdminConfig):
    default_site = "tracetrack.admin_site.TraceTrackAdminSite"


class KernelConfig(AppConfig):
    """The kernel as a Django app: it owns the models of the API plumbing (the record of
    idempotent requests) and imports no app of the domain."""

    name = "tracetrack"
    label = "tracetrack"
    verbose_name = "TraceTrack kernel"
