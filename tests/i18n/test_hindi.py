"""Hindi as well as English (issue 18): the operator's pages in Hindi with no English left,
the language switch kept per user (every device) or per browser (signed out), and API
errors whose `detail` follows Accept-Language while the machine `code` never changes."""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings

from accounts.models import AuditLog, User
from billing.services import bill_add_parent, bill_complete, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
WORD = re.compile(r"[A-Za-z]{2,}")
SEEN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt", "content")


class _Text(HTMLParser):
    """What a reader sees or hears: the text outside <script>/<style>, and the attributes a
    screen reader or a tooltip says."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._hidden += 1
        attributes = dict(attrs)
        for name in SEEN_ATTRIBUTES:
            if name == "content" and attributes.get("name") not in ("description", "apple-mobile-web-app-title"):
                continue
            if attributes.get(name):
                self.parts.append(attributes[name])
        if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
            self.parts.append(attributes["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def english_left(html: str, *, allowed: set[str]) -> list[str]:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts)
    text = re.sub(settings.PARENT_QR_PATTERN.strip("^$") + r"|[A-Z]{2,}[0-9-]+\w*", " ", text)  # bag codes
    return sorted({word for word in WORD.findall(text) if word not in allowed})


@pytest.fixture
def hindi_dispatcher(dispatcher):
    dispatcher.language = "hi"
    dispatcher.save(update_fields=["language"])
    return dispatcher


def allowed_for(user) -> set[str]:
    # The brand, the switch back to English (named in its own language), who is signed in.
    return {"TraceTrack", "English", *WORD.findall(user.username),
            *(WORD.findall(user.dispatch_area.code) if user.dispatch_area else [])}


def test_the_scan_page_in_hindi_has_no_english_left(client, hindi_dispatcher, biller):
    fill_parent(hindi_dispatcher, "SB00401", 3, prefix="HI")
    fill_parent(hindi_dispatcher, "SB00402", 1, prefix="HJ")
    bill_create(user=biller, bill_id="HI-1", capacity=1, destination="Agra", vehicle_number="UP 1")
    bill_add_parent(user=biller, bill_id="HI-1", parent_qr="SB00402")
    bill_complete(user=biller, bill_id="HI-1")
    client.force_login(hindi_dispatcher)
    allowed = allowed_for(hindi_dispatcher)
    for path in ["/scan/", "/scan/SB00401/", "/scan/SB00402/", "/lookup/?q=SB00401", "/lookup/?q=SB004",
                 "/lookup/?q=HI000001", "/offline/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert '<html lang="hi"' in html and DEVANAGARI.search(html), path
        assert english_left(html, allowed=allowed) == [], path
    # The messages a page shows after a redirect (a code that is no parent, a child as parent).
    for path in ["/scan/NOTAPARENT/", "/scan/HI000001/", "/scan/SB09999/"]:
        html = client.get(path, follow=True).content.decode()
        assert english_left(html, allowed=allowed | {"NOTAPARENT"}) == [], path  # what was typed, said back


def test_the_signed_out_pages_in_hindi(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "hi"
    for path in ["/login/", "/password-reset/", "/password-reset/sent/", "/offline/"]:
        html = client.get(path).content.decode()
        assert '<html lang="hi"' in html, path
        assert english_left(html, allowed={"TraceTrack", "English"}) == [], path
    failed = client.post("/login/", {"username": "nobody", "password": "wrong"}).content.decode()
    assert english_left(failed, allowed={"TraceTrack", "English", "nobody"}) == []


def test_the_scripts_get_their_hindi(client, hindi_dispatcher):
    client.force_login(hindi_dispatcher)
    page = client.get("/scan/").content.decode()
    assert '/jsi18n/?l=hi"' in page
    catalogue = client.get("/jsi18n/?l=hi")
    assert catalogue.status_code == 200 and "max-age=3600" in catalogue["Cache-Control"]
    import json

    import polib

    from tests.i18n.test_catalogue import LOCALE

    found = re.search(r"const newcatalog = (\{.*?\});", catalogue.content.decode(), re.S)
    served = json.loads(found.group(1))
    for entry in polib.pofile(str(LOCALE / "djangojs.po")):
        expected = [entry.msgstr_plural[0], entry.msgstr_plural[1]] if entry.msgid_plural else entry.msgstr
        assert served.get(entry.msgid) == expected, entry.msgid


def test_the_language_is_kept_on_the_users_account_for_every_device(client, dispatcher):
    from tests.conftest import PASSWORD

    client.force_login(dispatcher)
    response = client.post("/language/", {"language": "hi", "next": "/scan/"})
    assert response.status_code == 302 and response["Location"] == "/scan/"
    assert User.objects.get(pk=dispatcher.pk).language == "hi"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "hi"
    assert AuditLog.objects.filter(action="user.language", entity_id=dispatcher.username).count() == 1

    from django.test import Client

    other_device = Client(HTTP_ACCEPT_LANGUAGE="en")  # another phone, set to English, no cookie
    assert other_device.post("/login/", {"username": dispatcher.username, "password": PASSWORD}).status_code == 302
    assert '<html lang="hi"' in other_device.get("/scan/").content.decode()

    back = other_device.post("/language/", {"language": "en", "next": "https://evil.example/"})
    assert back["Location"] == "/"  # never to another site
    assert User.objects.get(pk=dispatcher.pk).language == "en"
    assert '<html lang="en"' in client.get("/scan/").content.decode()


def test_signed_out_the_choice_is_the_browsers(client):
    assert '<html lang="en"' in client.get("/login/").content.decode()
    response = client.post("/language/", {"language": "hi", "next": "/login/"})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME]["samesite"] == "Lax"
    assert '<html lang="hi"' in client.get("/login/").content.decode()
    assert client.post("/language/", {"language": "xx"}).cookies[settings.LANGUAGE_COOKIE_NAME].value == ""
    assert '<html lang="en"' in client.get("/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="hi"' in client.get("/login/", HTTP_ACCEPT_LANGUAGE="hi-IN,hi;q=0.9").content.decode()


def test_the_language_switch_needs_its_csrf_token(dispatcher):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(dispatcher)
    assert browser.post("/language/", {"language": "hi"}).status_code == 403
    assert User.objects.get(pk=dispatcher.pk).language == ""


@pytest.mark.parametrize("method, path, body, code", [
    ("post", "/api/v1/scans/child/", {"parent": "SB09999", "qr_id": "HK000001"}, "not_found"),
    ("post", "/api/v1/scans/child/", {"parent": "SB00410", "qr_id": "HK000000"}, "already_linked"),
    ("post", "/api/v1/scans/parent/", {}, "invalid"),
    ("post", "/api/v1/scans/undo/", {"parent": "SB00410"}, "nothing_to_undo"),
    ("post", "/api/v1/scans/child/", {"parent": "SB00411", "qr_id": "bad code!"}, "invalid"),
    ("get", "/api/v1/nothing-here/", None, "not_found"),
])
def test_api_errors_follow_accept_language_and_keep_their_code(api, dispatcher, method, path, body, code):
    fill_parent(dispatcher, "SB00410", 0, prefix="HK")
    fill_parent(dispatcher, "SB00411", 1, prefix="HK")
    client = api(dispatcher)

    def call(**headers):
        return getattr(client, method)(path, body, format="json", **headers) if body is not None else \
            getattr(client, method)(path, **headers)

    english, hindi = call(), call(HTTP_ACCEPT_LANGUAGE="hi")
    assert english.status_code == hindi.status_code and english.json()["code"] == hindi.json()["code"] == code
    assert not DEVANAGARI.search(english.json()["detail"])
    assert DEVANAGARI.search(hindi.json()["detail"]), hindi.json()


def test_drfs_own_messages_follow_accept_language(client):
    english = client.get("/api/v1/bags/")
    hindi = client.get("/api/v1/bags/", HTTP_ACCEPT_LANGUAGE="hi")
    assert english.status_code == hindi.status_code == 401
    assert english.json()["code"] == hindi.json()["code"] == "not_authenticated"
    assert english.json()["detail"] == "Authentication credentials were not provided."
    assert DEVANAGARI.search(hindi.json()["detail"])
    token = client.get("/api/v1/bags/", HTTP_AUTHORIZATION="Token abc", HTTP_ACCEPT_LANGUAGE="hi").json()
    assert token["code"] == "not_authenticated" and "Bearer" in token["detail"] and DEVANAGARI.search(token["detail"])
