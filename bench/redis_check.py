"""The client CPU of redis-py's pooled-connection check and of a GET round trip under gevent,
with redis-py's hiredis parser and with ours (tracetrack.cache.HiredisParser), each twice,
alternating. `.venv/bin/python bench/redis_check.py [redis URL]` (default the local Redis)."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import redis  # noqa: E402
from redis._parsers import _HiredisParser  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tracetrack.cache import HiredisParser  # noqa: E402

CHECKS, GETS = 50_000, 20_000


def main(url: str) -> None:
    for parser in (_HiredisParser, HiredisParser, _HiredisParser, HiredisParser):
        pool = redis.ConnectionPool.from_url(url, parser_class=parser)
        connection = pool.get_connection()
        start = time.process_time()
        for _ in range(CHECKS):
            connection.can_read()
        check = (time.process_time() - start) / CHECKS
        pool.release(connection)
        client = redis.Redis(connection_pool=pool)
        start = time.process_time()
        for _ in range(GETS):
            client.get("tracetrack-bench-absent")
        get = (time.process_time() - start) / GETS
        print(f"{parser.__module__}.{parser.__name__}: check {check * 1e6:.1f} µs CPU, GET round trip {get * 1e6:.1f} µs CPU")
        pool.disconnect()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/0")
