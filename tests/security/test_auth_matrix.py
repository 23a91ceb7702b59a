"""Every API endpoint that needs credentials, called with none and with every kind of bad
credential: always refused, with the error body, and nothing changed. (Each role's own
answers, the other area's dispatcher included, are tests/api/test_permissions.py.)"""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditLog, User
from accounts.services import token_create, user_update
from bags.models import Bag
from billing.models import Bill
from scans.models import Scan
from tests.api.test_permissions import EXPECTED, ROLES
from tests.api.test_permissions import world as world  # noqa: F401 - the fixture
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# Endpoints an anonymous caller may not use (the schema, the docs and the token endpoint are
# public; the last still refuses a bad Bearer header).
GUARDED = sorted(e for e, (_, _, statuses) in EXPECTED.items() if statuses[ROLES.index("anonymous")] == 401)
UNSAFE = [e for e in sorted(EXPECTED) if e[1] != "get"]
CREDENTIALS = ["none", "garbage token", "malformed header", "revoked token", "expired token",
               "deactivated user's token", "tampered session cookie", "token of a deleted user"]


def snapshot():
    return (Bag.objects.count(), Scan.objects.count(), Bill.objects.count(), User.objects.count(),
            ApiToken.objects.filter(revoked_at__isnull=True).count(),
            AuditLog.objects.exclude(action__startswith="auth.").exclude(action__startswith="token.").count())


def call(client, endpoint, **extra):
    name, method = endpoint
    kwargs, body, _ = EXPECTED[endpoint]
    url = reverse(f"api:{name}", kwargs=kwargs)
    if body is not None:
        return getattr(client, method)(url, body, format="json", **extra)
    return getattr(client, method)(url, **extra)


@pytest.fixture
def bad_clients(world, make_user):  # noqa: F811
    """One client per kind of bad credential."""
    dispatcher = world["dispatcher"]
    revoked, _ = token_create(user=dispatcher), None
    revoked_token, revoked_raw = revoked
    ApiToken.objects.filter(pk=revoked_token.pk).update(revoked_at=timezone.now())
    expired_token, expired_raw = token_create(user=dispatcher)
    ApiToken.objects.filter(pk=expired_token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    leaver = make_user(username="leaver")
    _, leaver_raw = token_create(user=leaver)
    user_update(actor=world["admin"], target=leaver, is_active=False)
    gone = make_user(username="gone")
    _, gone_raw = token_create(user=gone)
    User.objects.filter(pk=gone.pk).delete()
    session = Client()
    session.post("/login/", {"username": dispatcher.username, "password": PASSWORD})
    cookie = session.cookies["sessionid"].value
    tampered = APIClient()
    tampered.cookies["sessionid"] = cookie[:-4] + ("aaaa" if not cookie.endswith("aaaa") else "bbbb")

    def bearer(header):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        return client

    return {
        "none": APIClient(),
        "garbage token": bearer("Bearer tt_" + "x" * 43),
        "malformed header": bearer("Bearer"),
        "revoked token": bearer(f"Bearer {revoked_raw}"),
        "expired token": bearer(f"Bearer {expired_raw}"),
        "deactivated user's token": bearer(f"Bearer {leaver_raw}"),
        "tampered session cookie": tampered,
        "token of a deleted user": bearer(f"Bearer {gone_raw}"),
    }


def test_every_guarded_endpoint_refuses_every_bad_credential(bad_clients, audit):
    before = snapshot()
    refused, calls, wrong = 0, 0, []
    for endpoint in GUARDED:
        for kind in CREDENTIALS:
            response = call(bad_clients[kind], endpoint)
            calls += 1
            body = response.json() if response["Content-Type"].startswith("application/json") else {}
            expected_code = "not_authenticated" if kind in ("none", "tampered session cookie") else "invalid_token"
            if response.status_code == 401 and body.get("code") == expected_code and body.get("request_id"):
                refused += 1
            else:
                wrong.append((endpoint, kind, response.status_code, body))
    audit("auth matrix: unauthenticated or bad-credential calls refused (401)", refused, calls)
    assert not wrong, wrong[:10]
    assert snapshot() == before


def test_the_public_token_endpoint_still_refuses_a_bad_bearer(bad_clients, audit):
    response = call(bad_clients["garbage token"], ("auth-token", "post"))
    audit("auth matrix: unauthenticated or bad-credential calls refused (401)", int(response.status_code == 401), 1)
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


@pytest.fixture
def session_client(world):  # noqa: F811
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world["dispatcher"])
    return client


def test_a_session_without_csrf_or_from_a_foreign_origin_changes_nothing(session_client, audit):
    before = snapshot()
    refused, calls, wrong = 0, 0, []
    session_client.get("/scan/")  # the page sets the CSRF cookie; a foreign page cannot read it
    csrf = session_client.cookies["csrftoken"].value
    for endpoint in UNSAFE:
        if endpoint == ("auth-token", "post"):
            continue  # takes a password, not the session
        for kind, extra in [("no CSRF token", {}),
                            ("wrong CSRF token", {"HTTP_X_CSRFTOKEN": "x" * 32}),
                            ("foreign Origin", {"HTTP_ORIGIN": "https://evil.example", "HTTP_X_CSRFTOKEN": csrf})]:
            response = call(session_client, endpoint, **extra)
            calls += 1
            body = response.json()
            if response.status_code == 403 and body.get("code") == "permission_denied" and "CSRF" in body["detail"]:
                refused += 1
            else:
                wrong.append((endpoint, kind, response.status_code, body))
    audit("auth matrix: session writes without CSRF or from a foreign Origin refused (403)", refused, calls)
    assert not wrong, wrong[:10]
    assert snapshot() == before


def test_with_its_csrf_token_the_same_session_may_write(session_client, world):  # noqa: F811
    """The refusals above are the CSRF check's, not a broken session."""
    session_client.get("/scan/")
    token = session_client.cookies["csrftoken"].value
    response = session_client.post("/api/v1/scans/parent/", {"qr_id": "SB00002"}, format="json",
                                   HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content
