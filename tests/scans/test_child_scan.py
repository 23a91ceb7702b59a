import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import bag_create
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.models import Scan, ScanKind
from scans.services import scan_child, scan_parent
from tests.helpers import child_code, fill_parent, refused

pytestmark = pytest.mark.django_db


def test_child_scan_links_and_counts(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    result = scan_child(user=dispatcher, parent_qr="sb00001", qr_id=" ch-0001 ")
    assert result.duplicate is False and result.created is True
    child, parent = result.child, result.parent
    assert (child.qr_id, child.kind, child.status) == ("CH-0001", BagKind.CHILD, BagStatus.COMPLETED)
    assert child.dispatch_area == parent.dispatch_area == dispatcher.dispatch_area
    parent.refresh_from_db()
    assert (parent.child_count, parent.status) == (1, BagStatus.IN_PROGRESS)
    assert Link.objects.get(child=child).parent == parent
    scan = result.scan
    assert (scan.kind, scan.qr_id, scan.parent_qr, scan.user, scan.created_bag) == (
        ScanKind.CHILD, "CH-0001", "SB00001", dispatcher, True,
    )


def test_parent_completes_at_thirty_and_refuses_the_thirty_first(dispatcher):
    parent = fill_parent(dispatcher, "SB00001", 30)
    parent.refresh_from_db()
    assert (parent.child_count, parent.status) == (30, BagStatus.COMPLETED)
    error = refused("capacity_reached", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999")
    assert error.status == 409
    assert not Bag.objects.filter(qr_id="CH999999").exists()
    assert Link.objects.count() == 30


def test_capacity_is_a_setting(dispatcher, settings):
    settings.PARENT_CAPACITY = 3
    parent = fill_parent(dispatcher, "SB00001", 3)
    parent.refresh_from_db()
    assert parent.status == BagStatus.COMPLETED
    refused("capacity_reached", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999")


def test_duplicate_is_harmless_and_carries_the_original_scan(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    first = scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001")
    again = scan_child(user=dispatcher, parent_qr="SB00001", qr_id="ch000001")
    assert again.duplicate is True and again.created is False
    assert again.scan == first.scan
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 1
    again.parent.refresh_from_db()
    assert again.parent.child_count == 1


def test_duplicate_comes_before_capacity_and_frozen(dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 30)
    assert scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(0)).duplicate is True
    bill_create(user=biller, bill_id="BILL1", capacity=1, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL1")
    assert scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(5)).duplicate is True


def test_duplicate_comes_before_area_mismatch(dispatcher, other_dispatcher):
    fill_parent(other_dispatcher, "SB00001", 1)
    assert scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(0)).duplicate is True


def test_child_in_another_parent_is_refused_with_its_parent(dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    scan_parent(user=dispatcher, qr_id="SB00002")
    error = refused("already_linked", scan_child, user=dispatcher, parent_qr="SB00002", qr_id=child_code(0))
    assert error.extra["current_parent"] == "SB00001"
    assert error.as_dict() == {"code": "already_linked", "detail": error.detail, "current_parent": "SB00001"}


def test_unknown_parent_is_not_found(dispatcher):
    error = refused("not_found", scan_child, user=dispatcher, parent_qr="SB00404", qr_id="CH000001")
    assert error.status == 404
    assert not Bag.objects.exists()


@pytest.mark.parametrize(
    "parent_qr,qr_id,field",
    [("SB0001", "CH000001", "parent"), ("SB00001", "SB00002", "qr_id"), ("SB00001", "C-1", "qr_id"),
     ("SB00001", "-ABCD", "qr_id"), ("SB00001", "A" * 31, "qr_id"), ("SB00001", "", "qr_id"), ("SB00001", "CH_0001", "qr_id")],
)
def test_format_is_checked_first(dispatcher, parent_qr, qr_id, field):
    error = refused("invalid", scan_child, user=dispatcher, parent_qr=parent_qr, qr_id=qr_id)
    assert field in error.extra["errors"]


def test_format_comes_before_existence(dispatcher):
    refused("invalid", scan_child, user=dispatcher, parent_qr="SB00404", qr_id="x")


def test_existing_parent_scanned_as_child_is_refused(admin_user, settings):
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5}|OLDP\d{4})$"
    scan_parent(user=admin_user, qr_id="SB00001")
    bag_create(user=admin_user, qr_id="OLDP0001", kind="parent")
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5})$"  # the format changed since
    refused("is_parent", scan_child, user=admin_user, parent_qr="SB00001", qr_id="OLDP0001")


def test_a_child_used_as_parent_is_refused(admin_user, settings):
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5}|OLDC\d{4})$"
    settings.CHILD_QR_PATTERN = r"^[A-Z0-9][A-Z0-9-]{3,29}$"
    Bag.objects.create(qr_id="OLDC0001", kind=BagKind.CHILD)
    refused("is_child", scan_child, user=admin_user, parent_qr="OLDC0001", qr_id="CH000001")


def test_parent_of_another_area_is_refused(dispatcher, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00001")
    refused("area_mismatch", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH000001")
    assert not Bag.objects.filter(kind=BagKind.CHILD).exists()


def test_frozen_parent_refuses_new_children(dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    bill_create(user=biller, bill_id="BILL1", capacity=1, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL1")
    error = refused("bill_completed", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999")
    assert "BILL1" in error.detail


def test_existing_pending_child_is_linked_not_created(biller, dispatcher):
    bag_create(user=biller, qr_id="CH000001", kind="child")
    scan_parent(user=dispatcher, qr_id="SB00001")
    result = scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001")
    assert result.created is False and result.scan.created_bag is False
    assert result.child.status == BagStatus.COMPLETED
    assert result.child.dispatch_area == dispatcher.dispatch_area  # children take their parent's area


def test_refusal_changes_nothing(dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    before = (Bag.objects.count(), Link.objects.count(), Scan.objects.count())
    refused("capacity_reached", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999")
    assert (Bag.objects.count(), Link.objects.count(), Scan.objects.count()) == before


def test_child_scan_query_count_is_constant(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000000")
    counts = []
    for n in (1, 20):
        with CaptureQueriesContext(connection) as ctx:
            scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(n))
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
    # locks, link, counts, scan row, the three counter upserts (figures, area tallies,
    # operator tally), savepoints
    assert counts[0] <= 14, [q["sql"] for q in ctx.captured_queries]


def test_biller_and_admin_may_scan_any_area(biller, admin_user, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00001")
    assert scan_child(user=biller, parent_qr="SB00001", qr_id="CH000001").duplicate is False
    assert scan_child(user=admin_user, parent_qr="SB00001", qr_id="CH000002").duplicate is False


def test_parent_without_area_is_refused_for_a_dispatcher(admin_user, make_user):
    scan_parent(user=admin_user, qr_id="SB00001")
    refused("area_mismatch", scan_child, user=make_user(Role.DISPATCHER), parent_qr="SB00001", qr_id="CH000001")
