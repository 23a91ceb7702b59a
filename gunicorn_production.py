"""gunicorn settings for production: `gunicorn -c gunicorn_production.py tracetrack.wsgi`.

Every value can be overridden from the environment. The worker class and counts were
chosen by measurement (`make bench`, bench/REPORT.md "Worker class comparison", the same
200-user mixed load on each): on the 2-core machine class the server is CPU-bound, and
`sync` (5 workers) and `gevent` (2 workers × 100 connections) came out level within
run-to-run noise (three runs: 74, 75, 79 req/s for sync; 78, 70, 81 for gevent), both
ahead of gthread (2×8: 68, 63, 74; 4×8: 74, 60, 77, with twice the PostgreSQL connections
and the worst p95). gevent is the default because operators are phones on mobile networks: a slow
client holds a greenlet, not one of five processes. psycopg 3 is cooperative under gevent
and Django's pool (CONN_MAX_AGE = 0, DB_POOL_MAX per worker) keeps PostgreSQL connections
at workers × DB_POOL_MAX (16 measured); a request that finds no free connection within
DB_POOL_TIMEOUT gets 429 + Retry-After, not a 500.

Connections per gevent worker: 1000 (gevent's own default). With 100, a worker stopped
accepting at 100 open connections, and clients holding keep-alive connections beyond 2 × 100
waited in the listen backlog until they timed out: 500 bench users got 253 connection errors,
with 1000 none (the same overload then queues on the database pool, p95 3.9 s, as with sync
workers). Concurrency on PostgreSQL stays bounded by the pool, not by this number.
"""

import multiprocessing
import os
import shutil
import tempfile

from tracetrack.logs import logging_config

# Prometheus metrics from several worker processes (tracetrack.metrics): each writes its own
# files here, /metrics adds them up. Set before any worker imports prometheus_client; the
# directory is emptied when the server starts, so a restart does not count old values.
PROMETHEUS_MULTIPROC_DIR = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"tracetrack-metrics-{os.getuid()}")
)

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 8))  # gthread
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", 1000))  # gevent
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 20))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 5))
# Recycle workers now and then so that a slow leak cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 20000))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", 2000))
# Off unless asked for: the app writes one line per request (tracetrack.request) with the
# same fields and more (request id, route, user, database and cache time); a second line
# per request from gunicorn cost 2 % of a scan's CPU. GUNICORN_ACCESSLOG=- turns it on.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
# gunicorn's error and access logs as the app's: JSON lines (LOG_FORMAT=text for a human one).
logger_class = "tracetrack.gunicorn_logging.GunicornLogger"
logconfig_dict = logging_config(level=os.environ.get("LOG_LEVEL", "INFO"), fmt=os.environ.get("LOG_FORMAT", "json"))
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    shutil.rmtree(PROMETHEUS_MULTIPROC_DIR, ignore_errors=True)
    os.makedirs(PROMETHEUS_MULTIPROC_DIR, exist_ok=True)


def child_exit(server, worker):
    # A worker that exits takes its live gauges (pool, breaker) with it.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
