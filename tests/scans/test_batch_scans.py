"""Batch services used by imports: `scan_children` (many children into one parent) and
`bags_create` (many bags). Each item must get exactly what its own single call would get,
and the batch must cost a fixed number of statements, not a dozen per item."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import bag_create, bags_create
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.models import Scan, ScanKind
from scans.services import scan_child, scan_children, scan_parent
from stats.recount import drift
from tests.helpers import child_code, fill_parent
from tracetrack.errors import NotFound, ServiceError

pytestmark = pytest.mark.django_db


def codes_of(outcomes):
    return [o.code if isinstance(o, ServiceError) else ("dup" if o.duplicate else "ok") for o in outcomes]


def test_children_are_judged_in_order_like_single_scans(dispatcher, admin_user):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_parent(user=dispatcher, qr_id="SB00002")
    scan_child(user=dispatcher, parent_qr="SB00002", qr_id="CH-ELSEWHERE")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH-ALREADY")
    bag_create(user=admin_user, qr_id="CH-PENDING", kind="child")  # pending, no area
    outcomes = scan_children(
        user=dispatcher, parent_qr="sb00001",
        qr_ids=["CH-NEW1", "ch-already", "CH-ELSEWHERE", "SB00002", "CH-PENDING", "CH-NEW1", "bad code!"],
    )
    assert codes_of(outcomes) == ["ok", "dup", "already_linked", "invalid", "ok", "dup", "invalid"]
    assert outcomes[2].extra == {"current_parent": "SB00002"}
    new, dup, pending, dup_in_batch = outcomes[0], outcomes[1], outcomes[4], outcomes[5]
    assert new.created is True and new.child.kind == BagKind.CHILD and new.scan.created_bag is True
    assert dup.scan == Scan.objects.get(qr_id="CH-ALREADY", kind=ScanKind.CHILD)
    assert pending.created is False and pending.scan.created_bag is False
    assert dup_in_batch.scan == new.scan and dup_in_batch.created is False
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (3, BagStatus.IN_PROGRESS)
    assert set(Link.objects.filter(parent=parent).values_list("child__qr_id", flat=True)) == {
        "CH-ALREADY", "CH-NEW1", "CH-PENDING"}
    moved = Bag.objects.get(qr_id="CH-PENDING")
    assert (moved.status, moved.dispatch_area_id) == (BagStatus.COMPLETED, dispatcher.dispatch_area_id)
    assert Scan.objects.filter(kind=ScanKind.CHILD, parent=parent).count() == 3
    assert drift() == {}


def test_capacity_counts_the_batch_itself(dispatcher):
    fill_parent(dispatcher, "SB00001", 28)
    outcomes = scan_children(user=dispatcher, parent_qr="SB00001", qr_ids=[child_code(100 + i) for i in range(4)])
    assert codes_of(outcomes) == ["ok", "ok", "capacity_reached", "capacity_reached"]
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (30, BagStatus.COMPLETED)
    assert not Bag.objects.filter(qr_id__in=[child_code(102), child_code(103)]).exists()
    assert drift() == {}


def test_parent_refusals_apply_to_every_new_code_but_not_to_duplicates(dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 30)
    outcomes = scan_children(user=other_dispatcher, parent_qr="SB00001", qr_ids=[child_code(0), "CH-X1"])
    assert codes_of(outcomes) == ["dup", "area_mismatch"]  # a duplicate is answered before the area
    bill_create(user=biller, bill_id="B-1", capacity=1, destination="Delhi", vehicle_number="RJ14 1")
    bill_add_parent(user=biller, bill_id="B-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="B-1")
    outcomes = scan_children(user=dispatcher, parent_qr="SB00001", qr_ids=["CH-X1", child_code(1)])
    assert codes_of(outcomes) == ["bill_completed", "dup"]
    with pytest.raises(NotFound):
        scan_children(user=dispatcher, parent_qr="SB09999", qr_ids=["CH-X1"])
    assert not Bag.objects.filter(qr_id="CH-X1").exists()


def test_a_legacy_child_code_as_parent_is_is_child(admin_user):
    bag_create(user=admin_user, qr_id="CH-LEGACY", kind="child")
    Bag.objects.filter(qr_id="CH-LEGACY").update(qr_id="SB00077")  # legacy data: a child with a parent-like code
    outcomes = scan_children(user=admin_user, parent_qr="SB00077", qr_ids=["CH-X1"])
    assert codes_of(outcomes) == ["is_child"]


def test_a_batch_costs_the_same_statements_for_one_child_and_for_thirty(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_parent(user=dispatcher, qr_id="SB00002")
    with CaptureQueriesContext(connection) as one:
        scan_children(user=dispatcher, parent_qr="SB00001", qr_ids=["CH-ONE"])
    with CaptureQueriesContext(connection) as thirty:
        outcomes = scan_children(user=dispatcher, parent_qr="SB00002", qr_ids=[child_code(i) for i in range(30)])
    assert codes_of(outcomes) == ["ok"] * 30
    assert len(thirty) == len(one) <= 14


def test_bags_create_judges_each_item(admin_user):
    bag_create(user=admin_user, qr_id="SB00001", kind="parent")
    outcomes = bags_create(user=admin_user, bags=[
        ("SB00002", "parent", "jaipur"), ("sb00001", "parent", None), ("CH-1", "child", None),
        ("CH-1", "child", None), ("SB00003", "box", None), ("CH-2", "parent", None), ("SB00004", "parent", "nowhere"),
    ])
    kinds = [o.code if isinstance(o, ServiceError) else o.qr_id for o in outcomes]
    assert kinds == ["SB00002", "bag_exists", "CH-1", "bag_exists", "invalid", "invalid", "invalid"]
    assert outcomes[0].dispatch_area.code == "jaipur" and outcomes[0].pk is not None
    assert set(Bag.objects.values_list("qr_id", flat=True)) == {"SB00001", "SB00002", "CH-1"}
    assert drift() == {}


def test_bags_create_costs_the_same_statements_for_one_and_for_a_hundred(admin_user):
    # (A hundred: SQLite splits bigger inserts by its limit on query parameters.)
    with CaptureQueriesContext(connection) as one:
        bags_create(user=admin_user, bags=[("CH-A", "child", None)])
    with CaptureQueriesContext(connection) as many:
        bags_create(user=admin_user, bags=[(child_code(i), "child", None) for i in range(100)])
    assert Bag.objects.count() == 101
    assert len(many) == len(one)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_racing_on_one_parent_fill_it_exactly(dispatcher):
    from tests.concurrency import race

    scan_parent(user=dispatcher, qr_id="SB00001")
    # Four batches of 20 codes, each half shared with the next: 50 distinct codes for 30 places.
    results, codes = race(4, lambda i: scan_children(
        user=dispatcher, parent_qr="SB00001", qr_ids=[child_code(10 * i + k) for k in range(20)]))
    assert not codes
    outcomes = [codes_of(batch) for batch in results]
    flat = [code for batch in outcomes for code in batch]
    assert flat.count("ok") == 30 and flat.count("dup") + flat.count("capacity_reached") == 50
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (30, BagStatus.COMPLETED)
    assert Link.objects.filter(parent=parent).count() == 30 == Bag.objects.filter(kind="child").count()
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 30
    assert drift() == {}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_child_made_meanwhile_by_another_request_is_judged_as_existing(dispatcher, admin_user):
    """Ten threads: a batch into SB00001 and single scans into nine other parents all make
    the same new child; exactly one link, every other answer `already_linked`."""
    from tests.concurrency import race

    for i in range(10):
        scan_parent(user=dispatcher, qr_id=f"SB{i + 1:05d}")

    def call(i):
        if i == 0:
            return scan_children(user=dispatcher, parent_qr="SB00001", qr_ids=["CH-SHARED", "CH-OWN"])
        return [scan_child(user=dispatcher, parent_qr=f"SB{i + 1:05d}", qr_id="CH-SHARED")]

    results, codes = race(10, call)
    batch_answers = [codes_of(r) for r in results if len(r) == 2]
    assert len(batch_answers) == 1 and batch_answers[0][1] == "ok"
    linked = len(results) - 1 + (batch_answers[0][0] == "ok")
    refused = codes["already_linked"] + (batch_answers[0][0] == "already_linked")
    assert linked == 1 and refused == 9
    assert Link.objects.filter(child__qr_id="CH-SHARED").count() == 1
    assert drift() == {}
