"""Issue 18's API defects: every error is `{code, detail}`, and the browsable API's forms
show what each action takes (each failed before its fix)."""

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def test_a_body_over_the_upload_limit_is_a_json_400(dispatcher, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.post("/api/v1/scans/parent/", {"qr_id": "SB00001", "pad": "x" * 2000}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "over the limit of 1,000 bytes" in body["detail"] and body["request_id"]


@override_settings(DEBUG=True)
def test_an_unknown_api_url_under_debug_is_the_json_404(dispatcher):
    client = APIClient()
    client.force_authenticate(dispatcher)
    response = client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert b"URLconf" not in response.content


def test_a_token_header_is_told_to_use_bearer(dispatcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token abc")
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "not_authenticated"
    assert "credentials were not provided" in body["detail"] and "Bearer" in body["detail"]


@pytest.mark.parametrize("action, fields, absent", [
    ("parent", ["qr_id", "scan_id", "dispatch_area"], ["timestamp", "undone_at"]),
    ("child", ["parent", "qr_id", "scan_id"], ["timestamp", "undone_at", "kind"]),
    ("undo", ["parent"], ["timestamp", "scan_id"]),
])
def test_the_browsable_api_form_of_each_scan_action_shows_its_input(client, dispatcher, action, fields, absent):
    client.force_login(dispatcher)
    page = client.get(f"/api/v1/scans/{action}/", HTTP_ACCEPT="text/html").content.decode()
    for field in fields:
        assert f'name="{field}"' in page or f'&quot;{field}&quot;' in page or f'"{field}"' in page, field
    form = page[page.find('id="post-object-form"'):] if 'id="post-object-form"' in page else page
    for field in absent:
        assert f'name="{field}"' not in form, field
