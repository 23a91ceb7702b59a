import pytest

from accounts.models import AuditLog
from bags.codes import is_child_code, is_parent_code, normalize_code
from bags.models import Bag, BagStatus, Link
from bags.selectors import bag_get, bags_visible_to, child_codes
from bags.services import bag_create, bag_delete
from billing.models import Bill
from billing.services import bill_add_parent, bill_complete, bill_create, bill_reopen
from scans.models import Scan
from scans.services import scan_parent
from tests.helpers import child_code, fill_parent, refused

pytestmark = pytest.mark.django_db


def test_codes():
    assert normalize_code("  sb00001\t") == "SB00001"
    assert is_parent_code("SB00001") and is_parent_code("M444-00001")
    assert not is_parent_code("SB0001") and not is_parent_code("sb00001")
    assert is_child_code("CH-001") and is_child_code("A" * 30)
    assert not is_child_code("SB00001") and not is_child_code("ABC") and not is_child_code("-ABC")


def test_bag_create(biller, indore):
    bag = bag_create(user=biller, qr_id="ch-0001", kind="child", dispatch_area="indore")
    assert (bag.qr_id, bag.kind, bag.status, bag.dispatch_area) == ("CH-0001", "child", BagStatus.PENDING, indore)
    refused("bag_exists", bag_create, user=biller, qr_id="CH-0001", kind="child")
    refused("invalid", bag_create, user=biller, qr_id="SB00001", kind="child")
    refused("invalid", bag_create, user=biller, qr_id="CH-0002", kind="parent")
    refused("invalid", bag_create, user=biller, qr_id="CH-0002", kind="box")


def test_dispatchers_cannot_create_or_delete_bags(dispatcher):
    refused("permission_denied", bag_create, user=dispatcher, qr_id="SB00001", kind="parent")
    refused("permission_denied", bag_delete, user=dispatcher, qr_id="SB00001")


def test_billers_cannot_delete_bags(biller):
    bag_create(user=biller, qr_id="SB00001", kind="parent")
    refused("permission_denied", bag_delete, user=biller, qr_id="SB00001")


def test_deleting_a_child_updates_its_parent(admin_user, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    bag_delete(user=admin_user, qr_id="ch000005")
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (29, BagStatus.IN_PROGRESS)
    assert Link.objects.filter(parent=parent).count() == 29
    scan = Scan.objects.get(qr_id="CH000005")  # the scan row stays
    assert scan.bag is None and scan.parent == parent
    assert AuditLog.objects.get(action="bag.delete").before["qr_id"] == "CH000005"


def test_deleting_a_parent_frees_children_and_its_bill_place(admin_user, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 3)
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bag_delete(user=admin_user, qr_id="SB00001")
    assert not Bag.objects.filter(qr_id="SB00001").exists()
    assert set(Bag.objects.values_list("status", flat=True)) == {BagStatus.PENDING}
    assert not Link.objects.exists()
    bill = Bill.objects.get()
    assert (bill.parent_count, bill.status) == (0, "new")
    assert Scan.objects.filter(qr_id="SB00001").exists() and Scan.objects.filter(parent_qr="SB00001").count() == 3


def test_deleting_bags_of_a_completed_bill_is_refused(admin_user, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL-1")
    refused("bill_completed", bag_delete, user=admin_user, qr_id="SB00001")
    refused("bill_completed", bag_delete, user=admin_user, qr_id=child_code(0))
    assert Bag.objects.count() == 3
    bill_reopen(user=biller, bill_id="BILL-1")
    bag_delete(user=admin_user, qr_id=child_code(0))
    assert Bag.objects.get(qr_id="SB00001").child_count == 1


def test_delete_unknown_bag(admin_user):
    refused("not_found", bag_delete, user=admin_user, qr_id="SB09999")


def test_selectors_scope_dispatchers_to_their_area(dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    scan_parent(user=other_dispatcher, qr_id="SB00002")
    assert set(bags_visible_to(dispatcher).values_list("qr_id", flat=True)) == {"SB00001", "CH000000", "CH000001"}
    assert bags_visible_to(biller).count() == 4
    refused("not_found", bag_get, user=dispatcher, qr_id="sb00002")
    assert bag_get(user=other_dispatcher, qr_id="sb00002").qr_id == "SB00002"
    assert child_codes(bag_get(user=dispatcher, qr_id="SB00001")) == ["CH000000", "CH000001"]


def test_database_refuses_a_second_parent_for_a_child(dispatcher):
    from django.db import IntegrityError, transaction

    fill_parent(dispatcher, "SB00001", 1)
    other = scan_parent(user=dispatcher, qr_id="SB00002").bag
    with pytest.raises(IntegrityError), transaction.atomic():
        Link.objects.create(parent=other, child=Bag.objects.get(qr_id=child_code(0)))


@pytest.mark.parametrize(
    "fields",
    [
        {"qr_id": "lower1", "kind": "child"},
        {"qr_id": "SB00001", "kind": "box"},
        {"qr_id": "SB00001", "kind": "parent", "status": "lost"},
        {"qr_id": "SB00001", "kind": "parent", "child_count": 101},
        {"qr_id": "CH0001", "kind": "child", "child_count": 1},
        {"qr_id": "CH0001", "kind": "child", "status": "in_progress"},
    ],
)
def test_database_check_constraints(fields):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Bag.objects.create(**fields)
