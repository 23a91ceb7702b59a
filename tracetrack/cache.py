"""The Redis client of the cache (django-redis' REDIS_CLIENT_CLASS), timed: every command's
time goes to the request's usage (log line, Server-Timing) and to the cache metrics; and its
reply parser (PARSER_CLASS), which asks the kernel, not gevent, whether a pooled connection
holds stale bytes."""

import select
import time

import redis
from redis._parsers import _HiredisParser

try:  # the OS's poll, even where gevent has patched the select module
    from gevent.monkey import get_original

    _os_poll = get_original("select", "poll")
except ImportError:  # pragma: no cover - gevent is a requirement
    _os_poll = select.poll

from tracetrack import metrics, request_context


def account(command: str, seconds: float, *, failed: bool = False) -> None:
    """Count one round trip to Redis (a command, or a pipeline of them)."""
    if failed:
        metrics.CACHE_ERRORS.inc()
    usage = request_context.current().usage
    usage.cache_seconds += seconds
    usage.cache_calls += 1
    metrics.CACHE_SECONDS.inc(seconds)
    metrics.CACHE_CALLS.labels(command).inc()


class TimedRedis(redis.Redis):
    def execute_command(self, *args, **options):
        start = time.perf_counter()
        failed = False
        try:
            return super().execute_command(*args, **options)
        except redis.RedisError:
            failed = True
            raise
        finally:
            account(str(args[0]).upper() if args else "?", time.perf_counter() - start, failed=failed)


class HiredisParser(_HiredisParser):
    """redis-py's hiredis parser, with a cheaper answer to the question the pool asks of
    every connection it hands out: has it bytes nobody read (a reply left behind, or the
    server's close)? redis-py asks with `select.poll`, which under gevent is gevent's: a
    watcher started and stopped and a trip through the hub: 20.6 µs of CPU per check, and a
    GET round trip under gevent 145 µs of the client's CPU; with the OS's poll 2.5 µs and
    108 µs (bench/redis_check.py: 50,000 checks and 20,000 GETs on one connection, gevent
    patched, 2026-12-07). A zero-timeout poll never blocks, so the OS's own answers it
    here; when it says "readable" (bytes, or the server's close), redis-py's own check runs,
    as before."""

    def can_read(self, timeout: float = 0) -> bool:
        sock, reader = self._sock, self._reader
        if timeout == 0 and sock is not None and reader is not None and not reader.has_data() \
                and not hasattr(sock, "pending"):  # TLS may hold decrypted bytes above the socket
            poller = _os_poll()
            poller.register(sock.fileno(), select.POLLIN)
            if not poller.poll(0):
                return False
        return super().can_read(timeout)
