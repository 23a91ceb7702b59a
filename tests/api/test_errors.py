import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@api_view(["GET"])
@permission_classes([AllowAny])
def broken(request):
    raise RuntimeError("boom")


def _pool_timeout():
    """What Django raises when no pooled connection frees up within DB_POOL_TIMEOUT."""
    from django.db import OperationalError
    from psycopg_pool import PoolTimeout

    try:
        raise PoolTimeout("couldn't get a connection after 10.00 sec")
    except PoolTimeout as cause:
        raise OperationalError("couldn't get a connection after 10.00 sec") from cause


@api_view(["GET"])
@permission_classes([AllowAny])
def busy(request):
    _pool_timeout()


def busy_page(request):
    _pool_timeout()


urlpatterns = [path("api/v1/broken/", broken), path("api/v1/busy/", busy), path("busy/", busy_page)]
handler404 = "tracetrack.api.errors.not_found"
handler500 = "tracetrack.api.errors.server_error"


def test_unknown_api_url_is_a_json_404(api, dispatcher):
    response = api(dispatcher).get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found.", "request_id": response["X-Request-ID"]}


def test_wrong_method_is_a_json_405(api, dispatcher):
    response = api(dispatcher).get("/api/v1/scans/parent/")
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"


def test_unsupported_media_type_is_a_json_415(api, dispatcher):
    response = api(dispatcher).post("/api/v1/scans/parent/", b"<xml/>", content_type="application/xml")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("payload", [b"{not json", b"[]", b"\"SB00001\"", b"null", b"{\"qr_id\": 5}", b"{\"qr_id\": [\"SB00001\"]}"])
def test_malformed_bodies_are_400_never_500(api, dispatcher, payload):
    response = api(dispatcher).post("/api/v1/scans/parent/", payload, content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@override_settings(ROOT_URLCONF=__name__)
def test_a_crash_is_a_json_500():
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/broken/")
    assert response.status_code == 500 and response.json()["code"] == "server_error"


@override_settings(ROOT_URLCONF=__name__)
def test_an_overloaded_server_asks_clients_to_retry():
    """No database connection free in time is a full server, not a bug: 429 with
    Retry-After under /api/ (the phones' offline queues retry it), 503 for pages."""
    client = APIClient(raise_request_exception=False)
    response = client.get("/api/v1/busy/")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert response["Retry-After"] == "2"
    response = client.get("/busy/")
    assert response.status_code == 503 and response["Retry-After"] == "2"


def test_health_and_ready_are_public():
    assert APIClient().get("/health/").status_code == 200
    assert APIClient().get("/ready/").status_code == 200
