"""Operational endpoints: liveness and readiness. The installable app's files: the web app
manifest, the service worker (served from the root so that its scope is the whole site) and
the page it shows for a navigation it cannot serve offline."""

import hashlib
import json
import logging
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
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


# --- The installable app (static/js/sw.js, static/js/pwa.js) --------------------------------
# Anyone may fetch these three, signed in or not: the login page registers the service
# worker and links the manifest too, and none of them holds anything of a user's. They
# touch neither the database nor the session.

THEME_COLOUR = "#0b3d2e"  # templates/base.html's theme-color
ICONS = [  # static/icons/, drawn by tools/make_icons.py
    ("icons/icon-192.png", "192x192", "image/png", "any"),
    ("icons/icon-512.png", "512x512", "image/png", "any"),
    ("icons/icon-maskable-512.png", "512x512", "image/png", "maskable"),
    ("icons/icon.svg", "any", "image/svg+xml", "any"),
]
# What the scan page needs, cached when the service worker installs, so that the page opens
# with no network (the page itself is kept the first time it is opened online).
OFFLINE_ASSETS = ["css/app.css", "js/tt.js", "js/scan.js", "js/pwa.js", "icons/icon.svg", "icons/icon-192.png"]


@require_GET
def web_manifest(request):
    """The web app manifest: what "Add to Home screen" installs. Icon addresses come from the
    static files storage, so they are the hashed names when those are on."""
    return JsonResponse({
        "id": "/scan/",
        "name": "TraceTrack",
        "short_name": "TraceTrack",
        "description": "Scan parent and child bags, with or without network.",
        "start_url": "/scan/",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": THEME_COLOUR,
        "icons": [{"src": static(name), "sizes": sizes, "type": kind, "purpose": purpose}
                  for name, sizes, kind, purpose in ICONS],
    }, content_type="application/manifest+json")


@require_GET
def service_worker(request):
    """static/js/sw.js, from the root (a worker's scope cannot reach above the folder it is
    served from), after one line that tells it what to cache under this deployment's static
    names. Its version is a digest of the whole script: every change to the script or to a
    cached file's hashed name makes a new one, and browsers check for it with every page
    they open (no-cache: they always ask)."""
    source = Path(finders.find("js/sw.js")).read_text(encoding="utf-8")
    config = {"precache": [reverse("offline"), *map(static, OFFLINE_ASSETS)], "offline": reverse("offline")}
    version = hashlib.sha256((json.dumps(config) + source).encode()).hexdigest()[:12]
    body = f"self.TT_SW = {json.dumps({**config, 'version': version})};\n{source}"
    response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def offline(request):
    """The service worker's answer to a page it cannot fetch and has not kept. Rendered
    without the request, so it can hold nothing of whoever is signed in."""
    return HttpResponse(render_to_string("offline.html"))
