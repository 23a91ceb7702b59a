"""Prometheus metrics (prometheus_client), declared once here and served at /metrics.

Under gunicorn every worker is its own process: the metrics then live in files under
PROMETHEUS_MULTIPROC_DIR (set and emptied by gunicorn_production.py before the workers
start), and /metrics adds up every worker's values. Without it (runserver, tests) the
process's own registry is served.

Who may read /metrics: loopback by default, the networks in METRICS_ALLOWED_IPS, or anyone
with `Authorization: Bearer $METRICS_TOKEN`; everyone else gets 403.
"""

import hmac
import os
import time

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from tracetrack.net import client_ip, in_networks

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP --------------------------------------------------------------------------------
REQUEST_SECONDS = Histogram(
    "tracetrack_http_request_duration_seconds", "Time to answer a request, by URL pattern and method.",
    ["route", "method"], buckets=LATENCY_BUCKETS,
)
RESPONSES = Counter(
    "tracetrack_http_responses", "Answers by URL pattern, method and status.", ["route", "method", "status"],
)
# --- Database ----------------------------------------------------------------------------
DB_QUERIES = Counter("tracetrack_db_queries", "SQL statements run.")
DB_SECONDS = Counter("tracetrack_db_query_seconds", "Time spent in SQL statements.")
DB_ERRORS = Counter(
    "tracetrack_db_errors", "Database errors: connect (a new connection failed), query (a statement failed "
    "with a database error), unavailable (answered 503 at once: the breaker is open).", ["kind"],
)
DB_POOL = Gauge(
    "tracetrack_db_pool_connections", "Pooled PostgreSQL connections: size (open), available (idle), max.",
    ["state"], multiprocess_mode="livesum",
)
DB_POOL_WAITING = Gauge(
    "tracetrack_db_pool_waiting", "Requests waiting for a pooled connection.", multiprocess_mode="livesum",
)
DB_POOL_TIMEOUTS = Counter("tracetrack_db_pool_timeouts", "Requests that found no free connection in time (busy).")
DB_BREAKER_OPEN = Gauge(
    "tracetrack_db_breaker_open", "1 while the database breaker is open (PostgreSQL unreachable).",
    multiprocess_mode="livemax",
)
DEPENDENCY_UP = Gauge(
    "tracetrack_dependency_up", "1 when the dependency answered the last readiness check (/ready/), else 0.",
    ["dependency"], multiprocess_mode="livemin",
)
# --- Cache -------------------------------------------------------------------------------
CACHE_CALLS = Counter("tracetrack_cache_calls", "Redis commands sent, by command.", ["command"])
CACHE_SECONDS = Counter("tracetrack_cache_seconds", "Time spent in Redis commands.")
CACHE_READS = Counter(
    "tracetrack_cache_reads", "Reads through the cache (the session user, API tokens) by outcome: hit, miss.",
    ["read", "outcome"],
)
CACHE_ERRORS = Counter("tracetrack_cache_errors", "Redis commands that failed (the cache then answers a miss).")
# --- The domain --------------------------------------------------------------------------
SCANS = Counter(
    "tracetrack_scans",
    "Scan submissions by kind (parent, child, bill_parent) and outcome: created, existing (a known parent), "
    "duplicate, replayed (a retry answered from its first answer), or the refusal code.",
    ["kind", "outcome"],
)
UNDOS = Counter("tracetrack_undos", "Undo requests by outcome: undone, or the refusal code.", ["outcome"])
BILLS_COMPLETED = Counter("tracetrack_bills_completed", "Bills completed.")
IMPORTS = Counter(
    "tracetrack_imports", "Imports by kind (bags, bills) and outcome (dry_run, committed, refused).",
    ["kind", "outcome"],
)
IMPORT_ROWS = Counter("tracetrack_import_rows", "Rows committed by imports.", ["kind"])
LOGINS = Counter("tracetrack_logins", "Logins (pages and token endpoint) by outcome: success, failure.", ["outcome"])
LOCKOUTS = Counter("tracetrack_lockouts", "Logins locked out after too many failures.")


def scan_outcome(status: int, body: dict) -> str:
    """The `outcome` label of a scan answer."""
    if status >= 400:
        return str(body.get("code", status))
    if body.get("duplicate"):
        return "duplicate"
    return "created" if status == 201 else "existing"


_pool_seen = 0.0


def observe_pool(pool) -> None:
    """Refresh the pool gauges of this process, at most once a second (called as requests
    end, so an idle worker costs nothing)."""
    global _pool_seen
    now = time.monotonic()
    if pool is None or now - _pool_seen < 1.0:
        return
    _pool_seen = now
    stats = pool.get_stats()
    DB_POOL.labels("size").set(stats.get("pool_size", 0))
    DB_POOL.labels("available").set(stats.get("pool_available", 0))
    DB_POOL.labels("max").set(stats.get("pool_max", 0))
    DB_POOL_WAITING.set(stats.get("requests_waiting", 0))


def _may_read(request) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    return in_networks(client_ip(request), settings.METRICS_ALLOWED_IPS)


@require_GET
def metrics_view(request):
    """GET /metrics in Prometheus' text format (see the module's docstring for who may)."""
    if not _may_read(request):
        return HttpResponseForbidden("Metrics are served to allowed addresses or with the metrics token.\n",
                                     content_type="text/plain; charset=utf-8")
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
