"""Issue 18's defects, each as a user meets them on a 360 px phone (each test failed before
its fix)."""

import pytest
from playwright.sync_api import expect

from billing.models import BillBag
from billing.services import bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.browser


def test_a_parent_scanned_onto_a_bill_shows_its_children_and_can_be_removed(phone, biller, dispatcher):
    """Defect 2: the row of a parent added by scanning said "Children ?" and "reload to remove"."""
    fill_parent(dispatcher, "SB00040", 7, prefix="UX")
    bill_create(user=biller, bill_id="UX-1", capacity=3, destination="Agra", vehicle_number="UP 1")
    page = phone.login(biller)
    phone.goto("/bills/UX-1/")
    page.keyboard.type("SB00040")
    page.keyboard.press("Enter")
    row = page.locator("#parents tr", has_text="SB00040")
    expect(row.locator("td").nth(1)).to_have_text("7")
    expect(row).not_to_contain_text("reload")
    expect(row.locator("td").nth(2)).to_have_text(biller.username)
    phone.snap("scanned-row")
    with page.expect_navigation():
        row.get_by_role("button", name="Remove SB00040").click()
    expect(page.locator(".messages")).to_contain_text("SB00040 taken off the bill.")
    assert not BillBag.objects.filter(parent__qr_id="SB00040").exists()


def test_the_end_of_day_summary_reads_on_a_phone(phone, biller):
    """Defect 1: "118.0 kg of 150.0 kg expected" ran down the page a letter a line."""
    phone.login(biller)
    phone.goto("/bills/summary/", "summary")
    weight = phone.page.locator("dl.facts dd").last
    expect(weight).to_contain_text("kg expected")
    box = weight.bounding_box()
    assert box["width"] >= 150, box  # the value has room for words
    assert box["height"] <= 60, box  # two lines at most


def test_the_dashboard_says_signed_out_instead_of_showing_the_login_page(phone, biller):
    """Defect 3: after the session ended, the 5 s refresh put the login page inside."""
    page = phone.login(biller)
    phone.goto("/dashboard/")
    expect(page.locator("#dashboard")).to_be_visible()
    phone.context.clear_cookies()  # the session ends (idle timeout, logout elsewhere)
    banner = page.locator("#signed-out")
    expect(banner).to_have_text("Signed out — log in again", timeout=12_000)
    expect(banner.locator("a")).to_have_attribute("href", "/login/?next=%2Fdashboard%2F")
    assert page.locator("#dashboard #id_password").count() == 0
    phone.snap("signed-out")


def test_the_empty_scan_page_says_each_thing_once(phone, dispatcher):
    """Defect 7: "? / 30" and "Scan a parent bag" twice on the empty page."""
    page = phone.login(dispatcher)
    expect(page.locator("#title")).to_have_text("No parent bag yet")
    expect(page.locator("#code-label")).to_have_text("Scan a parent bag")
    expect(page.locator(".progress")).to_have_text("– / 30")
    assert page.get_by_text("Scan a parent bag", exact=True).count() == 1


def test_the_input_does_not_jump_when_the_label_changes(phone, dispatcher):
    """Defect 7: the label wraps once it reads "Scan a child bag (or the next parent)"."""
    page = phone.login(dispatcher)
    before = page.locator("#code").bounding_box()["y"]
    page.keyboard.type("SB00050")
    page.keyboard.press("Enter")
    expect(page.locator("#code-label")).to_have_text("Scan a child bag (or the next parent)")
    assert page.locator("#code").bounding_box()["y"] == before


def test_no_network_gives_way_once_the_saved_scans_are_sent(phone, dispatcher):
    """Defect 7: "No network…" stayed after a successful replay."""
    fill_parent(dispatcher, "SB00051", 0)
    page = phone.login(dispatcher)
    page.keyboard.type("SB00051")
    page.keyboard.press("Enter")
    expect(page.locator("#feedback")).to_contain_text("SB00051")
    phone.context.set_offline(True)
    page.keyboard.type("UXOFF-001")
    page.keyboard.press("Enter")
    expect(page.locator("#feedback")).to_contain_text("No network: UXOFF-001")
    phone.context.set_offline(False)
    expect(page.locator("#feedback")).to_have_text("Back online: the saved scans were sent.", timeout=15_000)
    expect(page.locator("#feedback")).to_have_class("feedback ok")


def test_a_code_that_is_no_parent_code_is_not_advised_to_be_scanned(phone, dispatcher):
    """Defect 7: /scan/NOTAPARENT/ said "scan it to start it"."""
    page = phone.login(dispatcher)
    phone.goto("/scan/NOTAPARENT/")
    messages = page.locator(".messages")
    expect(messages).to_contain_text("NOTAPARENT is not a parent bag code")
    expect(messages).not_to_contain_text("scan it to start it")


def test_the_dashboard_fits_a_phone_and_its_chart_has_a_y_axis(phone, biller, dispatcher):
    """Defect 9: the last-50 table made the page ~6,000 px tall; the chart had no y-axis."""
    fill_parent(dispatcher, "SB00060", 29, prefix="DSH")
    fill_parent(dispatcher, "SB00061", 19, prefix="DSI")
    page = phone.login(biller)
    phone.goto("/dashboard/", "dashboard-phone")
    expect(page.locator("#recent tbody tr")).to_have_count(50)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height < 3000, height
    ticks = page.locator("svg.chart text.y-tick").all_text_contents()
    assert ticks[0] == "0" and ticks[-1] == "50", ticks  # 2 parents + 48 children scanned this hour


def test_my_scans_today_counts_as_i_scan(phone, dispatcher):
    """What users expect: an operator sees their own count of the day."""
    fill_parent(dispatcher, "SB00080", 2, prefix="MY")  # three scans already today
    page = phone.login(dispatcher)
    expect(page.locator("#my-today-count")).to_have_text("3")
    page.keyboard.type("SB00080")
    page.keyboard.press("Enter")
    expect(page.locator("#my-today-count")).to_have_text("4")
    page.keyboard.type("MY-NEW-01")
    page.keyboard.press("Enter")
    expect(page.locator("#my-today-count")).to_have_text("5")
    page.keyboard.type("MY-NEW-01")  # a duplicate makes no scan
    page.keyboard.press("Enter")
    expect(page.locator("#feedback")).to_contain_text("already in this parent")
    expect(page.locator("#my-today-count")).to_have_text("5")
    page.reload()
    expect(page.locator("#my-today-count")).to_have_text("5")
