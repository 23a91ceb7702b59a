from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Reports above the domain: the staff dashboard and the stats API, read from the
    counters (stats) and the scan log."""

    name = "reports"
