from django.apps import AppConfig


class ScansConfig(AppConfig):
    name = "scans"

    def ready(self):
        from scans.models import Scan
        from tracetrack.api import idempotency

        # A scan made without a client scan_id still owns the id it was given.
        idempotency.held_by(Scan, "scan_id")
