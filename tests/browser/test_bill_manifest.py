"""The bill manifest in headless Chromium on a 360 px phone: reached from the bill page, no
element wider than the screen, the Print button prints, and on paper the navigation and the
buttons are gone. The bill page's CSV link downloads the bill's parents."""

import pytest
from playwright.sync_api import expect

from billing.services import bill_add_parent, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.browser

# Elements reaching past the phone's 360 px (to their right edge), by tag, id and class.
TOO_WIDE_JS = """() => Array.from(document.querySelectorAll('body, body *'))
  .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > 360.5 || r.width > 360.5); })
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined
        ? '.' + e.className : '') + ' ' + Math.round(e.getBoundingClientRect().right))"""


def test_the_bill_page_leads_to_a_manifest_that_fits_the_phone_and_prints(phone, biller, dispatcher):
    fill_parent(dispatcher, "SB00050", 30, prefix="MA")
    fill_parent(dispatcher, "SB00051", 4, prefix="MB")
    bill_create(user=biller, bill_id="TRUCK-MANIFEST-2026-LONG-ID", capacity=3,
                destination="Kanpur central depot, gate 4 (night unloading only)", vehicle_number="UP32 AB 1234",
                description="Long description " * 5)
    for code in ("SB00050", "SB00051"):
        bill_add_parent(user=biller, bill_id="TRUCK-MANIFEST-2026-LONG-ID", parent_qr=code)
    page = phone.login(biller)
    phone.goto("/bills/TRUCK-MANIFEST-2026-LONG-ID/", "bill")

    with page.expect_download() as download:
        page.click("#bill-csv")
    name = download.value.suggested_filename
    assert name.startswith("bill-TRUCK-MANIFEST-2026-LONG-ID-") and name.endswith(".csv")
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0] == "Parent bag,Children,Weight (kg),Added at" and lines[1].startswith("SB00050,30,30.0,")

    with page.expect_navigation():
        page.click("#manifest-link")
    expect(page).to_have_url(phone.base_url + "/bills/TRUCK-MANIFEST-2026-LONG-ID/manifest/")
    phone.snap("manifest")
    expect(page.locator("#m-children")).to_have_text("34")
    expect(page.locator("#m-weight")).to_have_text("34.0")
    expect(page.locator("#m-parents tbody tr")).to_have_count(2)
    expect(page.locator("#m-signatures .sign")).to_have_count(3)
    assert page.evaluate(TOO_WIDE_JS) == []
    assert not phone.too_wide, phone.too_wide

    # The Print button (static/js/print.js, no inline handler) opens the print dialog.
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    page.click("#print")
    assert page.evaluate("window.printed") == 1

    page.emulate_media(media="print")
    phone.snap("manifest-print")
    for hidden in ("header.top", "nav", "#print", ".no-print", ".logout"):
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator("#m-parents")).to_be_visible()
    expect(page.locator("#m-signatures")).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector('#m-parents td')).borderTopStyle") == "solid"
    assert page.evaluate("getComputedStyle(document.querySelector('#m-parents')).display") == "table"
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
