"""The installable app's files (tracetrack.views: web_manifest, service_worker, offline): what
they say, who may fetch them, and that they follow the static files' hashed names. The
browser side (the worker's caching, offline scanning, logout) is tests/browser/test_pwa.py."""

import json
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from PIL import Image

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APP_FILES = ["/manifest.webmanifest", "/sw.js", "/offline/"]


def static_file(url: str) -> Path:
    """The file of static/ behind a /static/ address (plain names, as in tests)."""
    assert url.startswith(settings.STATIC_URL), url
    found = finders.find(url.removeprefix(settings.STATIC_URL))
    assert found, f"no static file behind {url}"
    return Path(found)


def worker_config(body: str) -> tuple[dict, str]:
    """(the config line's object, the rest) of an answer of /sw.js."""
    first, rest = body.split("\n", 1)
    match = re.fullmatch(r"self\.TT_SW = (\{.*\});", first)
    assert match, first
    return json.loads(match.group(1)), rest


def test_the_manifest_describes_the_installable_app(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(response.content)
    assert manifest["name"] == "TraceTrack" and manifest["short_name"]
    assert manifest["start_url"] == "/scan/" and manifest["scope"] == "/"
    assert manifest["display"] == "standalone"
    theme = re.search(r'<meta name="theme-color" content="([^"]+)">', (ROOT / "templates/base.html").read_text())
    assert manifest["theme_color"] == manifest["background_color"] == theme.group(1)

    icons = manifest["icons"]
    for icon in icons:
        path = static_file(icon["src"])
        if icon["type"] == "image/png":
            width, height = Image.open(path).size
            assert icon["sizes"] == f"{width}x{height}", icon
        else:
            assert icon["type"] == "image/svg+xml" and icon["sizes"] == "any"
            assert path.read_text().startswith("<svg ")
    sizes = {(icon["sizes"], icon["purpose"]) for icon in icons if icon["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    assert any(icon["type"] == "image/svg+xml" for icon in icons)


def test_the_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == "text/javascript"
    assert response["Cache-Control"] == "no-cache"
    assert "Service-Worker-Allowed" not in response, "its scope is the root it is served from"
    config, source = worker_config(response.content.decode())
    assert source == (ROOT / "static/js/sw.js").read_text()
    assert re.fullmatch(r"[0-9a-f]{12}", config["version"])
    assert config["offline"] == "/offline/" and config["offline"] in config["precache"]
    for url in config["precache"]:
        if url.startswith(settings.STATIC_URL):
            static_file(url)
        else:
            assert client.get(url).status_code == 200, url
    assert "/static/js/scan.js" in config["precache"] and "/static/js/tt.js" in config["precache"]
    assert worker_config(client.get("/sw.js").content.decode())[0] == config, "one version until something changes"
    assert client.post("/sw.js").status_code == 405


def test_anyone_may_fetch_the_app_files_and_they_cost_no_query(client, dispatcher, django_assert_num_queries):
    """Anyone, signed in or not, gets the manifest, the service worker and the offline page:
    the login page links and registers them too, and none holds anything of a user's. For
    nobody signed in they read no database row at all."""
    for path in APP_FILES:
        with django_assert_num_queries(0):
            assert client.get(path).status_code == 200, path
    client.force_login(dispatcher)
    for path in APP_FILES:
        assert client.get(path).status_code == 200, path


def test_the_offline_page_holds_nothing_of_the_user(client, dispatcher):
    """The worker keeps it at install, with the session's cookies: it must not show who was
    signed in, nor carry a CSRF token."""
    client.force_login(dispatcher)
    response = client.get("/offline/")
    assert response["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in response["Content-Security-Policy"]
    body = response.content.decode()
    assert dispatcher.username not in body and "csrf" not in body.lower()
    assert 'href="/scan/"' in body
    assert settings.CSRF_COOKIE_NAME not in response.cookies


def test_every_page_links_the_app_and_a_logout_lands_on_one_that_forgets(client, dispatcher):
    """base.html links the manifest and real icons and loads pwa.js; the page a logout lands
    on is rendered for nobody (data-user empty), which is pwa.js's cue to drop the pages
    the worker kept (the worker also drops them when it sees the logout go by)."""
    client.force_login(dispatcher)
    page = client.get("/scan/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert 'rel="icon" href="/static/icons/icon.svg"' in page and 'href="data:,"' not in page
    assert 'rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png"' in page
    assert '<script src="/static/js/pwa.js"></script>\n</body>' in page
    static_file("/static/icons/apple-touch-icon.png")

    response = client.post("/logout/", follow=True)
    assert response.redirect_chain[-1][0].endswith("/login/")
    landed = response.content.decode()
    assert 'data-user=""' in landed and '<script src="/static/js/pwa.js"></script>' in landed


def test_the_app_files_follow_the_hashed_static_names(client, settings, tmp_path):
    """Production serves static files under hashed names (whitenoise's manifest storage):
    the manifest's icons and what the worker caches are those names, and the worker's
    version moves with them."""
    plain = worker_config(client.get("/sw.js").content.decode())[0]
    ours = sorted(path.relative_to(ROOT / "static").as_posix() for path in (ROOT / "static").rglob("*") if path.is_file())
    hashed = {name: re.sub(r"(\.\w+)$", r".0123abcd4567\1", name) for name in ours}
    (tmp_path / "staticfiles.json").write_text(json.dumps({"paths": hashed, "version": "1.1", "hash": "0"}))
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

    config, _ = worker_config(client.get("/sw.js").content.decode())
    assert "/static/js/scan.0123abcd4567.js" in config["precache"]
    assert "/static/css/app.0123abcd4567.css" in config["precache"]
    assert config["version"] != plain["version"]
    icons = json.loads(client.get("/manifest.webmanifest").content)["icons"]
    assert {icon["src"] for icon in icons} >= {"/static/icons/icon-192.0123abcd4567.png",
                                                "/static/icons/icon-maskable-512.0123abcd4567.png"}
    login = client.get("/login/").content.decode()
    assert '<script src="/static/js/pwa.0123abcd4567.js"></script>' in login
