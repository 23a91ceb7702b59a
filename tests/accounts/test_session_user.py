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
