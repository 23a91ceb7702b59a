import os

from django.core.wsgi import get_wsgi_application

from tracetrack import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")
# Before the application loads its middleware: Django's instrumentation adds its own.
tracing.setup()
application = get_wsgi_application()

from tracetrack.static import check_manifest  # noqa: E402 - needs the settings loaded

# Serving without collectstatic would answer 500 on every page: refuse to start instead.
check_manifest()
