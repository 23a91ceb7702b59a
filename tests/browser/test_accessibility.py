"""Accessibility of every operator and biller page, checked by axe-core (Deque's rules,
WCAG 2.1 A and AA, colour contrast included) in Chromium at 360 px, in the light scheme, the
dark one (prefers-color-scheme) and high contrast (prefers-contrast: more)."""

import pytest
from axe_playwright_python.sync_playwright import Axe

from billing.services import bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.browser

AXE = Axe()
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
         "resultTypes": ["violations"]}
SCHEMES = {"light": {"color_scheme": "light"}, "dark": {"color_scheme": "dark"},
           "high-contrast": {"color_scheme": "light", "contrast": "more"},
           "high-contrast-dark": {"color_scheme": "dark", "contrast": "more"}}


def violations(page) -> list[str]:
    """axe's violations on the page, one line each: rule, impact, the first few elements."""
    results = AXE.run(page, options=RULES).response
    return [f"{v['id']} ({v['impact']}): {v['help']} — "
            + "; ".join(" ".join(node["target"]) + " " + (node.get("failureSummary") or "").replace("\n", " ")[:160]
                        for node in v["nodes"][:4])
            for v in results["violations"]]


@pytest.fixture
def floor(dispatcher, biller):
    fill_parent(dispatcher, "SB00071", 3, prefix="AX")
    bill_create(user=biller, bill_id="AX-1", capacity=2, destination="Agra", vehicle_number="UP 32 AX 1")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_operator_pages_pass_axe(phone_factory, dispatcher, floor, scheme):
    phone = phone_factory(subdir=scheme, **SCHEMES[scheme])
    page = phone.login(dispatcher)
    found = {}
    for path in ["/", "/lookup/?q=SB00071", "/lookup/?q=SB0007", "/scan/", "/scan/SB00071/"]:
        phone.goto(path, f"{scheme}-{path}")
        found[path] = violations(page)
    page.keyboard.type("AX999999")  # a child scan: the feedback line and the new child on the page
    page.keyboard.press("Enter")
    page.wait_for_selector("#feedback:not(:empty)")
    found["/scan/SB00071/ after a scan"] = violations(page)
    assert not {path: lines for path, lines in found.items() if lines}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_biller_pages_pass_axe(phone_factory, biller, floor, scheme):
    phone = phone_factory(subdir=scheme, **SCHEMES[scheme])
    page = phone.login(biller)
    found = {}
    for path in ["/", "/bills/", "/bills/new/", "/bills/AX-1/", "/bills/AX-1/manifest/", "/bills/summary/",
                 "/dashboard/"]:
        phone.goto(path, f"{scheme}-{path}")
        found[path] = violations(page)
    assert not {path: lines for path, lines in found.items() if lines}


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_signed_out_pages_pass_axe(phone_factory, scheme):
    phone = phone_factory(subdir=scheme, **SCHEMES[scheme])
    found = {}
    for path in ["/login/", "/password-reset/", "/offline/"]:
        phone.goto(path, f"{scheme}-{path}")
        found[path] = violations(phone.page)
    assert not {path: lines for path, lines in found.items() if lines}
