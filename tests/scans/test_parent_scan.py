import pytest

from accounts.models import Role
from bags.models import Bag, BagKind, BagStatus
from bags.services import bag_create
from scans.models import Scan, ScanKind
from scans.services import scan_parent
from tests.helpers import refused

pytestmark = pytest.mark.django_db


def test_new_parent_is_created_pending_with_a_scan(dispatcher):
    result = scan_parent(user=dispatcher, qr_id="  sb00001 ")
    assert result.created is True
    bag = result.bag
    assert (bag.qr_id, bag.kind, bag.status, bag.child_count) == ("SB00001", BagKind.PARENT, BagStatus.PENDING, 0)
    assert bag.dispatch_area == dispatcher.dispatch_area
    assert bag.created_by == dispatcher
    assert result.scan.kind == ScanKind.PARENT and result.scan.qr_id == "SB00001" and result.scan.user == dispatcher


def test_existing_parent_is_accepted_and_scanned_again(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    again = scan_parent(user=dispatcher, qr_id="sb00001")
    assert again.created is False
    assert Bag.objects.count() == 1
    assert Scan.objects.filter(kind=ScanKind.PARENT, qr_id="SB00001").count() == 2


def test_m444_codes_are_parent_codes(dispatcher):
    assert scan_parent(user=dispatcher, qr_id="m444-12345").bag.qr_id == "M444-12345"


@pytest.mark.parametrize("raw", ["", "   ", "SB1234", "SB123456", "XB12345", "M444-1234", "C0000001", None, "SB 12345"])
def test_malformed_parent_code_is_invalid(dispatcher, raw):
    error = refused("invalid", scan_parent, user=dispatcher, qr_id=raw)
    assert error.status == 400 and "qr_id" in error.extra["errors"]
    assert Bag.objects.count() == 0 and Scan.objects.count() == 0


def test_dispatcher_area_is_forced_to_their_own(dispatcher, indore):
    bag = scan_parent(user=dispatcher, qr_id="SB00001", dispatch_area="indore").bag
    assert bag.dispatch_area.code == "lucknow"


def test_biller_and_admin_choose_the_area_or_none(biller, admin_user, indore):
    assert scan_parent(user=biller, qr_id="SB00001", dispatch_area=" INDORE ").bag.dispatch_area == indore
    assert scan_parent(user=admin_user, qr_id="SB00002").bag.dispatch_area is None


def test_unknown_area_is_invalid(biller):
    error = refused("invalid", scan_parent, user=biller, qr_id="SB00001", dispatch_area="atlantis")
    assert "dispatch_area" in error.extra["errors"]


def test_parent_of_another_area_is_refused_for_a_dispatcher(dispatcher, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00001")
    refused("area_mismatch", scan_parent, user=dispatcher, qr_id="SB00001")
    assert Scan.objects.count() == 1


def test_biller_may_scan_a_parent_of_any_area(biller, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00001")
    assert scan_parent(user=biller, qr_id="SB00001").created is False


def test_existing_child_scanned_as_parent_is_refused(admin_user, settings):
    # Reachable for data created before a format setting changed (DESIGN.md rule 2).
    settings.CHILD_QR_PATTERN = r"^[A-Z0-9][A-Z0-9-]{3,29}$"
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5}|LEGACY\d)$"
    Bag.objects.create(qr_id="LEGACY1", kind=BagKind.CHILD)
    refused("is_child", scan_parent, user=admin_user, qr_id="legacy1")


def test_inactive_user_may_not_scan(make_user):
    user = make_user(Role.DISPATCHER)
    user.is_active = False
    refused("permission_denied", scan_parent, user=user, qr_id="SB00001")


def test_bag_create_then_parent_scan_keeps_the_area(biller, indore):
    bag_create(user=biller, qr_id="SB00009", kind="parent", dispatch_area="indore")
    result = scan_parent(user=biller, qr_id="SB00009", dispatch_area="lucknow")
    assert result.created is False and result.bag.dispatch_area == indore
