"""Cached API reads (django-redis): keyed by the caller's scope and the data's generation,
so a change is visible to the very next request (see tracetrack.caching)."""

import json
from collections.abc import Callable

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tracetrack.caching import cached_read

TTL = {"stats": 60, "scans": 30, "bag": 120, "bag_search": 180, "me": 300}

_JSON = JSONRenderer()


def scope_of(user) -> str:
    """Whose view of the data: a dispatcher sees their area, everyone else all of it."""
    return f"area{user.dispatch_area_id}" if user.is_dispatcher else "all"


def cached_response(request, name: str, key: str, build: Callable[[], object]) -> HttpResponse:
    """The answer with the body `build()` makes, through the cache for TTL[name] seconds.
    The cache keeps the rendered JSON, which a JSON client gets as it is (neither built nor
    rendered again); the browsable API renders it as usual."""
    body = cached_read(name, key, TTL[name], lambda: _JSON.render(build()))
    if getattr(request, "accepted_renderer", None) is not None and request.accepted_renderer.format != "json":
        return Response(json.loads(body))
    return HttpResponse(body, content_type=_JSON.media_type)
