"""Browser tests of the operator and biller pages: real headless Chromium (Playwright's sync
API) against pytest-django's live server, on a 360 px phone.

Every test here carries the `browser` marker. Without Chromium (/usr/bin/chromium, or
$CHROMIUM_PATH) the whole folder is skipped. Screenshots of every page visited go to $SCREENSHOT_DIR (default var/screenshots),
one folder per test; the folder is printed at the end of the session.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from django.db import connections

# Playwright's sync API keeps an event loop in the test thread, and Django then refuses ORM
# calls from it ("You cannot call this from an async context"). The test thread makes
# plain synchronous ORM calls between browser steps, which is safe.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"


def _sqlite_test_database_in_a_file():
    """SQLite's default test database lives in memory, and the live server then shares that
    one connection between all its request threads; a browser sends requests in parallel
    (page, favicon, fetches), and two threads on one sqlite3 connection fail at random (Django's
    docs warn about it). A file gives each thread its own connection, as in production. This
    runs at collection, before the test database is created, so it holds for the whole session."""
    for conn in connections.all():
        test = conn.settings_dict.setdefault("TEST", {})
        if conn.vendor == "sqlite" and test.get("NAME") in (None, "", ":memory:"):
            test["NAME"] = os.path.join(tempfile.gettempdir(), f"tt-browser-{os.getpid()}-{conn.alias}.sqlite3")


_sqlite_test_database_in_a_file()

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 10_000
HERE = Path(__file__).resolve().parent
SCREENSHOT_DIR = Path(os.environ.get("SCREENSHOT_DIR") or HERE.parent.parent / "var" / "screenshots").resolve()

_shots_taken = False


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the pages in headless Chromium (tests/browser/)")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    skip = pytest.mark.skip(reason=f"browser tests need Chromium: {CHROMIUM} does not exist (set CHROMIUM_PATH)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter):
    if _shots_taken:
        terminalreporter.ensure_newline()
        terminalreporter.write_line(f"browser screenshots: {SCREENSHOT_DIR}")


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


def launch(playwright, extra_args=()):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *extra_args])


@pytest.fixture(scope="session")
def chromium(playwright_instance):
    browser = launch(playwright_instance)
    yield browser
    browser.close()


def wait_js(page, expression: str, timeout: float = TIMEOUT_MS) -> None:
    """Wait until the JavaScript `expression` is truthy on the page. Not Playwright's
    wait_for_function: it compiles its predicate with eval, which the pages' CSP refuses;
    page.evaluate runs through the DevTools protocol, outside the page's policy."""
    import time

    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


class Phone:
    """One browser context on a phone-sized screen, with its page, a screenshot per step and
    the JavaScript errors the page raised."""

    def __init__(self, context, base_url: str, shot_dir: Path):
        self.context = context
        self.base_url = base_url
        self.shot_dir = shot_dir
        self.steps = 0
        self.js_errors: list[str] = []
        self.too_wide: dict[str, int] = {}  # path -> page width, for pages wider than the phone
        context.set_default_timeout(TIMEOUT_MS)
        self.page = context.new_page()
        self.page.on("pageerror", lambda error: self.js_errors.append(str(error)))
        # A Content-Security-Policy violation shows as a console error ("Refused to execute
        # inline script because it violates the following Content Security Policy directive…").
        self.csp_violations: list[str] = []
        self.page.on("console", self._check_console)
        self.server_errors: list[str] = []  # API.md: a 5xx other than 503 `unavailable` is always a bug
        context.on("response", self._check_response)

    def _check_console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.csp_violations.append(f"{self.page.url}: {message.text}")

    def _check_response(self, response):
        if response.status >= 500 and response.status != 503:
            self.server_errors.append(f"{response.status} {response.request.method} {response.url}")

    def goto(self, path: str, step: str | None = None):
        response = self.page.goto(self.base_url + path)
        self.snap(step or path.strip("/").replace("/", "-") or "home")
        return response

    def snap(self, step: str):
        """A full-page screenshot named by test and step."""
        global _shots_taken
        self.steps += 1
        name = re.sub(r"[^A-Za-z0-9_.-]+", "-", step).strip("-") or "page"
        self.shot_dir.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(self.shot_dir / f"{self.steps:02d}-{name}.png"), full_page=True)
        _shots_taken = True
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["viewport"]["width"]:  # the page scrolls sideways on the phone
            self.too_wide[self.page.url.removeprefix(self.base_url)] = width

    def login(self, user, password: str | None = None):
        """Log in through the real /login/ form; returns the page we land on."""
        from tests.conftest import PASSWORD

        self.goto("/login/", "login")
        self.page.fill("#id_username", user.username)
        self.page.fill("#id_password", password or PASSWORD)
        with self.page.expect_navigation():
            self.page.click("form.stack button[type=submit]")
        self.snap(f"after-login-{user.username}")
        return self.page

    def active_id(self) -> str:
        return self.page.evaluate("document.activeElement && document.activeElement.id")


def shot_dir_for(request) -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    path = SCREENSHOT_DIR / name
    shutil.rmtree(path, ignore_errors=True)
    return path


@pytest.fixture
def phone_factory(request, live_server):
    """Makes Phone objects on a given browser (default: the shared one); closes their contexts,
    takes a last screenshot when the test failed, and fails the test on JavaScript errors, on
    a Content-Security-Policy violation and on any 5xx answer the browser received."""
    made: list[Phone] = []
    shots = shot_dir_for(request)

    def make(browser=None, *, permissions=(), subdir: str = "", **options) -> Phone:
        """`options` go to the browser context (color_scheme, contrast, locale…)."""
        browser = browser or request.getfixturevalue("chromium")
        context = browser.new_context(**PHONE, base_url=live_server.url, **options)
        if permissions:
            context.grant_permissions(list(permissions), origin=live_server.url)
        phone = Phone(context, live_server.url, shots / subdir if subdir else shots)
        made.append(phone)
        return phone

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    errors = []
    for phone in made:
        if failed:
            try:
                phone.snap("failure")
            except Exception:  # noqa: BLE001 - the page may already be gone
                pass
        errors += [f"JavaScript error: {error}" for error in phone.js_errors]
        errors += [f"server error: {error}" for error in phone.server_errors]
        errors += [f"CSP violation: {error}" for error in phone.csp_violations]
        phone.context.close()
    if errors:
        message = "; ".join(errors)
        if failed:
            print(message)  # shown with the failure's captured output
        else:
            pytest.fail(message)


@pytest.fixture
def phone(phone_factory) -> Phone:
    return phone_factory()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report
