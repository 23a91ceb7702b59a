"""The signed-in user of a session comes from the cache (no query per request), and any
change to the user takes effect on their very next request."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from accounts.selectors import session_user, session_user_changed
from accounts.services import user_update

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=["django.contrib.sessions.backends.cached_db", "accounts.sessions"])
def session_engine(request, settings):
    """Every rule here holds with Django's cached_db sessions and with ours, which read the
    session's user in the same round trip (accounts.sessions)."""
    settings.SESSION_ENGINE = request.param
    return request.param

USER_BY_ID = ('FROM "accounts_user"', 'WHERE "accounts_user"."id" =')


def user_queries(client, url: str) -> tuple[int, int]:
    """(status, statements that load a user by id) of one GET."""
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url).status_code
    return status, sum(1 for q in ctx.captured_queries if all(part in q["sql"] for part in USER_BY_ID))


def test_a_session_request_reads_the_user_from_the_cache(client, dispatcher):
    client.force_login(dispatcher)
    # The login saved the user (last_login), which left the change marker: without it, the
    # next request loads the user once and stores it.
    assert cache.get(f"session-user:{dispatcher.pk}") == "changed"
    cache.delete(f"session-user:{dispatcher.pk}")
    assert user_queries(client, "/api/v1/stats/") == (200, 1)  # loads and stores it
    assert user_queries(client, "/api/v1/stats/") == (200, 0)


def test_deactivation_ends_a_session_at_once(client, dispatcher, admin_user):
    client.force_login(dispatcher)
    cache.delete(f"session-user:{dispatcher.pk}")
    assert user_queries(client, "/api/v1/stats/") == (200, 1)
    assert user_queries(client, "/api/v1/stats/") == (200, 0)
    user_update(actor=admin_user, target=dispatcher, is_active=False)
    assert client.get("/api/v1/stats/").status_code in (401, 403)


def test_role_and_password_changes_apply_at_once(client, dispatcher, admin_user):
    client.force_login(dispatcher)
    cache.delete(f"session-user:{dispatcher.pk}")
    client.get("/api/v1/me/")
    assert client.get("/api/v1/stats/").json()["bills"] is None  # a dispatcher sees no bills
    user_update(actor=admin_user, target=dispatcher, role=Role.BILLER)
    assert client.get("/api/v1/me/").json()["role"] == Role.BILLER
    assert client.get("/api/v1/stats/").json()["bills"] is not None
    user_update(actor=admin_user, target=dispatcher, password="An0ther-long-passphrase!")
    assert client.get("/api/v1/stats/").status_code in (401, 403)  # the session's hash no longer matches


def test_a_read_during_a_change_does_not_put_the_old_row_back(dispatcher):
    """While the change marker lives, reads go to the database and store nothing: a request
    that read the row before the change committed cannot cache it after."""
    key = f"session-user:{dispatcher.pk}"
    session_user_changed(dispatcher.pk)
    assert session_user(dispatcher.pk) == dispatcher
    assert cache.get(key) == "changed"
    cache.delete(key)
    assert session_user(dispatcher.pk) == dispatcher and cache.get(key) == dispatcher


def test_a_deleted_user_has_no_session_user(dispatcher, admin_user):
    from accounts.services import user_delete

    pk = dispatcher.pk
    assert session_user(pk) == dispatcher
    user_delete(actor=admin_user, target=dispatcher)
    assert session_user(pk) is None


class CacheReads:
    """Counts the cache's `get` and `get_many` calls, and the keys each asked for."""

    def __init__(self, monkeypatch):
        from django.core.cache import caches

        backend = type(caches["default"])
        self.calls: list[tuple[str, tuple]] = []
        self.depth = 0  # the local-memory cache's get_many calls its get: count the outer call
        for name in ("get", "get_many"):
            original = getattr(backend, name)

            def spy(this, keys, *args, _original=original, _name=name, **kwargs):
                if not self.depth:
                    self.calls.append((_name, tuple(keys) if _name == "get_many" else (keys,)))
                self.depth += 1
                try:
                    return _original(this, keys, *args, **kwargs)
                finally:
                    self.depth -= 1

            monkeypatch.setattr(backend, name, spy)

    def of(self, fragment: str) -> list[tuple[str, tuple]]:
        return [call for call in self.calls if any(fragment in key for key in call[1])]


def test_our_sessions_read_the_session_and_its_user_in_one_round_trip(client, dispatcher, session_engine,
                                                                     monkeypatch):
    client.force_login(dispatcher)
    cache.delete(f"session-user:{dispatcher.pk}")
    assert client.get("/api/v1/me/").json()["username"] == dispatcher.username  # stores the user
    reads = CacheReads(monkeypatch)
    assert client.get("/api/v1/me/").json()["username"] == dispatcher.username
    user_reads = reads.of(f"session-user:{dispatcher.pk}")
    if session_engine == "accounts.sessions":
        assert [name for name, _keys in user_reads] == ["get_many"]
        assert len(user_reads[0][1]) == 2  # the session's entry and the user's, together
    else:
        assert [name for name, _keys in user_reads] == ["get"]  # Django's: a round trip of its own


def test_a_user_read_ahead_with_the_session_still_sees_a_change(client, dispatcher, admin_user):
    # The entry read with the session is the change marker: the user is read from the
    # database, as a request without the read-ahead would.
    client.force_login(dispatcher)
    cache.delete(f"session-user:{dispatcher.pk}")
    client.get("/api/v1/me/")
    client.get("/api/v1/me/")
    user_update(actor=admin_user, target=dispatcher, role=Role.BILLER)
    assert client.get("/api/v1/me/").json()["role"] == Role.BILLER
    user_update(actor=admin_user, target=dispatcher, is_active=False)
    assert client.get("/api/v1/me/").status_code in (401, 403)


def test_nothing_is_read_ahead_outside_a_request(dispatcher):
    from tracetrack import request_context

    request_context.prefetch({f"session-user:{dispatcher.pk}": "stale"})
    assert request_context.prefetched(f"session-user:{dispatcher.pk}") is request_context.NOTHING
    assert session_user(dispatcher.pk) == dispatcher
