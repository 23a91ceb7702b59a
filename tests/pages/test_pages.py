from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditLog
from billing.models import Bill
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.services import scan_child
from tests.conftest import PASSWORD
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.django_db

PAGES = ["/scan/", "/scan/SB00001/", "/lookup/", "/lookup/?q=SB00001", "/bills/", "/bills/new/", "/bills/summary/",
         "/bills/BILL-1/", "/bills/BILL-1/manifest/", "/bills/BILL-1/export.csv", "/bills/export.csv"]
# page → allowed for (dispatcher, biller, admin)
ACCESS = {
    "/scan/": (200, 200, 200),
    "/scan/SB00001/": (200, 200, 200),
    "/lookup/": (200, 200, 200),
    "/lookup/?q=SB00001": (200, 200, 200),
    "/bills/": (403, 200, 200),
    "/bills/new/": (403, 200, 200),
    "/bills/summary/": (403, 200, 200),
    "/bills/BILL-1/": (403, 200, 200),
    # The bill page's manifest and CSV, and the list's CSV: as the pages they come from.
    "/bills/BILL-1/manifest/": (403, 200, 200),
    "/bills/BILL-1/export.csv": (403, 200, 200),
    "/bills/export.csv": (403, 200, 200),
}


@pytest.fixture
def world(dispatcher, biller, admin_user):
    fill_parent(dispatcher, "SB00001", 3)
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    return {"dispatcher": dispatcher, "biller": biller, "admin": admin_user}


@pytest.mark.parametrize("url", PAGES)
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize("role", ["dispatcher", "biller", "admin"])
def test_role_access(client, world, url, role):
    client.force_login(world[role])
    expected = ACCESS[url][["dispatcher", "biller", "admin"].index(role)]
    assert client.get(url).status_code == expected


def test_home_sends_dispatchers_to_scanning_and_shows_others_a_menu(client, world):
    client.force_login(world["dispatcher"])
    assert client.get("/")["Location"] == "/scan/"
    client.force_login(world["biller"])
    page = client.get("/")
    assert page.status_code == 200 and b"/bills/" in page.content and b"/admin/" in page.content  # billers' back office
    client.force_login(world["admin"])
    assert b"/admin/" in client.get("/").content


def test_scan_page_shows_the_parent_state(client, world):
    client.force_login(world["dispatcher"])
    page = client.get("/scan/sb00001/").content.decode()
    assert 'data-parent="SB00001"' in page and 'data-count="3"' in page
    assert page.index(child_code(2)) < page.index(child_code(0))  # newest first
    assert 'id="code"' in page and "autofocus" in page


def test_scan_page_for_another_areas_parent_is_refused(client, world, other_dispatcher):
    fill_parent(other_dispatcher, "SB00002", 1, start=50)
    client.force_login(world["dispatcher"])
    response = client.get("/scan/SB00002/", follow=True)
    assert response.redirect_chain[-1][0] == "/scan/" and b"No parent bag SB00002" in response.content


def test_scan_page_marks_a_frozen_parent(client, world):
    bill = Bill.objects.get()
    bill.capacity = 1
    bill.save()
    bill_complete(user=world["biller"], bill_id="BILL-1")
    client.force_login(world["dispatcher"])
    assert b"bill is completed" in client.get("/scan/SB00001/").content


def test_lookup_exact_prefix_and_other_area(client, world, other_dispatcher):
    fill_parent(other_dispatcher, "SB00002", 1, start=50)
    client.force_login(world["dispatcher"])
    child = client.get(f"/lookup/?q={child_code(1).lower()}").content.decode()
    assert "SB00001" in child and "BILL-1" in child and 'id="history"' in child
    prefix = client.get("/lookup/?q=CH0000").content.decode()
    assert 'id="suggestions"' in prefix and child_code(0) in prefix and child_code(50) not in prefix
    assert b"No bag SB00002 in your area" in client.get("/lookup/?q=SB00002").content


def test_user_text_is_escaped(client, world):
    bill_create(user=world["biller"], bill_id="XSS-1", capacity=1, destination="<script>alert(1)</script>",
                vehicle_number="<b>V</b>")
    client.force_login(world["biller"])
    for url in ("/bills/", "/bills/XSS-1/"):
        page = client.get(url).content
        assert b"<script>alert(1)</script>" not in page and b"&lt;script&gt;" in page


def test_bill_create_page(client, world):
    client.force_login(world["biller"])
    bad = client.post("/bills/new/", {"bill_id": "x", "capacity": "0", "destination": "", "vehicle_number": ""})
    assert bad.status_code == 400
    for field in ("e-bill_id", "e-capacity", "e-destination", "e-vehicle_number"):
        assert field.encode() in bad.content
    dup = client.post("/bills/new/", {"bill_id": "bill-1", "capacity": "1", "destination": "D", "vehicle_number": "V"})
    assert dup.status_code == 400 and b"already exists" in dup.content
    ok = client.post("/bills/new/", {"bill_id": "new-1", "capacity": "1", "destination": "D", "vehicle_number": "V"})
    assert ok["Location"] == "/bills/NEW-1/" and Bill.objects.filter(bill_id="NEW-1", created_by=world["biller"]).exists()


def test_bill_actions(client, world, dispatcher):
    client.force_login(world["biller"])
    refused = client.post("/bills/BILL-1/complete/", follow=True)
    assert b"has 1 of 2 parents" in refused.content
    fill_parent(dispatcher, "SB00002", 1, start=60)
    bill_add_parent(user=world["biller"], bill_id="BILL-1", parent_qr="SB00002")
    client.post("/bills/bill-1/complete/")
    assert Bill.objects.get().status == "completed"
    assert AuditLog.objects.filter(action="bill.complete", actor=world["biller"]).exists()
    client.post("/bills/BILL-1/reopen/")
    client.post("/bills/BILL-1/remove/", {"qr_id": "SB00002"})
    assert Bill.objects.get().parent_count == 1
    assert client.post("/bills/BILL-1/explode/").status_code == 404
    assert client.get("/bills/BILL-1/complete/").status_code == 405
    client.force_login(world["dispatcher"])
    assert client.post("/bills/BILL-1/reopen/").status_code == 403


def test_bill_list_filters_and_bad_filter(client, world):
    bill_create(user=world["biller"], bill_id="OTHER-2", capacity=1, destination="D", vehicle_number="V")
    client.force_login(world["biller"])
    page = client.get("/bills/?search=oth").content.decode()
    assert "OTHER-2" in page and "BILL-1" not in page
    bad = client.get("/bills/?status=zzz")
    assert bad.status_code == 200 and b"status:" in bad.content


def test_bill_list_pages_without_offset(client, world):
    for n in range(55):
        bill_create(user=world["biller"], bill_id=f"P-{n:03d}", capacity=1, destination="D", vehicle_number="V")
    client.force_login(world["biller"])
    first = client.get("/bills/")
    assert first.context["next_cursor"] and len(first.context["bills"]) == 50
    second = client.get(f"/bills/?cursor={first.context['next_cursor']}")
    seen = [b.bill_id for b in first.context["bills"]] + [b.bill_id for b in second.context["bills"]]
    assert len(seen) == 56 == len(set(seen)) and second.context["next_cursor"] is None


def test_summary_page(client, world):
    client.force_login(world["biller"])
    page = client.get("/bills/summary/")
    assert page.status_code == 200 and b'id="s-created">1<' in page.content
    assert b"Date must be YYYY-MM-DD" in client.get("/bills/summary/?date=31-12-2026").content


def test_login_and_logout(client, dispatcher):
    assert client.get("/login/").status_code == 200
    wrong = client.post("/login/", {"username": "disp_lucknow", "password": "nope"})
    assert wrong.status_code == 200 and b"Wrong username or password" in wrong.content
    ok = client.post("/login/", {"username": "disp_lucknow", "password": PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == "/"
    assert AuditLog.objects.filter(action="auth.login", actor=dispatcher).exists()
    assert client.post("/logout/")["Location"] == "/login/"
    assert client.get("/scan/").status_code == 302


def test_login_lockout_after_five_failures(client, dispatcher):
    for _ in range(4):
        assert client.post("/login/", {"username": "disp_lucknow", "password": "nope"}).status_code == 200
    locked = client.post("/login/", {"username": "disp_lucknow", "password": "nope"})
    assert locked.status_code == 429 and locked["Retry-After"] == "1800"
    assert client.post("/login/", {"username": "disp_lucknow", "password": PASSWORD}).status_code == 429


def test_login_is_rate_limited_per_ip(client, dispatcher, settings, one_window):
    settings.RATE_LIMIT_LOGIN = "2/m"
    statuses = [client.post("/login/", {"username": f"nobody{i}", "password": "x"}).status_code for i in range(3)]
    assert statuses == [200, 200, 429]


def test_sessions_expire_after_thirty_idle_minutes(client, dispatcher):
    """Rule 13, without writing the session on every request: it is written again when its
    last write is a minute old, so it ends 29–30 minutes after the last request."""
    import time_machine
    from django.contrib.sessions.models import Session

    assert settings.SESSION_COOKIE_AGE == 1800 and settings.SESSION_REFRESH_SECONDS == 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.post("/login/", {"username": "disp_lucknow", "password": PASSWORD})
        assert client.get("/scan/").status_code == 200
        key = client.session.session_key

        def expires():
            return Session.objects.get(session_key=key).expire_date

        first = expires()
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/scan/").status_code == 200  # within the minute: no write
        assert expires() == first
        assert not [q for q in queries.captured_queries
                    if "django_session" in q["sql"] and not q["sql"].startswith("SELECT")]
        for _ in range(3):  # a request every 20 minutes keeps the session alive
            clock.shift(20 * 60)
            assert client.get("/scan/").status_code == 200
        assert expires() > first + timedelta(minutes=59)
        clock.shift(30 * 60 + 1)  # then 30 idle minutes end it
        store = client.session
        if hasattr(store, "cache_key"):
            # cached_db: Redis drops the copy by its TTL in real time, which time travel
            # does not reach; the database row, checked below, decides after that.
            from django.core.cache import caches

            caches[settings.SESSION_CACHE_ALIAS].delete(store.cache_key)
        assert client.get("/scan/").status_code == 302


def test_an_anonymous_request_creates_no_session(client):
    from django.contrib.sessions.models import Session

    client.get("/login/")
    client.get("/health/")
    assert not Session.objects.exists()


QUERY_PAGES = {
    "/scan/SB00001/": "dispatcher",
    "/lookup/?q=SB00001": "dispatcher",
    "/bills/": "biller",
    "/bills/BILL-1/": "biller",
    "/bills/summary/": "biller",
}


@pytest.mark.parametrize("url", list(QUERY_PAGES))
def test_page_query_counts_do_not_grow(client, world, url):
    client.force_login(world[QUERY_PAGES[url]])

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    small = count()
    for n in range(3, 25):
        scan_child(user=world["dispatcher"], parent_qr="SB00001", qr_id=child_code(n))
    for n in range(20):
        bill_create(user=world["biller"], bill_id=f"Q-{n:03d}", capacity=1, destination="D", vehicle_number="V")
    fill_parent(world["dispatcher"], "SB00002", 1, start=900)
    bill_add_parent(user=world["biller"], bill_id="BILL-1", parent_qr="SB00002")
    assert count() == small


def test_pages_are_light(client, world):
    """HTML plus the CSS and JavaScript it loads stays under 100 KB."""
    static = Path(settings.BASE_DIR) / "static"
    assets = sum(f.stat().st_size for f in static.rglob("*") if f.suffix in (".css", ".js"))
    client.force_login(world["admin"])
    for url in ("/scan/SB00001/", "/bills/BILL-1/", "/lookup/?q=SB00001", "/bills/"):
        assert len(client.get(url).content) + assets < 100 * 1024, url
