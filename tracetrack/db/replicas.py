"""Read replicas (DATABASE_REPLICA_URLS): the database router and what it needs to know.

A read goes to a replica only when all of these hold, else to the primary:

* the code serving the request said its reads may be a second stale (`stale_reads()`:
  API lists and lookups, the pages' lists, the dashboard, exports, admin changelists) and
  is not inside a transaction on the primary;
* the model is one of the data the replicas serve (bags, scans, bills, counters, areas,
  the audit log) — never sessions, users, tokens, lockouts, idempotency records or jobs,
  whose freshness decides who is signed in and what a retry gets;
* the signed-in user has not written in the last READ_YOUR_WRITES_SECONDS (a marker in the
  cache, set by every unsafe request of theirs, shared by every app server through Redis);
* the replica answered its last check (at most every REPLICA_CHECK_SECONDS per process),
  is in recovery (a streaming replica) and lags at most REPLICA_MAX_LAG seconds, and its
  breaker is closed.

Reads that feed the cache (tracetrack.caching) are always made on the primary: a stale
value must not be stored under the current data generation.
"""

import logging
import random
import time
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections

from tracetrack import request_context

logger = logging.getLogger("tracetrack.db")

_stale_ok: ContextVar[bool] = ContextVar("tracetrack_stale_reads_ok", default=False)

ROUTED_APPS = frozenset({"bags", "scans", "billing", "stats"})
ROUTED_MODELS = frozenset({("accounts", "dispatcharea"), ("accounts", "auditlog")})

# How far behind the replica is, in seconds: 0 when it has replayed all it received (an
# idle primary sends nothing, so the last replay's age would not mean lag), NULL when it is
# not a replica at all.
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN NULL "
    "WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@contextmanager
def stale_reads():
    """Reads in this block may come from a replica (see the module docstring)."""
    token = _stale_ok.set(True)
    try:
        yield
    finally:
        _stale_ok.reset(token)


@contextmanager
def primary_reads():
    """Reads in this block come from the primary."""
    token = _stale_ok.set(False)
    try:
        yield
    finally:
        _stale_ok.reset(token)


def stale_ok(view):
    """A page whose GET reads may be a second stale."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(request, *args, **kwargs)
        with stale_reads():
            return view(request, *args, **kwargs)

    return wrapped


def _ryw_key(user_pk) -> str:
    return f"read-your-writes:{user_pk}"


def note_write(user) -> None:
    """`user` just wrote: their reads go to the primary for READ_YOUR_WRITES_SECONDS."""
    if settings.REPLICAS and user is not None and getattr(user, "is_authenticated", False):
        cache.set(_ryw_key(user.pk), 1, settings.READ_YOUR_WRITES_SECONDS)


def _recently_wrote(user) -> bool:
    return user is not None and cache.get(_ryw_key(user.pk)) is not None


_health: dict[str, tuple[float, bool, float | None]] = {}


def replica_health(alias: str) -> tuple[bool, float | None]:
    """(usable, lag in seconds) of a replica, checked at most every REPLICA_CHECK_SECONDS."""
    now = time.monotonic()
    seen = _health.get(alias)
    if seen is not None and now - seen[0] < settings.REPLICA_CHECK_SECONDS:
        return seen[1], seen[2]
    usable, lag = False, None
    # Through the replica's pool and breaker: refused at once while the breaker is open, and
    # the breaker's probe when it is due, so a replica that comes back is used again.
    try:
        with connections[alias].cursor() as cursor:
            cursor.execute(LAG_SQL)
            value = cursor.fetchone()[0]
        lag = None if value is None else float(value)
        usable = lag is not None and lag <= settings.REPLICA_MAX_LAG
    except DatabaseError as exc:
        if seen is None or seen[1]:
            logger.warning("replica %s does not answer: %s", alias, exc)
        connections[alias].close()
    if seen is None or seen[1] != usable:
        logger.info("replica %s %s (lag %s s)", alias, "in use" if usable else "skipped", lag)
    _health[alias] = (now, usable, lag)
    return usable, lag


def read_alias() -> str:
    """The database a stale-tolerant read of the routed data should use now."""
    if not settings.REPLICAS or not _stale_ok.get() or connections["default"].in_atomic_block:
        return "default"
    if _recently_wrote(request_context.current().user):
        return "default"
    usable = [alias for alias in settings.REPLICAS if replica_health(alias)[0]]
    return random.choice(usable) if usable else "default"


class ReplicaRouter:
    """DATABASE_ROUTERS when replicas are configured."""

    def db_for_read(self, model, **hints):
        meta = model._meta
        if meta.app_label not in ROUTED_APPS and (meta.app_label, meta.model_name) not in ROUTED_MODELS:
            return None
        return read_alias()

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the replicas hold the same rows

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"
