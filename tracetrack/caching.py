"""Cached reads with stampede protection. With the cache down every call simply builds
the value (slower, still correct)."""

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
WAIT_FOR_BUILDER = 2.0  # seconds a request waits for another one's rebuild before building itself


def cached(key: str, ttl: int, build: Callable[[], T]) -> T:
    """The cached value of `key`, or `build()`'s, stored for `ttl` seconds. Only one request
    at a time rebuilds an expired value (a short lock in the cache); the others wait for it."""
    value = cache.get(key)
    if value is not None:
        return value
    lock = f"{key}:building"
    if cache.add(lock, 1, timeout=30):
        try:
            value = build()
            cache.set(key, value, ttl)
            return value
        finally:
            cache.delete(lock)
    deadline = time.monotonic() + WAIT_FOR_BUILDER
    while time.monotonic() < deadline:
        time.sleep(0.05)
        value = cache.get(key)
        if value is not None:
            return value
    return build()
