"""The operator's shift in Hindi on a 360 px phone, and every page in both languages (the
screenshots in $SCREENSHOT_DIR/test_every_page_in_both_languages/{en,hi}/)."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from billing.services import bill_add_parent, bill_create
from tests.browser.conftest import wait_js
from tests.helpers import fill_parent
from tests.i18n.test_hindi import DEVANAGARI, allowed_for, english_left

pytestmark = pytest.mark.browser


def scan(page, code: str):
    before = page.evaluate("document.getElementById('feedback').textContent")
    page.keyboard.type(code)
    page.keyboard.press("Enter")
    wait_js(page, f"document.getElementById('feedback').textContent !== {before!r}")
    return page.locator("#feedback").inner_text()


def test_an_operator_switches_to_hindi_and_scans_with_no_english_left(phone, dispatcher):
    fill_parent(dispatcher, "SB00501", 1, prefix="HP")
    page = phone.login(dispatcher)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    with page.expect_navigation():
        page.click("#language-hi")
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    assert page.url.endswith("/scan/") and phone.active_id() == "code"
    assert User.objects.get(pk=dispatcher.pk).language == "hi"
    allowed = allowed_for(dispatcher)
    said = [scan(page, "SB00502"), scan(page, "HP000010"), scan(page, "HP000010"), scan(page, "HP000000"),
            scan(page, "SB00501")]
    for line in said:
        assert DEVANAGARI.search(line) and english_left(f"<p>{line}</p>", allowed=allowed) == [], line
    assert "SB00502" in said[0] and "HP000000" in said[3]
    expect(page.locator("#feedback")).to_have_class("feedback ok")
    phone.snap("hindi-scanning")
    before = page.locator("#feedback").inner_text()
    page.click("#undo")
    wait_js(page, f"document.getElementById('feedback').textContent !== {before!r}")
    assert DEVANAGARI.search(page.locator("#feedback").inner_text())
    assert english_left(page.content(), allowed=allowed) == []

    phone.goto("/scan/", "hindi-again")  # kept: a reload, and every page after it
    expect(page.locator("html")).to_have_attribute("lang", "hi")
    assert english_left(page.content(), allowed=allowed) == []
    with page.expect_navigation():
        page.click("#language-en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("#code-label")).to_have_text("Scan a parent bag")


PAGES = {
    "dispatcher": ["/login/", "/password-reset/", "/", "/scan/", "/scan/SB00601/", "/lookup/?q=SB00601", "/offline/"],
    "biller": ["/", "/bills/", "/bills/new/", "/bills/SHOT-1/", "/bills/SHOT-1/manifest/", "/bills/summary/",
               "/dashboard/"],
}


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_page_in_both_languages(phone_factory, dispatcher, biller, language):
    fill_parent(dispatcher, "SB00601", 12, prefix="SH")
    fill_parent(dispatcher, "SB00602", 30, prefix="SI")
    bill_create(user=biller, bill_id="SHOT-1", capacity=3, destination="Kanpur depot", vehicle_number="UP 78 AB 1234")
    bill_add_parent(user=biller, bill_id="SHOT-1", parent_qr="SB00601")
    bill_add_parent(user=biller, bill_id="SHOT-1", parent_qr="SB00602")
    for user in (dispatcher, biller):
        user.language = language
        user.save(update_fields=["language"])
        phone = phone_factory(subdir=f"{language}/{user.role}", locale="hi-IN" if language == "hi" else "en-IN")
        phone.page.context.add_cookies([{"name": "django_language", "value": language, "url": phone.base_url}])
        for path in PAGES[user.role]:
            if path == "/":
                phone.login(user)
            phone.goto(path, f"{user.role}-{path}")
            expect(phone.page.locator("html")).to_have_attribute("lang", language)
        assert phone.too_wide == {}, "a page scrolls sideways at 360 px"
