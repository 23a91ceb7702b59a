"""Exact query-count baselines (NetBox's `query_counts` shape): each app keeps the number of
SQL statements of its API endpoints, admin changelists and pages in
tests/<app>/query_counts.json, per database vendor; a test compares every count with it,
so that any change — fewer statements as well as more — shows in review.

Record or refresh the baselines after an intended change:
    UPDATE_QUERY_COUNTS=1 make test ARGS=tests/test_query_count_baselines.py
(on SQLite, and with DATABASE_URL and REDIS_URL on PostgreSQL and Redis: CI's two set-ups)."""

import json
import os
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

TESTS = Path(__file__).resolve().parent
UPDATE = bool(os.environ.get("UPDATE_QUERY_COUNTS"))


def baseline_path(app: str) -> Path:
    return TESTS / app / "query_counts.json"


def setup() -> str:
    """The baselines are kept per set-up: the database, and whether Redis holds the cache and
    the sessions (a session is then read from the cache, not the database)."""
    return connection.vendor + ("+redis" if settings.REDIS_URL else "")


def load(app: str) -> dict:
    path = baseline_path(app)
    return json.loads(path.read_text()) if path.exists() else {}


def record(app: str, key: str, count: int) -> None:
    data = load(app)
    data.setdefault(key, {})[setup()] = count
    baseline_path(app).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


@contextmanager
def expect_query_count(app: str, key: str):
    """The block must run exactly the statements tests/<app>/query_counts.json records for
    `key` on this database."""
    with CaptureQueriesContext(connection) as context:
        yield context
    actual = len(context.captured_queries)
    if UPDATE:
        record(app, key, actual)
        return
    expected = load(app).get(key, {}).get(setup())
    sample = "\n".join(f"  {n}. {query['sql'][:200]}" for n, query in enumerate(context.captured_queries, 1))
    assert expected is not None, (f"no query-count baseline for {app}/{key} on {setup()}: "
                                  f"record it with UPDATE_QUERY_COUNTS=1\n{sample}")
    assert actual == expected, (f"{app}/{key}: {actual} statements, the baseline says {expected} on "
                                f"{setup()}; if intended, record it with UPDATE_QUERY_COUNTS=1\n{sample}")
