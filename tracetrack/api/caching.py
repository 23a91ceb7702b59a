"""Cached API reads (django-redis): keyed by the caller's scope and the data's generation,
so a change is visible to the very next request (see tracetrack.caching)."""

import json
from collections.abc import Callable

from rest_framework.utils.encoders import JSONEncoder

from tracetrack.caching import cached_read

TTL = {"stats": 60, "scans": 30, "bag": 120, "bag_search": 180, "me": 300}


def scope_of(user) -> str:
    """Whose view of the data: a dispatcher sees their area, everyone else all of it."""
    return f"area{user.dispatch_area_id}" if user.is_dispatcher else "all"


def cached_body(name: str, key: str, build: Callable[[], object]):
    """The JSON-ready body `build()` makes, through the cache for TTL[name] seconds."""
    return cached_read(name, key, TTL[name], lambda: json.loads(json.dumps(build(), cls=JSONEncoder)))
