"""Every kind of page works under the Content-Security-Policy: the operator pages (their own
tests, through the phone fixture), and here the admin, the browsable API and Swagger UI. The
phone fixture fails a test on any CSP violation the console reports."""

import pytest
from playwright.sync_api import expect

from tests.helpers import fill_parent

pytestmark = pytest.mark.browser


def test_a_violation_is_caught(phone, dispatcher):
    """The check itself: an inline script is refused, and the phone reports it."""
    phone.login(dispatcher)
    phone.page.evaluate("""() => { const s = document.createElement('script');
                                   s.textContent = 'window.ran = 1'; document.body.appendChild(s); }""")
    phone.page.wait_for_timeout(200)
    assert phone.page.evaluate("window.ran") is None
    assert phone.csp_violations, "the inline script ran or was refused silently"
    phone.csp_violations.clear()


def test_every_answer_carries_the_security_headers(phone, dispatcher):
    response = phone.goto("/login/")
    headers = response.headers
    csp = headers["content-security-policy"]
    script_src = next(part for part in csp.split(";") if part.strip().startswith("script-src"))
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert headers["permissions-policy"].startswith("bluetooth=(), camera=(self)") or \
        "camera=(self)" in headers["permissions-policy"]
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-content-type-options"] == "nosniff"


def test_the_admin_works_under_the_policy(phone, admin_user, dispatcher):
    fill_parent(dispatcher, "SB00070", 2)
    page = phone.page
    phone.goto("/admin/login/", "admin-login")
    page.fill("#id_username", admin_user.username)
    from tests.conftest import PASSWORD
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    for path in ["/admin/", "/admin/bags/bag/", "/admin/scans/scan/", "/admin/accounts/user/add/",
                 "/admin/accounts/apitoken/", "/admin/billing/bill/add/", "/admin/accounts/auditlog/"]:
        response = phone.goto(path)
        assert response.status == 200, path
    # The admin's own scripts run: the changelist's "select all" checkbox ticks every row.
    phone.goto("/admin/bags/bag/")
    page.click("#action-toggle")
    expect(page.locator("input.action-select").first).to_be_checked()
    # The user form's role-dependent widgets and the password toggles are scripts too.
    phone.goto("/admin/accounts/user/add/")
    expect(page.locator("#id_username")).to_be_visible()


def test_swagger_ui_and_the_browsable_api_work_under_the_policy(phone, dispatcher):
    page = phone.login(dispatcher)
    phone.goto("/api/v1/docs/", "swagger")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("TraceTrack", timeout=15000)
    expect(page.locator(".opblock").first).to_be_visible()
    phone.snap("swagger-rendered")
    phone.goto("/api/v1/bags/", "browsable-api")
    expect(page.locator(".response-info")).to_be_visible()
    # The browsable API's scripts (jQuery, its forms) ran: the format dropdown opens.
    page.locator(".format-selection .dropdown-toggle, #get-form .dropdown-toggle").first.click()
    expect(page.locator(".dropdown-menu").first).to_be_visible()
