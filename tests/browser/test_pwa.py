"""The installable app (static/js/sw.js, static/js/pwa.js) in headless Chromium on a phone:
the scan page opens and scans with no network, from a cold start too, and its scans reach
the database exactly once when the network is back; logging out drops the kept pages.

Cutting the network. `context.set_offline(True)` does cover the service worker's fetches
once the worker runs (a page it never kept is answered by its offline page, which only a
failed fetch of the worker's gives) — but not at a cold start: a worker started with the
browser already offline revalidated the manifest against the live server before the
emulation reached it. So the cold-start test puts a relay between the browser and the live
server (`Relay`, the phone's only way to it) and cuts that too: refused connections, for
the page and the worker alike, and it checks that no request reached the server meanwhile
(`request_started`). The emulation stays on as well, for what the page sees of it
(`navigator.onLine`, the `online` event). The cold start is a real one: the browser runs on
a profile folder of the test's own, is closed, and starts again on it with no network.
"""

import socket
import threading
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.signals import request_started
from django.test import Client
from playwright.sync_api import expect

from bags.models import Bag, Link
from scans.models import Scan, ScanKind
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, Phone, shot_dir_for, wait_js
from tests.helpers import child_code, fill_parent
from tests.servers import free_port
from tracetrack import views

pytestmark = pytest.mark.browser

CONTROLLED = "!!navigator.serviceWorker.controller"
CACHE_KEYS = """caches.keys().then(names => Promise.all(names.map(name => caches.open(name)
    .then(cache => cache.keys()).then(requests => [name, requests.map(r => new URL(r.url).pathname)]))))"""


def kept(page) -> dict[str, list[str]]:
    """What the service worker's caches hold: {cache name: [paths]}."""
    return dict(page.evaluate(CACHE_KEYS))


def kept_pages(page) -> list[str]:
    return [path for name, paths in kept(page).items() if name.startswith("tt-pages-") for path in paths]


def wait_kept(page, path: str) -> None:
    wait_js(page, f"caches.match({path!r}).then(found => !!found)")


def wedge_scan(page, code: str, expect_text: str) -> None:
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("#feedback")).to_contain_text(expect_text)


@contextmanager
def requests_reaching_the_server():
    """The paths the live server (a thread of this process) is asked for meanwhile."""
    seen: list[str] = []

    def note(sender, environ=None, **kwargs):
        seen.append((environ or {}).get("PATH_INFO", "?"))

    request_started.connect(note, weak=False)
    try:
        yield seen
    finally:
        request_started.disconnect(note)


class Relay:
    """A TCP relay from 127.0.0.1:<port> to the live server. `cut()` closes it and every
    connection through it, so the browser's connections are refused; `open()` again."""

    def __init__(self, target_port: int):
        self.target = ("localhost", target_port)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.listener: socket.socket | None = None
        self.connections: set[socket.socket] = set()
        self.lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.connections |= {client, upstream}
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        for end in [self.listener, *self.connections]:
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            end.close()
        with self.lock:
            self.connections.clear()


@pytest.fixture
def relay(live_server):
    relay = Relay(int(live_server.url.rsplit(":", 1)[1]))
    relay.open()
    yield relay
    relay.cut()


@pytest.fixture
def profile_phone(request, playwright_instance, live_server, tmp_path):
    """`profile_phone()` → a Phone on a browser started on this test's own profile folder,
    which keeps what a phone keeps between two starts (service worker, caches, cookies,
    localStorage); call it again after closing the last one for a cold start. Fails the
    test, like the `phone` fixture, on JavaScript errors, CSP violations and 5xx answers."""
    made: list[Phone] = []
    shots = shot_dir_for(request)

    def start(*, offline: bool = False, base_url: str = live_server.url) -> Phone:
        context = playwright_instance.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, base_url=base_url,
            offline=offline, **PHONE)
        phone = Phone(context, base_url, shots / f"start-{len(made) + 1}")
        made.append(phone)
        return phone

    yield start
    errors = []
    for phone in made:
        errors += [f"JavaScript error: {error}" for error in phone.js_errors]
        errors += [f"server error: {error}" for error in phone.server_errors]
        errors += [f"CSP violation: {error}" for error in phone.csp_violations]
        phone.context.close()
    if errors and not (getattr(request.node, "rep_call", None) and request.node.rep_call.failed):
        pytest.fail("; ".join(errors))


def signed_in_context(phone_factory, user):
    """A phone whose first page can be the scan page itself: the session comes in as a
    cookie (as when the installed app opens on a phone that logged in before)."""
    client = Client()
    client.force_login(user)
    phone = phone_factory()
    phone.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": phone.base_url,
                                "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
    return phone


def test_the_app_is_installable(profile_phone, dispatcher):
    """Chromium's own check: no installability error (manifest, icons, service worker), on
    a real profile (an incognito context is never installable)."""
    phone = profile_phone()
    page = phone.login(dispatcher)
    wait_js(page, CONTROLLED)
    cdp = phone.context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == [] and manifest["url"].endswith("/manifest.webmanifest")
    assert manifest["manifest"]["startUrl"] == phone.base_url + "/scan/"
    assert manifest["manifest"]["display"] == "kStandalone"
    # The favicon and the iOS icon are real files.
    for selector in ("link[rel=icon]", "link[rel=apple-touch-icon]"):
        href = page.locator(selector).get_attribute("href")
        response = page.request.get(phone.base_url + href)
        assert response.status == 200 and response.headers["content-type"].startswith("image/"), href


def test_scans_made_offline_after_a_cold_start_land_once(profile_phone, relay, dispatcher):
    phone = profile_phone(base_url=relay.url)
    page = phone.login(dispatcher)
    assert page.url.endswith("/scan/")
    wait_js(page, CONTROLLED)
    wait_kept(page, "/scan/")
    phone.context.close()  # the browser process ends: nothing stays in memory

    relay.cut()
    with requests_reaching_the_server() as reached:
        phone = profile_phone(offline=True, base_url=relay.url)
        page = phone.page
        phone.goto("/scan/", "cold-start-offline")
        expect(page.locator("#title")).to_have_text("No parent bag yet")
        assert page.evaluate("navigator.onLine") is False
        wedge_scan(page, "SB00061", "No network: SB00061")
        codes = [child_code(n, "COLD") for n in range(3)]
        for code in codes:
            wedge_scan(page, code, f"No network: {code}")
        expect(page.locator("#pending")).to_contain_text("4 scans wait for the network")
        expect(page.locator("#children li.pending")).to_have_count(3)
        phone.snap("queued-offline")
        page.wait_for_timeout(5500)  # one round of the queue's retries, still with no network
        expect(page.locator("#pending")).to_contain_text("4 scans wait for the network")
        assert not Bag.objects.filter(qr_id="SB00061").exists()
    assert reached == [], f"the network was meant to be off: {reached}"

    relay.open()
    phone.context.set_offline(False)
    expect(page.locator("#pending")).to_be_hidden(timeout=15_000)
    expect(page.locator("#count")).to_have_text("3")
    expect(page.locator("#children li.pending")).to_have_count(0)
    phone.snap("replayed")
    assert sorted(Link.objects.filter(parent__qr_id="SB00061").values_list("child__qr_id", flat=True)) == codes
    assert Bag.objects.get(qr_id="SB00061").child_count == 3
    assert Scan.objects.filter(kind=ScanKind.PARENT, qr_id="SB00061").count() == 1
    for code in codes:
        assert Scan.objects.filter(kind=ScanKind.CHILD, qr_id=code).count() == 1
    assert page.evaluate("localStorage.getItem('tt-queue-disp_lucknow-scans')") == "[]"


def test_the_first_page_opened_is_kept_and_nothing_private_or_api(phone_factory, dispatcher):
    """The very first page the worker sees is a parent's scan page, which it did not serve:
    pwa.js hands it over, with the shell (/scan/). Offline, a parent's page never kept opens
    the shell, another page the offline page; /admin/ is left to the network; no API answer,
    login, lookup or admin page is kept."""
    fill_parent(dispatcher, "SB00062", 2, prefix="KEEP")
    phone = signed_in_context(phone_factory, dispatcher)
    page = phone.page
    phone.goto("/scan/SB00062/")
    wait_js(page, CONTROLLED)
    wait_kept(page, "/scan/SB00062/")
    wait_kept(page, "/scan/")
    wedge_scan(page, child_code(2, "KEEP"), "added: 3 / 30")  # an API call through the worker
    phone.goto("/lookup/?q=SB00062")

    phone.context.set_offline(True)
    phone.goto("/scan/SB00062/", "parent-offline")
    expect(page.locator("#parent-code")).to_have_text("SB00062")
    phone.goto("/scan/SB00063/", "parent-never-kept-offline")  # the shell opens: scan the parent
    expect(page.locator("#title")).to_have_text("No parent bag yet")
    phone.goto("/lookup/", "lookup-offline")
    expect(page.locator("#offline")).to_be_visible()
    assert dispatcher.username not in page.content()
    with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
        page.goto(phone.base_url + "/admin/")
    phone.context.set_offline(False)
    phone.goto("/scan/")

    caches = kept(page)
    assert sorted(kept_pages(page)) == ["/scan/", "/scan/SB00062/"]
    every_path = [path for paths in caches.values() for path in paths]
    assert {"/static/js/scan.js", "/static/js/tt.js", "/static/js/pwa.js", "/offline/"} <= set(every_path)
    assert not [path for path in every_path if path.startswith(("/api/", "/admin/", "/login/", "/logout/", "/lookup/"))]


def test_logging_out_drops_the_kept_pages(phone, dispatcher):
    page = phone.login(dispatcher)
    wait_js(page, CONTROLLED)
    wait_kept(page, "/scan/")
    with page.expect_navigation():
        page.click("form.logout button")
    assert page.url.endswith("/login/")
    wait_js(page, "caches.keys().then(names => !names.some(name => name.startsWith('tt-pages-')))")
    phone.context.set_offline(True)
    phone.goto("/scan/", "scan-after-logout-offline")
    expect(page.locator("#offline")).to_be_visible()
    assert dispatcher.username not in page.content()
    phone.context.set_offline(False)


def test_the_worker_itself_drops_them_when_a_logout_goes_by(phone, dispatcher):
    """A logout that lands on a page running none of our scripts (here `next` takes it to
    /health/): the worker, seeing the logout's POST go by, drops the kept pages itself."""
    page = phone.login(dispatcher)
    wait_js(page, CONTROLLED)
    wait_kept(page, "/scan/")
    with page.expect_navigation():
        page.evaluate("""() => { const form = document.querySelector('form.logout');
            const next = Object.assign(document.createElement('input'), {type: 'hidden', name: 'next', value: '/health/'});
            form.appendChild(next); form.submit(); }""")
    assert page.url.endswith("/health/") and "pwa.js" not in page.content()
    wait_js(page, "caches.keys().then(names => names.length > 0 && !names.some(name => name.startsWith('tt-pages-')))")


def test_a_new_version_replaces_the_caches_and_keeps_the_scan_page(phone, dispatcher, monkeypatch):
    page = phone.login(dispatcher)
    wait_js(page, CONTROLLED)
    wait_kept(page, "/scan/")
    before = set(kept(page))
    assert len(before) == 2, before
    # A deploy that changes what the scan page needs: a new worker (a new version).
    monkeypatch.setattr(views, "OFFLINE_ASSETS", [*views.OFFLINE_ASSETS, "icons/icon-512.png"])
    page.evaluate("navigator.serviceWorker.getRegistration().then(registration => registration.update())")
    wait_js(page, f"caches.keys().then(names => names.length === 2 && !names.some(name => {sorted(before)!r}"
                  ".includes(name)))")
    assert kept_pages(page) == ["/scan/"], "the scan page was carried over to the new version"
    assert "/static/icons/icon-512.png" in [path for paths in kept(page).values() for path in paths]
    phone.context.set_offline(True)
    phone.goto("/scan/", "new-version-offline")
    expect(page.locator("#title")).to_have_text("No parent bag yet")
    phone.context.set_offline(False)
