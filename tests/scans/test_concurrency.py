"""Races on PostgreSQL: real threads, real transactions, real row locks."""

import uuid

import pytest

from bags.models import Bag, BagStatus, Link
from billing.models import Bill, BillBag
from billing.services import bill_add_parent, bill_create
from scans.models import Scan, ScanKind
from scans.services import scan_child, scan_parent, undo_last_scan
from tests.concurrency import race
from tests.helpers import child_code
from tracetrack.api.idempotency import idempotent_answer
from tracetrack.models import IdempotencyRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_forty_children_into_one_parent_give_exactly_thirty(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    results, codes = race(40, lambda i: scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(i)))
    assert len(results) == 30 and codes == {"capacity_reached": 10}
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (30, BagStatus.COMPLETED)
    assert Link.objects.filter(parent=parent).count() == 30
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 30
    assert Bag.objects.filter(kind="child").count() == 30  # refused children were not left behind


def test_one_child_into_ten_parents_gives_one_link(dispatcher):
    for i in range(10):
        scan_parent(user=dispatcher, qr_id=f"SB{i:05d}")
    results, codes = race(10, lambda i: scan_child(user=dispatcher, parent_qr=f"SB{i:05d}", qr_id="CH000001"))
    assert len(results) == 1 and codes == {"already_linked": 9}
    assert Link.objects.count() == 1 and Bag.objects.filter(kind="child").count() == 1
    assert sum(Bag.objects.filter(kind="parent").values_list("child_count", flat=True)) == 1


def _idempotent(user, scan_id, action, params, call):
    """What the API does with a scan request that carries `scan_id` (its answer rendered)."""

    def produce():
        result = call()
        duplicate = getattr(result, "duplicate", False)
        return (200 if duplicate else 201), {"scan": result.scan.pk, "duplicate": duplicate}

    return idempotent_answer(scan_id=scan_id, action=action, user=user, params=params, produce=produce)


def test_one_scan_id_sent_by_ten_threads_gives_one_scan_and_one_link(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = uuid.uuid4()
    results, codes = race(10, lambda i: _idempotent(
        dispatcher, scan_id, "scan.child", {"parent": "SB00001", "qr_id": "CH000001"},
        lambda: scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id),
    ))
    assert len(results) == 10 and not codes
    linking = Scan.objects.get(kind=ScanKind.CHILD)
    # Every thread got the first answer, byte for byte: the scan that linked, not "duplicate".
    assert {(status, content) for status, content, _ in results} == {
        (201, f'{{"scan":{linking.pk},"duplicate":false}}'.encode())}
    assert sum(not answer.replayed for answer in results) == 1
    assert Link.objects.count() == 1 and Bag.objects.get(qr_id="SB00001").child_count == 1
    assert IdempotencyRecord.objects.count() == 1


def test_one_new_parent_scan_id_sent_by_ten_threads_gives_one_scan(dispatcher):
    """Twins of a parent scan meet on the scan log's unique scan_id (no row lock comes
    first): the losers' inserts fail, and they answer as the winner did."""
    scan_id = uuid.uuid4()
    results, codes = race(10, lambda i: _idempotent(
        dispatcher, scan_id, "scan.parent", {"qr_id": "SB00001", "dispatch_area": ""},
        lambda: scan_parent(user=dispatcher, qr_id="SB00001", scan_id=scan_id),
    ))
    assert len(results) == 10 and not codes
    scan = Scan.objects.get()
    assert {(status, content) for status, content, _ in results} == {
        (201, f'{{"scan":{scan.pk},"duplicate":false}}'.encode())}
    assert sum(not answer.replayed for answer in results) == 1
    assert scan.scan_id == scan_id and Bag.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


def test_the_same_new_parent_scanned_by_ten_threads_is_created_once(dispatcher):
    results, codes = race(10, lambda i: scan_parent(user=dispatcher, qr_id="SB00001"))
    assert not codes and sum(r.created for r in results) == 1
    assert Bag.objects.count() == 1 and Scan.objects.count() == 10


def test_scans_and_undos_racing_keep_the_count_exact(dispatcher, make_user):
    operators = [make_user("dispatcher") for _ in range(4)]
    scan_parent(user=dispatcher, qr_id="SB00001")

    def work(i):
        user = operators[i % 4]
        if i % 3 == 2:
            return undo_last_scan(user=user, parent_qr="SB00001")
        return scan_child(user=user, parent_qr="SB00001", qr_id=child_code(i))

    race(24, work)
    parent = Bag.objects.get(qr_id="SB00001")
    links = Link.objects.filter(parent=parent).count()
    assert parent.child_count == links
    assert Scan.objects.filter(kind=ScanKind.CHILD, undone_at__isnull=True).count() == links


def test_twenty_threads_fill_a_bill_of_five_with_exactly_five(biller, dispatcher):
    bill_create(user=biller, bill_id="BILL-1", capacity=5, destination="Delhi", vehicle_number="DL1")
    for i in range(20):
        scan_parent(user=dispatcher, qr_id=f"SB{i:05d}")
    results, codes = race(20, lambda i: bill_add_parent(user=biller, bill_id="BILL-1", parent_qr=f"SB{i:05d}"))
    assert len(results) == 5 and codes == {"bill_full": 15}
    bill = Bill.objects.get()
    assert bill.parent_count == 5 == BillBag.objects.filter(bill=bill).count()
    assert bill.status == "in_progress"


def test_one_parent_onto_ten_bills_lands_on_one(biller, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    for i in range(10):
        bill_create(user=biller, bill_id=f"BILL-{i}", capacity=1, destination="Delhi", vehicle_number="DL1")
    results, codes = race(10, lambda i: bill_add_parent(user=biller, bill_id=f"BILL-{i}", parent_qr="SB00001"))
    assert len(results) == 1 and codes == {"already_billed": 9}
    assert BillBag.objects.count() == 1
    assert sorted(Bill.objects.values_list("parent_count", flat=True)) == [0] * 9 + [1]


def test_child_scans_racing_a_bill_completion_never_change_a_completed_bill(biller, dispatcher):
    for p in range(2):
        scan_parent(user=dispatcher, qr_id=f"SB{p:05d}")
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="Delhi", vehicle_number="DL1")
    for p in range(2):
        bill_add_parent(user=biller, bill_id="BILL-1", parent_qr=f"SB{p:05d}")
    from billing.services import bill_complete

    def work(i):
        if i == 0:
            return bill_complete(user=biller, bill_id="BILL-1")
        return scan_child(user=dispatcher, parent_qr=f"SB{i % 2:05d}", qr_id=child_code(i))

    results, codes = race(16, work)
    assert set(codes) <= {"bill_completed"}
    bill = Bill.objects.get()
    assert bill.status == "completed"
    # Every child that got in was linked before the bill closed: none after completed_at.
    linked_after = Scan.objects.filter(kind=ScanKind.CHILD, timestamp__gt=bill.completed_at).count()
    assert linked_after == 0
    assert Link.objects.count() == len(results) - 1


def test_deleting_a_parent_while_children_are_scanned_into_it(admin_user, dispatcher):
    from bags.services import bag_delete

    scan_parent(user=dispatcher, qr_id="SB00001")

    def work(i):
        if i == 5:
            return bag_delete(user=admin_user, qr_id="SB00001")
        return scan_child(user=dispatcher, parent_qr="SB00001", qr_id=child_code(i))

    results, codes = race(12, work)
    assert set(codes) <= {"not_found"}
    assert not Bag.objects.filter(qr_id="SB00001").exists()
    assert not Link.objects.exists()
    assert set(Bag.objects.filter(kind="child").values_list("status", flat=True)) <= {BagStatus.PENDING}
