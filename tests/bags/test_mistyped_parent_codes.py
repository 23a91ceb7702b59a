"""DESIGN.md rule 1: a child code that starts like a parent code (`SB` + digit, `M444-`) is a
mistyped or misread parent label — refused with 400 `invalid` on every path that creates a
child, never stored."""

import pytest

from bags.codes import is_child_code, parse_code
from bags.models import Bag, BagKind
from bags.services import bag_create, bags_create
from scans.services import scan_children, scan_parent
from tests.backoffice.conftest import BAG_IMPORT_URL, csv_bytes, upload
from tests.helpers import refused
from tracetrack.errors import InvalidInput

pytestmark = pytest.mark.django_db

NEAR_MISSES = ["SB00098X", "sb00098x", "SB0009", "SB000981", "SB1-CHILD", "M444-1234", "M444-123456", "M444-ABCDE"]


@pytest.mark.parametrize("code", NEAR_MISSES)
def test_a_near_miss_of_a_parent_code_is_no_child_code(code):
    assert not is_child_code(code.upper())
    with pytest.raises(InvalidInput) as info:
        parse_code(code, BagKind.CHILD)
    assert "mistyped parent code" in info.value.errors["qr_id"][0]


@pytest.mark.parametrize("code", ["SBX0001", "S0000001", "M444X-1", "M4441234", "CH-SB00001", "KSB10001-C01"])
def test_codes_that_only_resemble_a_parent_are_children(code):
    assert is_child_code(code)


def test_the_scan_page_api_refuses_it_and_stores_nothing(api, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    response = api(dispatcher).post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "SB00098X"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "mistyped parent code" in response.json()["errors"]["qr_id"][0]
    assert not Bag.objects.filter(qr_id="SB00098X").exists()
    assert Bag.objects.get(qr_id="SB00001").child_count == 0


def test_bag_create_refuses_it(api, biller):
    response = api(biller).post("/api/v1/bags/", {"qr_id": "M444-1234", "kind": "child"}, format="json")
    assert response.status_code == 400 and "mistyped parent code" in response.json()["detail"]
    refused("invalid", bag_create, user=biller, qr_id="SB00098X", kind=BagKind.CHILD)
    (outcome,) = bags_create(user=biller, bags=[("SB00098X", BagKind.CHILD, None)])
    assert isinstance(outcome, InvalidInput)
    assert not Bag.objects.exists()


def test_the_import_services_refuse_it_in_its_place(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    outcomes = scan_children(user=dispatcher, parent_qr="SB00001", qr_ids=["CH000001", "SB00098X", "CH000002"])
    assert [type(outcome).__name__ for outcome in outcomes] == ["ChildScanResult", "InvalidInput", "ChildScanResult"]
    assert Bag.objects.get(qr_id="SB00001").child_count == 2


def test_the_admin_import_reports_the_row(client, admin_user, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"
    client.force_login(admin_user)
    rows = [["qr_id", "kind", "parent_qr_id"], ["SB00001", "parent", ""], ["SB00098X", "child", "SB00001"],
            ["CH000001", "child", "SB00001"]]
    response = upload(client, BAG_IMPORT_URL, "bags.csv", csv_bytes(rows))
    report = response.context["report"]
    assert report.good_rows == 2
    ((where, reasons),) = [(problem.where, problem.reasons) for problem in report.problems]
    assert reasons[0][0] == "invalid" and "mistyped parent code" in reasons[0][1]
    assert not Bag.objects.exists()
