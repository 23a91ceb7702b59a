"""An API token and its user come from the cache (no query per request); a revocation, a
deactivation or a deletion takes effect on the very next request."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import token_create, token_revoke, user_delete, user_update
from tracetrack import metrics

pytestmark = pytest.mark.django_db


def bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def token_and_user_queries(client, url="/api/v1/me/") -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url).status_code
    sql = [q["sql"] for q in ctx.captured_queries]
    return status, sum(1 for s in sql if 'FROM "accounts_apitoken"' in s or 'FROM "accounts_user"' in s)


def reads(outcome: str) -> float:
    return metrics.CACHE_READS.labels("api_token", outcome)._value.get()


def test_a_token_request_reads_token_and_user_from_the_cache(dispatcher):
    token, raw = token_create(user=dispatcher, name="t")
    # Saving the user and the token left change markers (reads go to the database while
    # they live, so a read from before a change cannot be put back): as if they had expired.
    cache.delete_many([f"session-user:{dispatcher.pk}", f"api-token:{token.key_hash}"])
    client = bearer(raw)
    status, first = token_and_user_queries(client)
    assert status == 200 and first == 1  # token and user in one; its first use written: read again next
    assert token_and_user_queries(client) == (200, 1)  # read and stored
    hits = reads("hit")
    assert token_and_user_queries(client) == (200, 0)
    assert reads("hit") == hits + 1


def test_revocation_applies_at_once(dispatcher):
    token, raw = token_create(user=dispatcher, name="t")
    client = bearer(raw)
    client.get("/api/v1/me/")
    assert token_and_user_queries(client)[0] == 200
    token_revoke(actor=dispatcher, token=token)
    assert client.get("/api/v1/me/").status_code == 401


def test_deactivation_and_deletion_apply_at_once(dispatcher, admin_user):
    _, raw = token_create(user=dispatcher, name="t")
    client = bearer(raw)
    client.get("/api/v1/me/")
    client.get("/api/v1/me/")
    user_update(actor=admin_user, target=dispatcher, is_active=False)
    assert client.get("/api/v1/me/").status_code == 401
    user_update(actor=admin_user, target=dispatcher, is_active=True)
    assert client.get("/api/v1/me/").status_code == 200
    user_delete(actor=admin_user, target=dispatcher)
    assert client.get("/api/v1/me/").status_code == 401


def test_an_expired_cached_token_is_refused(dispatcher):
    token, raw = token_create(user=dispatcher, name="t")
    client = bearer(raw)
    assert client.get("/api/v1/me/").status_code == 200
    # Expiry is judged on the cached copy too; an admin's edit of the row (a save) drops it.
    token.expires_at = token.created_at
    token.save(update_fields=["expires_at"])
    assert client.get("/api/v1/me/").status_code == 401


def test_last_use_is_still_written(dispatcher):
    token, raw = token_create(user=dispatcher, name="t")
    bearer(raw).get("/api/v1/me/")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_an_area_renamed_is_not_served_from_cached_users(dispatcher, admin_user):
    from accounts.selectors import session_user, token_by_hash
    from accounts.services import _hash_token, area_save

    token, raw = token_create(user=dispatcher, name="t")
    cache.delete_many([f"session-user:{dispatcher.pk}", f"api-token:{token.key_hash}"])
    assert session_user(dispatcher.pk).dispatch_area.name == token_by_hash(_hash_token(raw)).user.dispatch_area.name
    area_save(actor=admin_user, code=dispatcher.dispatch_area.code, name="Renamed", area=dispatcher.dispatch_area)
    assert session_user(dispatcher.pk).dispatch_area.name == "Renamed"
    assert token_by_hash(_hash_token(raw)).user.dispatch_area.name == "Renamed"
