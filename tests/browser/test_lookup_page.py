"""The lookup page in headless Chromium on a phone."""

import pytest
from playwright.sync_api import expect

from scans.services import undo_last_scan
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.browser


def test_lookup_a_child_its_parent_and_prefix_suggestions(phone, dispatcher, other_dispatcher):
    fill_parent(dispatcher, "SB00020", 4, prefix="LK")
    undo_last_scan(user=dispatcher, parent_qr="SB00020")  # LK000003 comes and goes
    fill_parent(other_dispatcher, "SB00021", 1, prefix="LKX")  # another area: invisible
    page = phone.login(dispatcher)

    phone.goto(f"/lookup/?q={child_code(1, 'lk')}", "child")
    expect(page.locator("#bag-title")).to_have_text(f"Child {child_code(1, 'LK')}")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("Completed")
    expect(facts.locator("a", has_text="SB00020")).to_be_visible()
    history = page.locator("#history tbody tr")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text(f"Child {child_code(1, 'LK')} → SB00020")
    expect(history.first).to_contain_text(dispatcher.username)

    with page.expect_navigation():
        facts.locator("a", has_text="SB00020").click()
    phone.snap("parent")
    expect(page.locator("#bag-title")).to_have_text("Parent SB00020")
    expect(page.locator("#children li")).to_have_text([child_code(n, "LK") for n in range(3)])
    # The parent's history: its own scan, three child scans and the undone fourth.
    expect(page.locator("#history tbody tr")).to_have_count(5)
    expect(page.locator("#history tbody tr", has_text="(undone)")).to_have_count(1)

    # A prefix lists the bags that start with it, of this area only.
    phone.goto("/lookup/?q=lk0", "prefix")
    suggestions = page.locator("#suggestions li a")
    expect(suggestions).to_have_text([child_code(n, "LK") for n in range(3)])
    with page.expect_navigation():
        suggestions.nth(2).click()
    expect(page.locator("#bag-title")).to_have_text(f"Child {child_code(2, 'LK')}")
    phone.snap("suggested-child")

    # Typing offers suggestions from the API while the operator types (a datalist).
    page.fill("#q", "")
    page.locator("#q").type("lk00")
    expect(page.locator("#suggest option")).to_have_count(3)
    values = page.locator("#suggest option").evaluate_all("options => options.map(o => o.value)")
    assert sorted(values) == [child_code(n, "LK") for n in range(3)]
    phone.snap("typing-suggestions")

    phone.goto("/lookup/?q=LKX000000", "other-area")
    expect(page.locator(".banner.err")).to_have_text("No bag LKX000000 in your area.")
