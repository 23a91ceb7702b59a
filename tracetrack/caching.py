"""Cached reads of the current data: exact, with stampede protection, and as few cache round
trips as possible (they are a large part of a cached endpoint's cost). With the cache down
every call simply builds the value (slower, still correct).

Every committed change bumps the data's "generation" (`data_changed`). A cached read is
stored together with the generation it was built at, and served only while that is still
the current one, so a cached answer is never older than the last change, while reads
between changes come from the cache. Round trips per read: one on a hit (the generation and
the entry in one `get_many`); three on a miss (that, the rebuild lock, the store)."""

import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

from tracetrack.db.replicas import primary_reads

T = TypeVar("T")
WAIT_FOR_BUILDER = 2.0  # seconds a request waits for another one's rebuild before building itself
LOCK_SECONDS = 10  # a rebuild lock left behind (its builder died) blocks nobody for longer
GENERATION_KEY = "generation:data"


def cached_read(name: str, scope: str, ttl: int, build: Callable[[], T]) -> T:
    """The value `build()` makes of the current data for `scope`, from the cache when
    nothing changed since it was stored there (and at most `ttl` seconds ago). Only one
    request at a time rebuilds a missing value (a short lock in the cache); the others wait
    for it."""
    key = f"read:{name}:{scope}"
    found = cache.get_many([GENERATION_KEY, key])
    current = found.get(GENERATION_KEY)
    if current is None:
        current = _start_generation()
        if current is None:  # the cache is down
            return build()
    build = _on_primary(build)
    entry = found.get(key)
    if entry is not None and entry[0] == current:
        return entry[1]
    # The lock is per generation: a rebuild for older data never holds up one for newer.
    lock = f"{key}:building:{current}"
    taken = cache.add(lock, 1, timeout=LOCK_SECONDS)  # None: the cache went down
    if taken is not False:
        try:
            value = build()
        except BaseException:
            cache.delete(lock)
            raise
        # The lock is left to expire: the next generation uses another one, and this one's
        # waiters find the value.
        cache.set(key, (current, value), ttl)
        return value
    deadline = time.monotonic() + WAIT_FOR_BUILDER
    while time.monotonic() < deadline:
        time.sleep(0.02)
        entry = cache.get(key)
        if entry is not None and entry[0] >= current:
            return entry[1]
    return build()


def _on_primary(build: Callable[[], T]) -> Callable[[], T]:
    """A value stored under the current generation is built from the primary: a replica a
    moment behind would store yesterday's data as today's (tracetrack.db.replicas)."""

    def built() -> T:
        with primary_reads():
            return build()

    return built


def _start_generation() -> int | None:
    """The generation after a cache flush or restart; None when the cache is down."""
    value = int(time.time() * 1000)  # a fresh start never reuses an old generation
    if cache.add(GENERATION_KEY, value, None) is None:
        return None
    return int(cache.get(GENERATION_KEY) or value)


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
