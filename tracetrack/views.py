"""Operational endpoints: liveness and readiness."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from tracetrack import metrics

logger = logging.getLogger(__name__)


@require_GET
def health(request):
    """Liveness: the process answers. Touches neither the database nor the cache."""
    return JsonResponse({"status": "ok"})


@require_GET
def ready(request):
    """Readiness: the database and the cache both answer; 503 names the one that does not."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = "ok"
    except Exception as exc:  # any driver error means "not ready"
        logger.warning("readiness: database check failed: %s", exc)
        checks["database"] = "unavailable"
    try:
        cache.set("ready-probe", "1", 5)
        checks["cache"] = "ok" if cache.get("ready-probe") == "1" else "unavailable"
    except Exception:
        logger.exception("readiness: cache check failed")
        checks["cache"] = "unavailable"
    for dependency, state in checks.items():
        metrics.DEPENDENCY_UP.labels(dependency).set(1 if state == "ok" else 0)
    ok = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status=200 if ok else 503)
