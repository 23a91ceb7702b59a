"""Cached reads with stampede protection. With the cache down every call simply builds
the value (slower, still correct)."""

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

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


# Cached reads carry the data's "generation" in their keys; every committed change bumps
# it, so a cached answer is never older than the last change (exact), while reads between
# changes come from the cache.
GENERATION_KEY = "generation:data"


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        value = int(time.time() * 1000)  # a fresh start never reuses an old generation
        cache.add(GENERATION_KEY, value, None)
        value = cache.get(GENERATION_KEY) or value
    return int(value)


def data_changed() -> None:
    """Call inside a service transaction that changed bags, scans or bills: every cached
    read becomes stale now, and again at commit (a read cached in between, from the data
    before the commit, is dropped too)."""
    _bump()
    transaction.on_commit(_bump)


def _bump() -> None:
    try:
        if cache.incr(GENERATION_KEY) is not None:
            return
    except ValueError:  # no generation yet
        pass
    cache.set(GENERATION_KEY, int(time.time() * 1000), None)


def cached_read(name: str, scope: str, ttl: int, build: Callable[[], T]) -> T:
    """`cached()` for a read of the current data, keyed by the data's generation."""
    return cached(f"read:{name}:{scope}:{generation()}", ttl, build)
