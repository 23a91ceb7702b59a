"""The biller's pages in headless Chromium on a phone: create a bill, scan parents onto it,
complete and reopen it, checked against the database."""

import pytest
from playwright.sync_api import expect

from billing.models import Bill, BillBag, BillStatus
from tests.helpers import fill_parent

pytestmark = pytest.mark.browser


def test_biller_creates_fills_completes_and_reopens_a_bill(phone, biller, dispatcher):
    fill_parent(dispatcher, "SB00010", 30, prefix="BA")
    fill_parent(dispatcher, "SB00011", 30, prefix="BB")
    fill_parent(dispatcher, "SB00012", 2, prefix="BC")
    page = phone.login(biller)
    assert page.url.rstrip("/") == phone.base_url, "a biller lands on the home menu"

    page.click("nav >> text=Bills")
    phone.snap("bills")
    page.click("text=New bill")
    expect(page).to_have_url(phone.base_url + "/bills/new/")
    phone.snap("new-bill-form")

    # An invalid form comes back with the fields kept and the errors next to them.
    page.fill("#bill_id", "truck-7")
    page.fill("#capacity", "0")
    page.click("form.stack button[type=submit]")
    expect(page.locator("#e-capacity")).to_be_visible()
    expect(page.locator("#bill_id")).to_have_value("truck-7")
    phone.snap("form-errors")
    assert not Bill.objects.exists()

    page.fill("#capacity", "2")
    page.fill("#destination", "Kanpur depot")
    page.fill("#vehicle_number", "up32 ab 1234")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    expect(page).to_have_url(phone.base_url + "/bills/TRUCK-7/")
    expect(page.locator(".messages")).to_contain_text("Bill TRUCK-7 created")
    expect(page.locator("#count")).to_have_text("0")
    phone.snap("bill-created")
    bill = Bill.objects.get(bill_id="TRUCK-7")
    assert (bill.capacity, bill.status, bill.created_by) == (2, BillStatus.NEW, biller)
    assert page.evaluate("document.activeElement.id") == "code"

    feedback = page.locator("#feedback")
    page.keyboard.type("SB00010")
    page.keyboard.press("Enter")
    expect(feedback).to_have_text("SB00010 added: 1 / 2")
    expect(feedback).to_have_class("feedback ok")
    expect(page.locator("#count")).to_have_text("1")

    page.keyboard.type("sb00010")  # again: a harmless duplicate
    page.keyboard.press("Enter")
    expect(feedback).to_have_text("SB00010 is already on this bill.")
    expect(feedback).to_have_class("feedback dup")

    page.keyboard.type("SB00011")
    page.keyboard.press("Enter")
    expect(feedback).to_contain_text("SB00011 added. The bill is full")
    expect(page.locator("#count")).to_have_text("2")
    expect(page.locator(".progress")).to_have_text("2 / 2 parents")
    expect(page.locator("#actual-kg")).to_have_text("60.0")

    page.keyboard.type("SB00012")  # a third parent does not fit
    page.keyboard.press("Enter")
    expect(feedback).to_have_text("SB00012: The bill is full.")
    expect(feedback).to_have_class("feedback err")
    phone.snap("bill-full")
    assert sorted(BillBag.objects.filter(bill=bill).values_list("parent__qr_id", flat=True)) == ["SB00010", "SB00011"]
    bill.refresh_from_db()
    assert (bill.parent_count, bill.status) == (2, BillStatus.IN_PROGRESS)

    with page.expect_navigation():
        page.click("#complete")
    expect(page.locator(".messages")).to_contain_text("Bill completed.")
    expect(page.locator("#bill-status")).to_have_text("Completed")
    expect(page.locator("#code")).to_have_count(0)
    phone.snap("bill-completed")
    bill.refresh_from_db()
    assert bill.status == BillStatus.COMPLETED and bill.completed_at is not None
    assert bill.completed_by == biller

    with page.expect_navigation():
        page.click("#reopen")
    expect(page.locator(".messages")).to_contain_text("Bill reopened.")
    expect(page.locator("#code")).to_be_visible()
    phone.snap("bill-reopened")
    bill.refresh_from_db()
    assert bill.status == BillStatus.IN_PROGRESS and bill.completed_at is None
    assert bill.parent_count == 2

    # The list shows the bill as the biller left it.
    phone.goto("/bills/", "bill-list")
    row = page.locator("tbody tr", has_text="TRUCK-7")
    expect(row).to_contain_text("In progress")
    expect(row).to_contain_text("2 / 2")


def test_complete_refused_while_the_bill_is_short(phone, biller, dispatcher):
    fill_parent(dispatcher, "SB00013", 30, prefix="BD")
    page = phone.login(biller)
    phone.goto("/bills/new/")
    page.fill("#bill_id", "SHORT-1")
    page.fill("#capacity", "2")
    page.fill("#destination", "Agra")
    page.fill("#vehicle_number", "UP80 1")
    with page.expect_navigation():
        page.click("form.stack button[type=submit]")
    phone.snap("bill-created")
    page.keyboard.type("SB00013")
    page.keyboard.press("Enter")
    expect(page.locator("#count")).to_have_text("1")

    with page.expect_navigation():
        page.click("#complete")
    expect(page.locator(".messages .msg-error")).to_contain_text("1 of 2")
    phone.snap("complete-refused")
    assert Bill.objects.get(bill_id="SHORT-1").status == BillStatus.IN_PROGRESS
