"""Django's PostgreSQL backend with a pool that fails fast (see tracetrack.db).

Set as the ENGINE of PostgreSQL databases by the settings (DATABASE_URL)."""

import select
from functools import lru_cache
from time import monotonic

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base
from psycopg.client_cursor import ClientCursorMixin
from psycopg.pq import ConnStatus
from psycopg.waiting import Ready, Wait
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

try:
    from gevent.socket import wait_read, wait_readwrite, wait_write
except ImportError:  # pragma: no cover - gevent is a requirement
    wait_read = wait_readwrite = wait_write = None

from tracetrack import metrics
from tracetrack.db import Breaker, breaker_for

WAIT_STEP = 0.5  # seconds: how often a request waiting for a connection looks at the breaker


@lru_cache(maxsize=8)
def client_binding(factory: type) -> type:
    """The connection's cursor class (Django's, or OpenTelemetry's traced subclass of it,
    which spans each statement) binding its parameters on the client, as psycopg's own
    ClientCursor does: the same mixin in front of the same base."""
    if issubclass(factory, ClientCursorMixin):
        return factory
    return type(f"ClientBinding{factory.__name__}", (ClientCursorMixin, factory), {})


def gevent_patched() -> bool:
    """Has gevent patched the select module (gunicorn's gevent worker)?"""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a requirement
        return False
    return monkey.is_module_patched("select")


def wait_gevent(gen, fileno: int):
    """psycopg's wait, as gevent's own: the greenlet sleeps on one I/O watcher of the
    connection's socket until it is ready, then the generator goes on. psycopg's choice
    under gevent (`wait_poll`: a poll object, its watchers, a timeout and a result per wait)
    costs 81–88 µs of the worker's CPU per round trip, this 70 (bench/pg_wait.py, 2026-12-07),
    on each of a child scan's five. The readiness reported is what was waited for: psycopg's
    generators read or flush without blocking, so a side that was not ready costs nothing."""
    try:
        state = next(gen)
        while True:
            if state == Wait.R:
                wait_read(fileno)
                state = gen.send(Ready.R)
            elif state == Wait.W:
                wait_write(fileno)
                state = gen.send(Ready.W)
            else:
                wait_readwrite(fileno)
                state = gen.send(Ready.RW)
    except StopIteration as done:
        return done.value


class GeventConnection(psycopg.Connection):
    """A connection whose waits are gevent's own (`wait_gevent`); a wait with a deadline
    is psycopg's. psycopg's wait also cancels the query on Ctrl-C (KeyboardInterrupt in the
    thread that waits): under gevent a signal is the hub's, and a request greenlet that
    is stopped gets GreenletExit, which psycopg's wait_poll let through as this does."""

    def wait(self, gen, interval=0.1, timeout=None):
        if timeout is not None:
            return super().wait(gen, interval=interval, timeout=timeout)
        return wait_gevent(gen, self.pgconn.socket)


def connection_is_dead(conn) -> bool:
    """Did the server drop this idle pooled connection? Free in the usual case: only a
    connection whose socket has something to read (nothing should arrive unasked — a
    termination notice or a closed socket does) is tried with an empty query."""
    if conn.closed or conn.pgconn.status != ConnStatus.OK:
        return True
    try:
        readable, _, _ = select.select([conn.pgconn.socket], [], [], 0)
    except (OSError, ValueError):
        return True
    if not readable:
        return False
    try:
        conn.execute("")  # pooled connections are in autocommit
    except Exception:  # noqa: BLE001 - any error means the connection is gone
        return True
    return False


class GuardedPool(ConnectionPool):
    """psycopg's pool, with dead connections thrown away as they are handed out and the
    breaker consulted before and while a request waits."""

    def __init__(self, *args, breaker: Breaker, probe, on_recovery, **kwargs):
        self.breaker = breaker
        self._probe = probe
        self._on_recovery = on_recovery
        super().__init__(*args, **kwargs)

    def getconn(self, timeout: float | None = None):
        total = self.timeout if timeout is None else timeout
        deadline = monotonic() + total
        while True:
            self.breaker.check(self._probe, self._on_recovery)
            left = deadline - monotonic()
            if left <= 0:
                metrics.DB_POOL_TIMEOUTS.inc()
                raise PoolTimeout(f"couldn't get a connection after {total:.2f} sec")
            try:
                conn = super().getconn(timeout=min(WAIT_STEP, left))
            except PoolTimeout:
                continue
            if connection_is_dead(conn):
                # Thrown away and replaced. Not a failure by itself: after a restart every
                # pooled connection is dead while the server is fine. Replacing it tells.
                self.putconn(conn)
                continue
            return conn

    def _connect(self, timeout: float | None = None):
        try:
            conn = super()._connect(timeout)
        except Exception as exc:
            metrics.DB_ERRORS.labels("connect").inc()
            self.breaker.failure(f"connecting failed: {exc}")
            raise
        self.breaker.success()
        return conn


class DatabaseWrapper(base.DatabaseWrapper):
    def client_binding_cursor(self):
        """A cursor (Django's wrapper: timed, traced, its errors Django's) whose parameters
        psycopg merges into the statement's text on the client, so that one `execute` may
        carry several statements (tracetrack.db.transactions.execute_last). Made from the
        connection's own cursor class, so that a traced connection spans its statements."""
        self.ensure_connection()
        with self.wrap_database_errors:
            return self._prepare_cursor(client_binding(self.connection.cursor_factory)(self.connection))

    def get_new_connection(self, conn_params):
        try:
            return super().get_new_connection(conn_params)
        except PoolClosed:  # the pool was restarted (PostgreSQL came back) while we waited
            return super().get_new_connection(conn_params)

    @property
    def pool(self):
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if self.alias == base.NO_DB_ALIAS or not pool_options:
            return None
        if self.alias not in self._connection_pools:
            if self.settings_dict.get("CONN_MAX_AGE", 0) != 0:
                raise ImproperlyConfigured("Pooling doesn't support persistent connections.")
            connect_kwargs = self.get_connection_params()
            connect_kwargs["autocommit"] = True  # as Django's: it sets the mode itself later
            pool = GuardedPool(
                kwargs=connect_kwargs,
                # Under gunicorn's gevent worker, waits on the socket are gevent's own.
                connection_class=GeventConnection if gevent_patched() else psycopg.Connection,
                open=False,
                configure=self._configure_connection,
                breaker=breaker_for(self.alias),
                probe=self._probe,
                on_recovery=self._restart_pool,
                **({} if pool_options is True else pool_options),
            )
            self._connection_pools.setdefault(self.alias, pool)
        return self._connection_pools[self.alias]

    def _probe(self) -> None:
        """Can a new connection be made now? (The breaker's half-open test.)"""
        params = self.get_connection_params()
        self.Database.connect(**params).close()

    def _restart_pool(self) -> None:
        """PostgreSQL is back: a fresh pool connects at once, instead of the old one's
        reconnection attempts, which back off to minutes apart during a long outage."""
        old = self._connection_pools.pop(self.alias, None)
        if old is not None:
            old.close(timeout=0)  # connections still in use are closed as they come back
