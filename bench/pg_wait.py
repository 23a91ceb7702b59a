"""The worker CPU of one PostgreSQL round trip under gevent, with psycopg's own wait (as it
chooses when gevent has patched select: `wait_poll`) and with gevent's
(tracetrack.db.postgresql.base.GeventConnection), each twice, alternating.
`.venv/bin/python bench/pg_wait.py [conninfo]` (default the local PostgreSQL)."""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psycopg  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tracetrack.db.postgresql.base import GeventConnection  # noqa: E402

WARMUP, ROUND_TRIPS = 200, 10_000


def main(conninfo: str) -> None:
    for connection_class in (psycopg.Connection, GeventConnection, psycopg.Connection, GeventConnection):
        with connection_class.connect(conninfo, autocommit=True) as conn, conn.cursor() as cursor:
            for _ in range(WARMUP):
                cursor.execute("SELECT %s::int", (1,)).fetchone()
            cpu, wall = time.process_time(), time.perf_counter()
            for _ in range(ROUND_TRIPS):
                cursor.execute("SELECT %s::int", (1,)).fetchone()
            cpu, wall = (time.process_time() - cpu) / ROUND_TRIPS, (time.perf_counter() - wall) / ROUND_TRIPS
        print(f"{connection_class.__name__}: {cpu * 1e6:.1f} µs CPU, {wall * 1e6:.1f} µs wall per round trip")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/postgres")
