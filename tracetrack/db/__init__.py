"""The database, failing fast: a breaker that opens when PostgreSQL cannot be reached, and a
pool that never hands out a connection that died with the server.

PostgreSQL down used to mean every request waited out the pool's 10 s timeout, and after
a restart the pool handed out connections that had died with the server (500s). Now:

* A connection is checked as the pool hands it out — for free when nothing came from the
  server since it was last used (a poll of its socket), with an empty query when something
  did (a termination notice, a closed socket). A dead one is thrown away and the next one
  taken; a request never gets it.
* The breaker counts consecutive failures to reach the server (new connections refused or
  timing out). After DB_BREAKER_FAILURES of them it opens: requests
  answer 503 `unavailable` with Retry-After at once, and a request already waiting for a
  connection gives up within half a second. After DB_BREAKER_OPEN_SECONDS one request
  probes with a direct connection (DB_CONNECT_TIMEOUT); when that works the breaker closes
  and the pool starts afresh, so service is back within a couple of seconds of
  PostgreSQL's return, without the pool's own reconnection back-off.

One breaker per database alias and process; its state is exported as the
`tracetrack_db_breaker_open` gauge.
"""

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from django.conf import settings
from psycopg_pool import PoolTimeout

from tracetrack import metrics

logger = logging.getLogger("tracetrack.db")

# SQLSTATEs of errors that mean "the server went away", not "this statement failed".
_CONNECTION_SQLSTATES = ("57P01", "57P02", "57P03")


class DatabaseUnavailable(psycopg.OperationalError):
    """PostgreSQL cannot be reached now (the breaker is open): answer 503 and retry later."""


def is_connection_error(exc: BaseException | None) -> bool:
    """Is `exc` (a Django database error, or the driver's) the server going away or not
    answering — rather than a statement that failed?"""
    seen = 0
    while exc is not None and seen < 4:
        if isinstance(exc, DatabaseUnavailable):
            return True
        if isinstance(exc, PoolTimeout):  # every connection busy: overload, not an outage
            return False
        if isinstance(exc, psycopg.OperationalError):
            state = getattr(exc, "sqlstate", None)
            return state is None or state.startswith("08") or state in _CONNECTION_SQLSTATES
        exc, seen = exc.__cause__, seen + 1
    return False


class Breaker:
    """Opens after `failures` consecutive failures to reach the server; half-opens after
    `open_seconds`, when the next caller probes."""

    def __init__(self, name: str):
        self.name = name
        self._lock = threading.Lock()
        self._probing = threading.Lock()
        self._failures = 0
        self._open_until = 0.0  # 0: closed

    @property
    def is_open(self) -> bool:
        return self._open_until != 0.0

    def check(self, probe: Callable[[], None], on_recovery: Callable[[], None]) -> None:
        """Raise DatabaseUnavailable while open. When the open period is over, one caller
        probes (the others are refused meanwhile): success closes the breaker."""
        if not self._open_until:
            return
        if time.monotonic() < self._open_until or not self._probing.acquire(blocking=False):
            metrics.DB_ERRORS.labels("unavailable").inc()
            raise DatabaseUnavailable("the database is unreachable; try again in a moment")
        try:
            if not self._open_until:  # another caller's probe closed it meanwhile
                return
            try:
                probe()
            except Exception as exc:  # any failure to connect keeps it open
                self._open(f"probe failed: {exc}")
                metrics.DB_ERRORS.labels("unavailable").inc()
                raise DatabaseUnavailable("the database is unreachable; try again in a moment") from exc
            self._close()
            on_recovery()
        finally:
            self._probing.release()

    def failure(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            if self._failures >= settings.DB_BREAKER_FAILURES:
                self._open(reason)

    def success(self) -> None:
        if self._failures or self._open_until:
            with self._lock:
                self._failures = 0
                if self._open_until:
                    self._close()

    def _open(self, reason: str) -> None:
        if not self._open_until:
            logger.warning("database %s unreachable, answering 503 for now: %s", self.name, reason)
        self._open_until = time.monotonic() + settings.DB_BREAKER_OPEN_SECONDS
        metrics.DB_BREAKER_OPEN.set(1)

    def _close(self) -> None:
        self._open_until = 0.0
        self._failures = 0
        metrics.DB_BREAKER_OPEN.set(0)
        logger.warning("database %s reachable again", self.name)


_breakers: dict[str, Breaker] = {}
_breakers_lock = threading.Lock()


def breaker_for(alias: str) -> Breaker:
    with _breakers_lock:
        return _breakers.setdefault(alias, Breaker(alias))
