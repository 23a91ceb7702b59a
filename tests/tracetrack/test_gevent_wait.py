"""PostgreSQL waits under gevent (tracetrack.db.postgresql.base.GeventConnection): queries,
errors, large answers and large statements, a server that drops the connection, and
greenlets that wait side by side. Run in a child process patched by gevent, as gunicorn's
gevent worker is (this test process is not)."""

import copy
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent('''
    from gevent import monkey

    monkey.patch_all()

    import sys
    import time

    import gevent
    import psycopg

    sys.path.insert(0, sys.argv[2])
    from tracetrack.db.postgresql import base

    conninfo = sys.argv[1]
    assert base.gevent_patched()
    waits = []
    real = base.wait_gevent

    def counted(gen, fileno):
        waits.append(fileno)
        return real(gen, fileno)

    base.wait_gevent = counted

    with base.GeventConnection.connect(conninfo) as conn:
        # A transaction, its statements and its commit.
        with conn.transaction():
            assert conn.execute("SELECT %s::int + 1", (41,)).fetchone() == (42,)
        assert waits, "the waits were gevent's"
        # An error: raised, and the connection goes on after it.
        try:
            conn.execute("SELEC 1")
        except psycopg.errors.SyntaxError:
            conn.rollback()
        else:
            raise AssertionError("no error")
        assert conn.execute("SELECT 1").fetchone() == (1,)
        # An answer in many reads, a statement in many writes.
        rows = conn.execute("SELECT g, repeat('x', 100) FROM generate_series(1, 50000) g").fetchall()
        assert len(rows) == 50000 and rows[-1][0] == 50000
        big = "y" * 5_000_000
        assert conn.execute("SELECT length(%s)", (big,)).fetchone() == (5_000_000,)
        conn.commit()

    # Greenlets wait side by side: two sleeps of 0.5 s take about 0.5 s, not 1 s.
    def sleep():
        with base.GeventConnection.connect(conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_sleep(0.5)")

    start = time.monotonic()
    gevent.joinall([gevent.spawn(sleep), gevent.spawn(sleep)], raise_error=True)
    took = time.monotonic() - start
    assert took < 0.9, took

    # The server drops the connection: an error at once, not a wait without end.
    with base.GeventConnection.connect(conninfo, autocommit=True) as victim, \\
            psycopg.Connection.connect(conninfo, autocommit=True) as killer:
        pid = victim.info.backend_pid
        with gevent.Timeout(10):
            waiting = gevent.spawn(victim.execute, "SELECT pg_sleep(30)")
            gevent.sleep(0.3)
            killer.execute("SELECT pg_terminate_backend(%s)", (pid,))
            waiting.join()
        assert isinstance(waiting.exception, psycopg.OperationalError), waiting.exception
    print("ok")
''')


def _conninfo() -> str:
    params = connection.get_connection_params()
    keys = ("host", "port", "user", "password", "dbname")
    return " ".join(f"{key}={params[key]}" for key in keys if params.get(key))


def test_waits_under_gevent_are_gevents_and_behave_as_psycopgs():
    done = subprocess.run([sys.executable, "-c", CHILD, _conninfo(), str(ROOT)], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")


@pytest.mark.parametrize("patched", [True, False])
def test_the_pool_takes_gevents_waits_only_where_gevent_patched(monkeypatch, patched):
    import psycopg

    from tracetrack.db.postgresql import base

    if not connection.settings_dict["OPTIONS"].get("pool"):
        pytest.skip("DB_POOL=0: no pool")
    monkeypatch.setattr(base, "gevent_patched", lambda: patched)
    alias = f"gevent-wait-{patched}"
    wrapper = base.DatabaseWrapper(copy.deepcopy(connection.settings_dict), alias=alias)
    try:
        assert wrapper.pool.connection_class is (base.GeventConnection if patched else psycopg.Connection)
    finally:
        wrapper.close_pool()
