"""API session authentication gives views the real user, not the middleware's lazy
wrappers, with django-otp's attributes, still enforcing CSRF; the schema keeps cookieAuth."""

import pytest
import yaml
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.utils.functional import LazyObject
from django_otp.middleware import OTPMiddleware
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory

from accounts.models import Role
from accounts.services import user_create

pytestmark = pytest.mark.django_db

seen = {}


@api_view(["GET", "POST"])
def _probe(request):
    seen["user"] = request.user
    return Response({})


def _user():
    return user_create(actor=None, username="probe", password="A-long-pass-4-probe", role=Role.ADMIN)


def test_a_session_request_gets_the_unwrapped_user_with_its_otp_state():
    user = _user()
    client = APIClient()
    client.force_login(user)
    request = APIRequestFactory().get("/probe/")
    request.COOKIES.update({k: v.value for k, v in client.cookies.items()})
    stack = SessionMiddleware(AuthenticationMiddleware(OTPMiddleware(_probe)))
    assert stack(request).status_code == 200
    got = seen["user"]
    assert not isinstance(got, LazyObject)
    assert got.pk == user.pk
    assert hasattr(got, "otp_device") and got.is_verified() is False
    assert isinstance(request.user, type(user)) and not isinstance(request.user, LazyObject)


def test_session_authentication_still_enforces_csrf():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(_user())
    response = client.post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CB00001"}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


def test_the_schema_keeps_cookie_and_bearer_auth():
    document = yaml.safe_load(APIClient().get("/api/v1/schema/").content)
    schemes = document["components"]["securitySchemes"]
    assert schemes["cookieAuth"] == {"type": "apiKey", "in": "cookie", "name": "sessionid"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"
