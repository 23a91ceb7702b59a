"""Rate limits: fixed windows counted in the cache, all the limits of one request in one
round trip and one command (a Lua script: INCRBY + EXPIRE NX per limit; it was a pipeline
of those four commands, whose packing and four replies cost the scan path more).

Why not django-ratelimit (used before): it sends a SET and an EVAL per limit, so the two
limits of a scan cost four round trips, a fifth of the request's own cost; it cannot count
a request as several (a batch of 30 scans is 30 against the scan limit); and its fixed
windows are what this does too. Counting is the same: a window of the rate's period
starts at a multiple of it; a request over any limit is refused with the seconds left in
that window.

With the cache down, requests are served (fail open, as before): refusing every scan
because Redis is away would stop the warehouse for a limit that only guards against
runaway clients. Without Redis (the embedded default), the local-memory cache counts per
process.
"""

import time
from dataclasses import dataclass

import redis
from django.conf import settings
from django.core.cache import cache

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse(rate: str) -> tuple[int, int]:
    """"100/m" → (100, 60)."""
    count, unit = rate.split("/")
    return int(count), PERIODS[unit]


@dataclass(frozen=True)
class Limit:
    group: str  # what is limited: "api", "scan", "login"
    ident: str  # whose: a user id or a client address
    rate: str  # "count/period"


def hit(limits: "list[Limit]", weight: int = 1) -> float | None:
    """Count `weight` requests against every limit; None when all are within, else the
    seconds until the window of the most exceeded one ends."""
    if not settings.RATELIMIT_ENABLE or not limits:
        return None
    now = time.time()
    windows = []
    for limit in limits:
        allowed, period = parse(limit.rate)
        start = int(now // period) * period
        windows.append((f"rl:{limit.group}:{limit.ident}:{start}", allowed, period, start + period - now))
    counts = _count([(key, period) for key, _, period, _ in windows], weight)
    if counts is None:
        return None  # the cache is down: serve
    waits = [left for (_, allowed, _, left), count in zip(windows, counts, strict=True) if count > allowed]
    return max(waits) if waits else None


def _redis():
    client = getattr(cache, "client", None)
    get_client = getattr(client, "get_client", None)
    return get_client(write=True) if get_client is not None else None


# KEYS: the windows' keys; ARGV[1]: the weight; ARGV[1 + i]: the seconds KEYS[i] lives.
COUNT_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCRBY', key, ARGV[1])
  redis.call('EXPIRE', key, ARGV[i + 1], 'NX')
end
return counts
"""
_scripts: dict[int, "redis.commands.core.Script"] = {}


def _count(keys: list[tuple[str, int]], weight: int) -> list[int] | None:
    connection = _redis()
    if connection is None:
        return _count_generic(keys, weight)
    script = _scripts.get(id(connection))
    if script is None:
        script = _scripts[id(connection)] = connection.register_script(COUNT_SCRIPT)
    try:
        # EVALSHA (timed and counted by tracetrack.cache.TimedRedis); loaded again by
        # redis-py when the server has lost it (a restart).
        return [int(count) for count in script(keys=[cache.make_key(key) for key, _period in keys],
                                                 args=[weight, *(period + 1 for _key, period in keys)])]
    except (redis.RedisError, OSError):
        return None


def _count_generic(keys: list[tuple[str, int]], weight: int) -> list[int]:
    """Any other cache backend (the local-memory one): add, then increment."""
    counts = []
    for key, period in keys:
        cache.add(key, 0, period + 1)
        try:
            counts.append(cache.incr(key, weight))
        except ValueError:  # expired in between: a new window
            cache.set(key, weight, period + 1)
            counts.append(weight)
    return counts
