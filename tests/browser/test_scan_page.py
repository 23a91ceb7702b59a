"""The dispatcher's scan page in headless Chromium on a phone: wedge-scanner input, feedback,
undo and the offline queue, checked against the database."""

import json

import pytest
from playwright.sync_api import expect

from bags.models import Bag, BagKind, BagStatus, Link
from scans.models import Scan, ScanKind
from tests.browser.conftest import wait_js
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.browser

CAPACITY = 30


def wedge_scan(phone, code: str, *, expect_text: str | None = None):
    """Type a code into whatever has focus and press Enter, as a wedge scanner does; wait
    for the page's answer about that code."""
    page = phone.page
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    expect(page.locator("#feedback")).to_contain_text(expect_text or code.upper())


def children_on_page(page) -> list[str]:
    return page.locator("#children li").all_inner_texts()


def links_of(parent_qr: str) -> list[str]:
    return list(Link.objects.filter(parent__qr_id=parent_qr).values_list("child__qr_id", flat=True))


def test_dispatcher_scans_a_parent_and_thirty_children(phone, dispatcher):
    page = phone.login(dispatcher)
    assert page.url.endswith("/scan/"), "a dispatcher lands on the scan page"
    assert phone.active_id() == "code", "the code input has focus on arrival"

    wedge_scan(phone, "sb00001")  # wedge scanners may send lower case: the page upper-cases
    expect(page.locator("#feedback")).to_have_class("feedback ok")
    expect(page.locator("#feedback")).to_contain_text("New parent SB00001")
    expect(page.locator("#parent-code")).to_have_text("SB00001")
    assert page.url.endswith("/scan/SB00001/")
    phone.snap("parent-scanned")
    parent = Bag.objects.get(qr_id="SB00001")
    assert parent.kind == BagKind.PARENT and parent.dispatch_area.code == "lucknow"

    for n in range(CAPACITY):
        code = child_code(n, "KID")
        last = n == CAPACITY - 1
        wedge_scan(phone, code, expect_text="SB00001 is full" if last else None)
        expect(page.locator("#feedback")).to_have_class("feedback ok")
        expect(page.locator("#count")).to_have_text(str(n + 1))
        assert phone.active_id() == "code", f"focus left the input after {code}"
        if n == 0:
            expect(page.locator("#feedback")).to_contain_text(f"{code} added: 1 / {CAPACITY}")
            phone.snap("first-child")

    expect(page.locator("#feedback")).to_contain_text(f"KID000029 added: parent SB00001 is full ({CAPACITY})")
    expect(page.locator("#scanner")).to_have_class("full")
    assert children_on_page(page)[0] == child_code(CAPACITY - 1, "KID"), "newest first"
    assert len(children_on_page(page)) == CAPACITY
    phone.snap("parent-full")

    parent.refresh_from_db()
    assert parent.status == BagStatus.COMPLETED
    assert parent.child_count == CAPACITY
    assert sorted(links_of("SB00001")) == [child_code(n, "KID") for n in range(CAPACITY)]
    assert Scan.objects.filter(kind=ScanKind.CHILD, parent_qr="SB00001", user=dispatcher).count() == CAPACITY
    assert Scan.objects.filter(kind=ScanKind.PARENT, qr_id="SB00001").count() == 1

    # The page rendered by the server after a reload agrees with what the script showed.
    phone.goto("/scan/SB00001/", "reloaded")
    expect(page.locator("#count")).to_have_text(str(CAPACITY))
    assert len(children_on_page(page)) == CAPACITY


def test_duplicate_full_and_other_parent_feedback(phone, dispatcher):
    fill_parent(dispatcher, "SB00002", CAPACITY, prefix="FULL")
    fill_parent(dispatcher, "SB00003", 1, prefix="OTH")
    links_before, scans_before = Link.objects.count(), Scan.objects.count()
    page = phone.login(dispatcher)

    wedge_scan(phone, "SB00002")
    expect(page.locator("#count")).to_have_text(str(CAPACITY))
    expect(page.locator("#children li")).to_have_count(CAPACITY)

    # Rule 4: a duplicate is a duplicate even on a full parent, and is not an error.
    wedge_scan(phone, child_code(3, "FULL"), expect_text="already in this parent")
    expect(page.locator("#feedback")).to_have_class("feedback dup")
    phone.snap("duplicate")

    wedge_scan(phone, "NEWKID01")
    expect(page.locator("#feedback")).to_have_class("feedback err")
    expect(page.locator("#feedback")).to_have_text("NEWKID01: Parent is full.")
    assert phone.active_id() == "code"
    phone.snap("parent-full-refusal")

    wedge_scan(phone, "SB00004")  # a new, empty parent
    expect(page.locator("#count")).to_have_text("0")
    wedge_scan(phone, child_code(0, "OTH"))
    expect(page.locator("#feedback")).to_have_class("feedback err")
    expect(page.locator("#feedback")).to_contain_text("Already in another parent SB00003")
    expect(page.locator("#count")).to_have_text("0")
    phone.snap("already-linked-refusal")

    wedge_scan(phone, "x", expect_text="X: ")  # a code in no format is refused in words
    expect(page.locator("#feedback")).to_have_class("feedback err")

    assert links_of("SB00003") == [child_code(0, "OTH")]
    assert links_of("SB00004") == []
    assert Link.objects.count() == links_before
    assert not Bag.objects.filter(qr_id="NEWKID01").exists()
    # Only the two parent scans (SB00002 again, the new SB00004) were recorded.
    assert Scan.objects.count() == scans_before + 2


def test_undo_removes_the_last_child(phone, dispatcher):
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00005")
    for n in range(3):
        wedge_scan(phone, child_code(n, "UND"))
    expect(page.locator("#count")).to_have_text("3")

    page.click("#undo")
    expect(page.locator("#feedback")).to_contain_text(f"Removed {child_code(2, 'UND')}: 2 / {CAPACITY}")
    expect(page.locator("#count")).to_have_text("2")
    assert children_on_page(page) == [child_code(1, "UND"), child_code(0, "UND")]
    phone.snap("undone")
    wait_js(page, "document.activeElement && document.activeElement.id === 'code'")

    assert sorted(links_of("SB00005")) == [child_code(0, "UND"), child_code(1, "UND")]
    assert Bag.objects.get(qr_id="SB00005").child_count == 2
    undone = Scan.objects.get(qr_id=child_code(2, "UND"))
    assert undone.undone_at is not None
    assert not Bag.objects.filter(qr_id=child_code(2, "UND")).exists(), "a child the scan created goes"

    # The wedge scanner carries on: the next child goes in as the third again.
    wedge_scan(phone, child_code(9, "UND"))
    expect(page.locator("#count")).to_have_text("3")
    assert Bag.objects.get(qr_id="SB00005").child_count == 3


def test_offline_scans_wait_and_are_sent_once(phone, dispatcher):
    fill_parent(dispatcher, "SB00006", 3, prefix="ONL")
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00006")
    expect(page.locator("#children li")).to_have_count(3)

    phone.context.set_offline(True)
    offline_codes = [child_code(n, "OFF") for n in range(5)]
    for n, code in enumerate(offline_codes):
        wedge_scan(phone, code, expect_text=f"No network: {code}")
        expect(page.locator("#feedback")).to_have_class("feedback info")
        expect(page.locator("#pending")).to_be_visible()
        expect(page.locator("#pending")).to_contain_text(f"{n + 1} scan")
        assert phone.active_id() == "code"
    expect(page.locator("#pending")).to_have_text("5 scans wait for the network; they will be sent in order.")
    expect(page.locator("#children li.pending")).to_have_count(5)
    expect(page.locator("#count")).to_have_text("8")
    phone.snap("offline-queued")
    queued = json.loads(page.evaluate("localStorage.getItem('tt-queue-disp_lucknow-scans')"))
    assert [item["body"]["qr_id"] for item in queued] == offline_codes
    assert Bag.objects.get(qr_id="SB00006").child_count == 3, "nothing reached the server yet"

    sent = []
    page.on("request", lambda request: sent.append(request.url.split("/api/v1/")[-1]) if "/api/v1/scans/" in
            request.url else None)
    phone.context.set_offline(False)
    expect(page.locator("#pending")).to_be_hidden(timeout=15_000)
    # The five waiting scans went out together, in one batch (API.md, scans/batch).
    assert sent[0] == "scans/batch/" and "scans/child/" not in sent, sent
    expect(page.locator("#children li.pending")).to_have_count(0)
    expect(page.locator("#count")).to_have_text("8")
    # Reloaded from the server once the queue is through: still newest first (issue 12, 11).
    expected_order = [*reversed(offline_codes), *(child_code(n, "ONL") for n in (2, 1, 0))]
    expect(page.locator("#children li")).to_have_text(expected_order)
    phone.snap("back-online")

    def assert_server_state():
        links = links_of("SB00006")
        assert len(links) == 8 and len(set(links)) == 8
        assert set(offline_codes) <= set(links)
        assert Bag.objects.get(qr_id="SB00006").child_count == 8
        for code in offline_codes:
            assert Scan.objects.filter(qr_id=code, kind=ScanKind.CHILD).count() == 1

    assert_server_state()

    # Replaying the very same queued requests (same scan_ids), as after a crash between
    # sending and hearing the answer, must not count anything twice. The page is reloaded
    # while the server cannot be reached: the waiting scans are announced at once.
    page.evaluate("items => localStorage.setItem('tt-queue-disp_lucknow-scans', JSON.stringify(items))", queued)
    page.route("**/api/v1/scans/**", lambda route: route.abort("connectionfailed"))
    page.reload()
    expect(page.locator("#pending")).to_have_text("5 scans wait for the network; they will be sent in order.")
    phone.snap("reloaded-with-queue")
    page.unroute("**/api/v1/scans/**")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    wait_js(page, "localStorage.getItem('tt-queue-disp_lucknow-scans') === '[]'", timeout=15_000)
    expect(page.locator("#pending")).to_be_hidden()
    expect(page.locator("#count")).to_have_text("8")
    expect(page.locator("#children li")).to_have_text(expected_order)
    phone.snap("replayed")
    assert_server_state()


def test_queued_scans_survive_an_ended_session(phone, dispatcher):
    """Offline longer than the idle session (30 minutes): the queued scans must wait for a
    new login, not be thrown away on the first 401."""
    fill_parent(dispatcher, "SB00007", 1, prefix="SES")
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00007")
    phone.context.set_offline(True)
    codes = [child_code(n, "LATE") for n in range(2)]
    for code in codes:
        wedge_scan(phone, code, expect_text=f"No network: {code}")
    phone.context.clear_cookies()  # the session ends while the phone is offline
    phone.context.set_offline(False)

    pending = page.locator("#pending")
    expect(pending).to_contain_text("Signed out — log in again")
    expect(pending).to_contain_text("2 scans wait")
    expect(pending.locator("a.login-again")).to_have_attribute("href", "/login/?next=%2Fscan%2FSB00007%2F")
    phone.snap("session-ended")
    assert len(json.loads(page.evaluate("localStorage.getItem('tt-queue-disp_lucknow-scans')"))) == 2
    assert links_of("SB00007") == [child_code(0, "SES")]

    phone.login(dispatcher)  # back on /scan/, which sends what waited
    wait_js(page, "localStorage.getItem('tt-queue-disp_lucknow-scans') === '[]'", timeout=15_000)
    expect(pending).to_be_hidden()
    phone.snap("sent-after-login")
    assert sorted(links_of("SB00007")) == sorted([child_code(0, "SES"), *codes])
    assert Scan.objects.filter(qr_id__in=codes, user=dispatcher, undone_at=None).count() == 2


def test_children_are_newest_first_in_every_path_that_fills_the_list(phone, dispatcher):
    """Issue 12, 11: the list reloaded from the server was oldest first, so the numbers of
    the reversed list sat on the wrong bags."""
    fill_parent(dispatcher, "SB00011", 4, prefix="ORD")
    newest_first = [child_code(n, "ORD") for n in (3, 2, 1, 0)]
    page = phone.login(dispatcher)

    wedge_scan(phone, "SB00011")  # an existing parent, its children fetched
    expect(page.locator("#children li")).to_have_text(newest_first)
    phone.snap("existing-parent")

    wedge_scan(phone, "SB00012")  # another parent, then back
    expect(page.locator("#children li")).to_have_count(0)
    wedge_scan(phone, "SB00011")
    expect(page.locator("#children li")).to_have_text(newest_first)

    wedge_scan(phone, "ORD-NEW")  # a scan goes on top
    expect(page.locator("#children li")).to_have_text(["ORD-NEW", *newest_first])

    phone.goto("/scan/SB00011/", "rendered-by-the-server")
    expect(page.locator("#children li")).to_have_text(["ORD-NEW", *newest_first])
    # <ol reversed>: the top item carries the highest number, the count.
    numbers = page.evaluate("""() => {
        const items = [...document.querySelectorAll('#children li')];
        const list = document.getElementById('children');
        return {reversed: list.reversed, first: items.length};
    }""")
    assert numbers == {"reversed": True, "first": 5}


def test_a_scan_sent_after_the_session_ended_is_kept_and_sent_after_the_login(phone, dispatcher):
    """Issue 12, 13: online, but signed out — the scan must wait in the queue, the page says
    so with a link to log in again, and the login sends it."""
    fill_parent(dispatcher, "SB00013", 1, prefix="GONE")
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00013")
    phone.context.clear_cookies()  # the session ends (idle, or logged out elsewhere)

    wedge_scan(phone, "AFTER-001", expect_text="Signed out")
    expect(page.locator("#feedback")).to_have_class("feedback err")
    expect(page.locator("#feedback a.login-again")).to_be_visible()
    expect(page.locator("#pending")).to_contain_text("1 scan waits")
    expect(page.locator("#pending")).to_contain_text("Signed out — log in again")
    wedge_scan(phone, "AFTER-002", expect_text="AFTER-002")  # queued behind the first, in order
    phone.snap("signed-out")
    queued = json.loads(page.evaluate("localStorage.getItem('tt-queue-disp_lucknow-scans')"))
    assert [item["body"]["qr_id"] for item in queued] == ["AFTER-001", "AFTER-002"]
    assert links_of("SB00013") == [child_code(0, "GONE")]

    from tests.conftest import PASSWORD

    page.click("#pending a.login-again")
    page.wait_for_url("**/login/**")
    page.fill("#id_username", dispatcher.username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    assert page.url.endswith("/scan/SB00013/")
    wait_js(page, "localStorage.getItem('tt-queue-disp_lucknow-scans') === '[]'", timeout=15_000)
    expect(page.locator("#pending")).to_be_hidden()
    expect(page.locator("#children li")).to_have_text(["AFTER-002", "AFTER-001", child_code(0, "GONE")])
    phone.snap("sent-after-login")
    assert sorted(links_of("SB00013")) == ["AFTER-001", "AFTER-002", child_code(0, "GONE")]
    assert Scan.objects.filter(qr_id__in=["AFTER-001", "AFTER-002"], user=dispatcher).count() == 2


def test_another_user_on_the_same_phone_does_not_send_the_waiting_scans(phone, dispatcher, make_user):
    fill_parent(dispatcher, "SB00014", 1, prefix="MINE")
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00014")
    phone.context.set_offline(True)
    wedge_scan(phone, "MINE-LATER", expect_text="No network")
    phone.context.clear_cookies()
    phone.context.set_offline(False)
    other = make_user("dispatcher", username="second_operator")
    phone.login(other)
    page.wait_for_timeout(1500)
    assert not Bag.objects.filter(qr_id="MINE-LATER").exists()
    assert len(json.loads(page.evaluate("localStorage.getItem('tt-queue-disp_lucknow-scans')"))) == 1


def test_a_server_that_cannot_reach_its_database_queues_the_scans(phone, dispatcher):
    """503 `unavailable` (PostgreSQL down): the page says the server is unreachable and
    keeps the scans, which go out once it answers again."""
    fill_parent(dispatcher, "SB00015", 1, prefix="UNR")
    page = phone.login(dispatcher)
    wedge_scan(phone, "SB00015")
    unavailable = json.dumps({"code": "unavailable", "detail": "The database cannot be reached right now.",
                              "request_id": "x"})
    page.route("**/api/v1/scans/**", lambda route: route.fulfill(
        status=503, body=unavailable, headers={"Content-Type": "application/json", "Retry-After": "2"}))
    wedge_scan(phone, "UNR-LATER-1", expect_text="Server unreachable: UNR-LATER-1 saved")
    expect(page.locator("#pending")).to_contain_text("1 scan waits")
    expect(page.locator("#pending")).to_contain_text("Server unreachable")
    phone.snap("server-unreachable")
    assert links_of("SB00015") == [child_code(0, "UNR")]
    page.unroute("**/api/v1/scans/**")
    wait_js(page, "localStorage.getItem('tt-queue-disp_lucknow-scans') === '[]'", timeout=15_000)
    expect(page.locator("#pending")).to_be_hidden()
    assert sorted(links_of("SB00015")) == sorted([child_code(0, "UNR"), "UNR-LATER-1"])
