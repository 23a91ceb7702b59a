"""Read-only tokens, signed requests (API.md, Authentication) and what a password change
ends: the user's tokens and their other sessions."""

import json
import time

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiToken, AuditLog
from accounts.services import signature_of, user_update
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def obtain(username="disp_lucknow", **extra):
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD, **extra},
                                format="json")
    assert response.status_code == 201, response.content
    return response.json()


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def signed(client, method, path, secret, body=b"", timestamp=None, signature=None):
    timestamp = str(int(time.time())) if timestamp is None else timestamp
    signature = signature or signature_of(secret, timestamp=timestamp, method=method, path=path, body=body)
    return getattr(client, method.lower())(path, data=body, content_type="application/json",
                                           HTTP_X_TT_TIMESTAMP=timestamp, HTTP_X_TT_SIGNATURE=signature)


# --- read-only tokens ----------------------------------------------------------------------------


def test_a_read_only_token_reads_and_is_refused_every_unsafe_method(dispatcher):
    body = obtain(read_only=True)
    assert "signing_secret" not in body
    client = bearer(body["token"])
    assert client.get("/api/v1/me/").status_code == 200
    assert client.get("/api/v1/bags/").status_code == 200
    for method, path, payload in [
        ("post", "/api/v1/scans/parent/", {"qr_id": "SB00001"}),
        ("post", "/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CHILD-1"}),
        ("post", "/api/v1/scans/undo/", {}),
        ("post", "/api/v1/bills/", {"bill_id": "B-1"}),
        ("delete", "/api/v1/auth/token/", None),
    ]:
        response = getattr(client, method)(path, payload, format="json")
        assert response.status_code == 403, (method, path, response.content)
        assert response.json()["code"] == "permission_denied"
        assert "read-only" in response.json()["detail"]
    assert not AuditLog.objects.filter(action__startswith="scan").exists()
    assert ApiToken.objects.get(pk=body["token_id"]).revoked_at is None


def test_a_full_token_still_writes(dispatcher):
    client = bearer(obtain()["token"])
    assert client.post("/api/v1/scans/parent/", {"qr_id": "SB00001"}, format="json").status_code == 201


# --- signed requests -----------------------------------------------------------------------------


@pytest.fixture
def signing(dispatcher):
    body = obtain(require_signature=True, name="integrator")
    assert len(body["signing_secret"]) == 64
    token = ApiToken.objects.get(pk=body["token_id"])
    assert token.require_signature and token.signing_secret == body["signing_secret"]
    return bearer(body["token"]), body["signing_secret"]


def test_an_unsigned_request_of_a_signing_token_is_refused(signing):
    client, _ = signing
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["code"] == "signature_required"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_signed_reads_and_writes_pass(signing):
    client, secret = signing
    assert signed(client, "GET", "/api/v1/me/", secret).status_code == 200
    assert signed(client, "GET", "/api/v1/bags/?page_size=5&type=parent", secret).status_code == 200
    body = json.dumps({"qr_id": "SB00002", "scan_id": "4b1f0c3e-0000-4000-8000-000000000001"}).encode()
    response = signed(client, "POST", "/api/v1/scans/parent/", secret, body=body)
    assert response.status_code == 201, response.content


def test_a_signature_is_good_once(signing):
    client, secret = signing
    timestamp = str(int(time.time()))
    first = signed(client, "GET", "/api/v1/me/", secret, timestamp=timestamp)
    again = signed(client, "GET", "/api/v1/me/", secret, timestamp=timestamp)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["code"] == "invalid_signature"


@pytest.mark.parametrize("case", ["wrong secret", "other path", "other body", "other method", "old", "future",
                                  "no version", "garbage timestamp", "timestamp only", "signature only"])
def test_bad_signatures_are_refused(signing, case):
    client, secret = signing
    now = int(time.time())
    body = json.dumps({"qr_id": "SB00003"}).encode()
    sign = dict(timestamp=str(now), method="POST", path="/api/v1/scans/parent/", body=body)
    headers = {}
    if case == "wrong secret":
        headers["signature"] = signature_of("0" * 64, **sign)
    elif case == "other path":
        headers["signature"] = signature_of(secret, **{**sign, "path": "/api/v1/scans/child/"})
    elif case == "other body":
        headers["signature"] = signature_of(secret, **{**sign, "body": b"{}"})
    elif case == "other method":
        headers["signature"] = signature_of(secret, **{**sign, "method": "PUT"})
    elif case in ("old", "future"):
        stamp = str(now - 301 if case == "old" else now + 301)
        headers = {"timestamp": stamp, "signature": signature_of(secret, **{**sign, "timestamp": stamp})}
    elif case == "no version":
        headers["signature"] = signature_of(secret, **sign).removeprefix("v1=")
    elif case == "garbage timestamp":
        headers = {"timestamp": "12ab", "signature": signature_of(secret, **{**sign, "timestamp": "12ab"})}
    if case == "timestamp only":
        response = client.post("/api/v1/scans/parent/", body, content_type="application/json",
                               HTTP_X_TT_TIMESTAMP=str(now))
    elif case == "signature only":
        response = client.post("/api/v1/scans/parent/", body, content_type="application/json",
                               HTTP_X_TT_SIGNATURE=signature_of(secret, **sign))
    else:
        response = signed(client, "POST", "/api/v1/scans/parent/", secret, body=body, **headers)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "invalid_signature"
    assert not AuditLog.objects.filter(action__startswith="scan").exists()


def test_within_the_window_a_signature_passes(signing):
    client, secret = signing
    stamp = str(int(time.time()) - 290)
    assert signed(client, "GET", "/api/v1/me/", secret, timestamp=stamp).status_code == 200


def test_the_signing_secret_is_shown_once(signing, admin_client):
    client, secret = signing
    assert secret not in signed(client, "GET", "/api/v1/me/", secret).content.decode()
    token = ApiToken.objects.get(signing_secret=secret)
    page = admin_client.get(f"/admin/accounts/apitoken/{token.pk}/change/").content.decode()
    assert secret not in page
    assert "signed requests" in page.lower()


# --- the admin's token list ----------------------------------------------------------------------


@pytest.fixture
def admin_client(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_lists_scopes_signing_last_use_and_expiry_and_revokes(dispatcher, admin_client):
    read_only = obtain(read_only=True, name="reader")
    signing_token = obtain(require_signature=True, name="signer")
    page = admin_client.get("/admin/accounts/apitoken/").content.decode().lower()
    for column in ("scopes", "signed requests", "last used at", "expires at", "reader", "signer"):
        assert column in page, column
    assert "read, write" in page
    response = admin_client.post("/admin/accounts/apitoken/", {
        "action": "revoke", "_selected_action": [read_only["token_id"], signing_token["token_id"]]})
    assert response.status_code == 302
    assert bearer(read_only["token"]).get("/api/v1/me/").json()["code"] == "invalid_token"


# --- a password change ends tokens and other sessions ----------------------------------------------


def test_a_password_change_revokes_every_token_and_ends_other_sessions(dispatcher, admin_user):
    tokens = [obtain()["token"], obtain(read_only=True)["token"]]
    phone = Client()
    assert phone.post("/login/", {"username": "disp_lucknow", "password": PASSWORD}).status_code == 302
    assert phone.get("/scan/").status_code == 200
    for token in tokens:
        assert bearer(token).get("/api/v1/me/").status_code == 200

    user_update(actor=admin_user, target=dispatcher, password="a new Passw0rd!")

    for token in tokens:
        assert bearer(token).get("/api/v1/me/").json()["code"] == "invalid_token"
    response = phone.get("/scan/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login/")
    assert AuditLog.objects.filter(action="token.revoke_all", entity_id="disp_lucknow").exists()
    # The new password works and makes new tokens.
    fresh = APIClient().post("/api/v1/auth/token/", {"username": "disp_lucknow", "password": "a new Passw0rd!"},
                             format="json")
    assert fresh.status_code == 201


def test_a_password_changed_through_the_admin_page_ends_the_users_sessions(dispatcher, admin_client):
    token = obtain()["token"]
    phone = Client()
    phone.post("/login/", {"username": "disp_lucknow", "password": PASSWORD})
    response = admin_client.post(f"/admin/accounts/user/{dispatcher.pk}/password/",
                                 {"password1": "a new Passw0rd!", "password2": "a new Passw0rd!",
                                  "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert bearer(token).get("/api/v1/me/").json()["code"] == "invalid_token"
    assert phone.get("/scan/").status_code == 302


def test_changing_your_own_password_keeps_your_session_and_ends_the_others(admin_user):
    mine, other = Client(), Client()
    for client in (mine, other):
        assert client.post("/admin/login/", {"username": admin_user.username, "password": PASSWORD}).status_code == 302
    token = obtain(username=admin_user.username)["token"]
    response = mine.post("/admin/password_change/", {"old_password": PASSWORD, "new_password1": "a new Passw0rd!",
                                                     "new_password2": "a new Passw0rd!"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert mine.get("/admin/").status_code == 200
    assert other.get("/admin/").status_code == 302
    assert bearer(token).get("/api/v1/me/").json()["code"] == "invalid_token"


def test_saving_a_user_without_a_new_password_keeps_their_tokens(dispatcher, admin_user):
    token = obtain()["token"]
    user_update(actor=admin_user, target=dispatcher, email="d@example.com")
    assert bearer(token).get("/api/v1/me/").status_code == 200


def test_with_the_cache_away_a_signature_passes_within_its_window(signing, monkeypatch):
    """Redis down: every signed client is not refused; the 300 s window bounds a replay."""
    import accounts.services

    client, secret = signing
    monkeypatch.setattr(accounts.services, "signature_seen", lambda *args: None)
    stamp = str(int(time.time()))
    assert signed(client, "GET", "/api/v1/me/", secret, timestamp=stamp).status_code == 200
    assert signed(client, "GET", "/api/v1/me/", secret, timestamp=stamp).status_code == 200


def test_json_answers_carry_no_policy_and_pages_do(signing, client, dispatcher):
    api, secret = signing
    assert "Content-Security-Policy" not in signed(api, "GET", "/api/v1/me/", secret)
    assert "script-src 'self'" in client.get("/login/")["Content-Security-Policy"]
    assert "camera=(self)" in client.get("/login/")["Permissions-Policy"]
