"""The Redis client of the cache (django-redis' REDIS_CLIENT_CLASS), timed: every command's
time goes to the request's usage (log line, Server-Timing) and to the cache metrics."""

import time

import redis

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
