from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import AuditLog, Role
from bags.models import Bag, BagStatus, Link
from bags.services import bag_create
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.models import Scan
from scans.services import scan_child, scan_parent, undo_last_scan
from tests.helpers import fill_parent, refused

pytestmark = pytest.mark.django_db


def test_undo_removes_the_newest_scan_and_deletes_a_child_it_created(dispatcher):
    fill_parent(dispatcher, "SB00001", 3)
    result = undo_last_scan(user=dispatcher, parent_qr="sb00001")
    assert result.removed == "CH000002"
    assert not Bag.objects.filter(qr_id="CH000002").exists()
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (2, BagStatus.IN_PROGRESS)
    scan = Scan.objects.get(qr_id="CH000002")
    assert scan.undone_at is not None and scan.bag is None and scan.parent_qr == "SB00001"
    assert AuditLog.objects.filter(action="scan.undo", entity_id=str(scan.scan_id), actor=dispatcher).exists()


def test_undo_twice_walks_back(dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    assert undo_last_scan(user=dispatcher, parent_qr="SB00001").removed == "CH000001"
    assert undo_last_scan(user=dispatcher, parent_qr="SB00001").removed == "CH000000"
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (0, BagStatus.PENDING)
    refused("nothing_to_undo", undo_last_scan, user=dispatcher, parent_qr="SB00001")


def test_undo_of_a_pre_existing_child_sends_it_back_to_pending(biller, dispatcher):
    bag_create(user=biller, qr_id="CH000001", kind="child")
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001")
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    child = Bag.objects.get(qr_id="CH000001")
    assert child.status == BagStatus.PENDING and not Link.objects.filter(child=child).exists()


def test_undo_of_a_full_parent_reopens_it(dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (29, BagStatus.IN_PROGRESS)
    assert scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH999999").duplicate is False


def test_undo_only_touches_the_callers_scans(dispatcher, make_user):
    colleague = make_user(Role.DISPATCHER)
    fill_parent(dispatcher, "SB00001", 1)
    scan_child(user=colleague, parent_qr="SB00001", qr_id="CH777777")
    assert undo_last_scan(user=dispatcher, parent_qr="SB00001").removed == "CH000000"
    refused("nothing_to_undo", undo_last_scan, user=dispatcher, parent_qr="SB00001")
    assert Bag.objects.filter(qr_id="CH777777").exists()


def test_admin_undoes_anyones_newest(dispatcher, admin_user):
    fill_parent(dispatcher, "SB00001", 2)
    assert undo_last_scan(user=admin_user, parent_qr="SB00001").removed == "CH000001"


def test_undo_window_is_one_hour(dispatcher):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fill_parent(dispatcher, "SB00001", 2)
    with time_machine.travel(start + timedelta(minutes=59, seconds=59), tick=False):
        assert undo_last_scan(user=dispatcher, parent_qr="SB00001").removed == "CH000001"
    with time_machine.travel(start + timedelta(hours=1, seconds=1), tick=False):
        refused("nothing_to_undo", undo_last_scan, user=dispatcher, parent_qr="SB00001")
    assert Bag.objects.get(qr_id="SB00001").child_count == 1


def test_old_newest_scan_blocks_undo_even_if_an_older_one_is_undoable(dispatcher, settings):
    # The newest not-yet-undone scan is the one that counts; nothing older is reached.
    settings.UNDO_WINDOW = timedelta(minutes=5)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        fill_parent(dispatcher, "SB00001", 1)
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        refused("nothing_to_undo", undo_last_scan, user=dispatcher, parent_qr="SB00001")


def test_undo_on_a_frozen_parent_is_refused(dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 1)
    bill_create(user=biller, bill_id="BILL1", capacity=1, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL1")
    refused("bill_completed", undo_last_scan, user=dispatcher, parent_qr="SB00001")
    assert Bag.objects.get(qr_id="SB00001").child_count == 1


def test_undo_refusals_for_missing_parent_bad_code_and_other_area(dispatcher, other_dispatcher):
    refused("not_found", undo_last_scan, user=dispatcher, parent_qr="SB00404")
    refused("invalid", undo_last_scan, user=dispatcher, parent_qr="nope")
    fill_parent(other_dispatcher, "SB00001", 1)
    refused("area_mismatch", undo_last_scan, user=dispatcher, parent_qr="SB00001")


def test_undo_of_a_parent_with_no_child_scans(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    refused("nothing_to_undo", undo_last_scan, user=dispatcher, parent_qr="SB00001")


def test_undone_child_can_be_scanned_again(dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    result = scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000000")
    assert result.duplicate is False and result.created is True
    assert Scan.objects.filter(qr_id="CH000000").count() == 2
