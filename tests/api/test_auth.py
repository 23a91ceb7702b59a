from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.services import user_update
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def obtain(username="disp_lucknow", password=PASSWORD, **extra):
    return APIClient().post("/api/v1/auth/token/", {"username": username, "password": password, **extra}, format="json")


def bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_obtain_use_and_revoke_a_token(dispatcher):
    response = obtain(name="scanner 7")
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "token_id", "expires_at"}
    token = ApiToken.objects.get(pk=body["token_id"])
    assert token.name == "scanner 7" and token.key_hash != body["token"]
    assert body["token"] not in str(list(ApiToken.objects.values_list()))

    me = bearer(body["token"]).get("/api/v1/me/")
    assert me.status_code == 200
    assert me.json() == {"username": "disp_lucknow", "role": "dispatcher", "dispatch_area": "lucknow", "email": ""}
    token.refresh_from_db()
    assert token.last_used_at is not None

    assert bearer(body["token"]).delete("/api/v1/auth/token/").status_code == 204
    after = bearer(body["token"]).get("/api/v1/me/")
    assert after.status_code == 401 and after.json()["code"] == "invalid_token"


def test_token_expires_after_ttl(dispatcher, settings):
    settings.TOKEN_TTL_DAYS = 2
    token = obtain().json()["token"]
    with time_machine.travel(timezone.now() + timedelta(days=2, seconds=5)):
        response = bearer(token).get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_token_of_deactivated_user_is_invalid(dispatcher, admin_user):
    token = obtain().json()["token"]
    user_update(actor=admin_user, target=dispatcher, is_active=False)
    assert bearer(token).get("/api/v1/me/").json()["code"] == "invalid_token"


def test_wrong_credentials(dispatcher):
    response = obtain(password="wrong")
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
    assert obtain(username="ghost").json()["code"] == "invalid_credentials"


def test_missing_fields_are_a_400(dispatcher):
    response = APIClient().post("/api/v1/auth/token/", {"username": "x"}, format="json")
    assert response.status_code == 400 and "password" in response.json()["errors"]


def test_lockout_after_five_failures_per_username_and_ip(dispatcher):
    codes = [obtain(password="wrong").status_code for _ in range(5)]
    assert codes[:4] == [401] * 4
    locked = obtain()  # even the right password
    assert locked.status_code == 429 and locked.json()["code"] == "locked_out"
    assert int(locked["Retry-After"]) == 30 * 60
    other_ip = APIClient(REMOTE_ADDR="10.9.9.9").post(
        "/api/v1/auth/token/", {"username": "disp_lucknow", "password": PASSWORD}, format="json"
    )
    assert other_ip.status_code == 201


def test_token_endpoint_is_rate_limited_per_ip(dispatcher, settings, one_window):
    settings.RATE_LIMIT_LOGIN = "3/m"
    statuses = [obtain().status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    limited = obtain()
    assert limited.json()["code"] == "rate_limited" and 1 <= int(limited["Retry-After"]) <= 60


def test_no_credentials_is_401_with_www_authenticate():
    response = APIClient().get("/api/v1/bags/")
    assert response.status_code == 401
    assert response.json() == {"code": "not_authenticated", "detail": "Authentication credentials were not provided.",
                               "request_id": response["X-Request-ID"]}
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer tt_unknown", "Bearer a b", "Bearer"])
def test_bad_bearer_headers_are_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401 and response.json()["code"] == "invalid_token"


def test_session_needs_csrf_on_unsafe_methods(dispatcher):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(dispatcher)
    assert client.get("/api/v1/me/").status_code == 200
    refused = client.post("/api/v1/scans/parent/", {"qr_id": "SB00001"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    client.get("/admin/login/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    accepted = client.post("/api/v1/scans/parent/", {"qr_id": "SB00001"}, format="json", HTTP_X_CSRFTOKEN=token)
    assert accepted.status_code == 201


def test_revoke_needs_a_bearer_token(api, dispatcher):
    response = api(dispatcher).delete("/api/v1/auth/token/")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
