"""What users of the field's scanning apps take for granted (issue 18), on a 360 px phone:
wedge scanners without the on-screen keyboard, a parent on a completed bill said plainly,
the phone's dark or high-contrast setting followed."""

import pytest
from playwright.sync_api import expect

from billing.services import bill_add_parent, bill_complete, bill_create
from scans.models import Scan
from tests.browser.test_scan_page import wedge_scan
from tests.helpers import fill_parent

pytestmark = pytest.mark.browser


def test_a_wedge_scanner_keeps_the_keyboard_down_and_the_phone_remembers(phone, dispatcher):
    page = phone.login(dispatcher)
    toggle = page.locator("#keyboard")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    assert page.get_attribute("#code", "inputmode") is None  # the ordinary keyboard by default
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assert page.get_attribute("#code", "inputmode") == "none"  # no on-screen keyboard
    assert phone.active_id() == "code", "the input keeps the focus for the scanner"
    wedge_scan(phone, "SB00301", expect_text="New parent SB00301")  # the scanner still types into it
    wedge_scan(phone, "RM000001", expect_text="RM000001")
    assert Scan.objects.filter(qr_id="RM000001").exists()
    phone.snap("wedge-mode")

    phone.goto("/scan/", "reloaded")  # remembered on this phone, rendered so from the server
    expect(page.locator("#keyboard")).to_have_attribute("aria-pressed", "true")
    assert page.get_attribute("#code", "inputmode") == "none"
    html = page.evaluate("fetch('/scan/', {credentials: 'same-origin'}).then(r => r.text())")
    assert 'inputmode="none"' in html, "the server renders the choice: the keyboard does not flash up on load"
    page.locator("#keyboard").click()
    expect(page.locator("#keyboard")).to_have_attribute("aria-pressed", "false")
    assert page.get_attribute("#code", "inputmode") is None
    phone.goto("/scan/", "keyboard-back")
    assert page.get_attribute("#code", "inputmode") is None


def test_the_bill_page_has_the_same_toggle(phone, biller):
    bill_create(user=biller, bill_id="WG-1", capacity=2, destination="Agra", vehicle_number="UP 1")
    page = phone.login(biller)
    phone.goto("/bills/WG-1/")
    page.locator("#keyboard").click()
    assert page.get_attribute("#code", "inputmode") == "none"
    phone.goto("/bills/WG-1/", "bill-reloaded")
    assert page.get_attribute("#code", "inputmode") == "none"


def test_a_parent_on_a_completed_bill_is_said_in_red_not_scan_its_children(phone, dispatcher, biller):
    """Defect 7: scanning a parent on a completed bill said green "scan its children"."""
    fill_parent(dispatcher, "SB00302", 2, prefix="FZ")
    bill_create(user=biller, bill_id="FZ-1", capacity=1, destination="Agra", vehicle_number="UP 2")
    bill_add_parent(user=biller, bill_id="FZ-1", parent_qr="SB00302")
    bill_complete(user=biller, bill_id="FZ-1")
    fill_parent(dispatcher, "SB00303", 1, prefix="FY")
    bill_create(user=biller, bill_id="FZ-2", capacity=2, destination="Agra", vehicle_number="UP 3")
    bill_add_parent(user=biller, bill_id="FZ-2", parent_qr="SB00303")  # on a bill that is still open

    page = phone.login(dispatcher)
    feedback = page.locator("#feedback")
    wedge_scan(phone, "SB00302", expect_text="SB00302")
    expect(feedback).to_have_class("feedback err")
    expect(feedback).to_contain_text("Parent SB00302 is on completed bill FZ-1: its children cannot change.")
    phone.snap("frozen-parent")
    wedge_scan(phone, "SB00303", expect_text="Parent SB00303: scan its children.")
    page.wait_for_timeout(300)  # its state was asked too: still green
    expect(feedback).to_have_class("feedback ok")


def _colours(page, selector: str) -> tuple[str, str]:
    return tuple(page.evaluate(f"""(() => {{ const s = getComputedStyle(document.querySelector({selector!r}));
        return [s.color, s.backgroundColor]; }})()"""))


@pytest.mark.parametrize("scheme, options, ink, ground", [
    ("light", {"color_scheme": "light"}, "rgb(27, 31, 35)", "rgb(246, 247, 244)"),
    ("dark", {"color_scheme": "dark"}, "rgb(232, 234, 230)", "rgb(18, 21, 18)"),
    ("high-contrast", {"color_scheme": "light", "contrast": "more"}, "rgb(0, 0, 0)", "rgb(255, 255, 255)"),
    ("high-contrast-dark", {"color_scheme": "dark", "contrast": "more"}, "rgb(255, 255, 255)", "rgb(0, 0, 0)"),
])
def test_the_pages_follow_the_phones_colour_scheme(phone_factory, dispatcher, scheme, options, ink, ground):
    phone = phone_factory(subdir=scheme, **options)
    page = phone.login(dispatcher)
    assert _colours(page, "body") == (ink, ground)
    wedge_scan(phone, "SB00305", expect_text="SB00305")
    colour, background = _colours(page, "#feedback")
    assert background != "rgba(0, 0, 0, 0)" and colour != ink  # the result's own colours, in this scheme
    if "contrast" in options:
        assert page.evaluate("getComputedStyle(document.querySelector('#feedback')).borderTopWidth") == "3px"
    phone.snap(f"{scheme}-scan")
