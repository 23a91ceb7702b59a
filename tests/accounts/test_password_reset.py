"""Forgot password (issue 18): Django's reset by e-mail from the login page, through the
service (audited), ending the user's tokens and sessions like every new password."""

import re

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditLog
from accounts.services import token_create, user_update
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_the_login_page_offers_it_and_the_link_sets_a_new_password(dispatcher, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user_update(actor=admin_user, target=dispatcher, email="disp@example.com")
    _, token = token_create(user=dispatcher)
    phone = Client()
    phone.post("/login/", {"username": dispatcher.username, "password": PASSWORD})
    client = Client()
    assert 'href="/password-reset/"' in client.get("/login/").content.decode()
    response = client.post("/password-reset/", {"email": "DISP@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["disp@example.com"]
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    assert form.status_code == 200 and b"Choose a new password" in form.content
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "Another-Passw0rd-9",
                                                        "new_password2": "Another-Passw0rd-9"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/done/"
    assert Client().post("/login/", {"username": dispatcher.username, "password": "Another-Passw0rd-9"}).status_code == 302
    assert AuditLog.objects.filter(action="user.password_reset", entity_id=dispatcher.username).exists()
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert bearer.get("/api/v1/me/").status_code == 401  # tokens revoked
    assert phone.get("/scan/").status_code == 302  # the other session ended
    assert client.get(link).status_code in (200, 302)  # used: the page says so, no 5xx
    assert b"has been used" in client.get(link, follow=True).content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    response = Client().post("/password-reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_a_weak_new_password_is_refused_on_the_form(dispatcher, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user_update(actor=admin_user, target=dispatcher, email="disp@example.com")
    client = Client()
    client.post("/password-reset/", {"email": "disp@example.com"})
    link = re.search(r"http://testserver(/password-reset/\S+/)", mail.outbox[0].body).group(1)
    form = client.get(link, follow=True)
    response = client.post(form.redirect_chain[-1][0], {"new_password1": "123", "new_password2": "123"})
    assert response.status_code == 200 and b"banner err" in response.content


def test_reset_requests_share_the_login_rate_limit(settings, one_window):
    settings.RATE_LIMIT_LOGIN = "2/m"
    statuses = [Client().post("/password-reset/", {"email": f"x{i}@example.com"}).status_code for i in range(3)]
    assert statuses == [302, 302, 429]
