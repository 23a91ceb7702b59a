import uuid

import pytest

from bags.models import Bag, Link
from scans.models import IdempotencyRecord, Scan
from scans.services import scan_child, scan_parent
from tests.helpers import fill_parent, new_scan_id, refused

pytestmark = pytest.mark.django_db


def test_retry_of_a_child_scan_changes_nothing_and_answers_the_same(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    first = scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)
    again = scan_child(user=dispatcher, parent_qr="sb00001 ", qr_id="ch000001", scan_id=scan_id)
    assert again.replayed is True and first.replayed is False
    assert again.duplicate is False and again.created is True  # the first answer, not "duplicate"
    assert again.scan.pk == first.scan.pk and again.child.pk == first.child.pk
    assert Scan.objects.filter(kind="child").count() == 1 and Link.objects.count() == 1
    assert Scan.objects.get(kind="child").scan_id == uuid.UUID(scan_id)


def test_retry_of_a_parent_scan_writes_one_scan(dispatcher):
    scan_id = new_scan_id()
    first = scan_parent(user=dispatcher, qr_id="SB00001", scan_id=scan_id)
    again = scan_parent(user=dispatcher, qr_id="SB00001", scan_id=scan_id)
    assert (first.created, again.created, again.replayed) == (True, True, True)
    assert Scan.objects.count() == 1


def test_retry_of_a_refusal_is_the_same_refusal_even_after_the_state_changed(dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    scan_id = new_scan_id()
    refused("capacity_reached", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999", scan_id=scan_id)
    from scans.services import undo_last_scan

    undo_last_scan(user=dispatcher, parent_qr="SB00001")  # now there would be room
    error = refused("capacity_reached", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH999999", scan_id=scan_id)
    assert error.status == 409
    assert not Bag.objects.filter(qr_id="CH999999").exists()


def test_retry_of_a_not_found_is_replayed(dispatcher):
    scan_id = new_scan_id()
    refused("not_found", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)
    scan_parent(user=dispatcher, qr_id="SB00001")
    error = refused("not_found", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)
    assert error.status == 404


def test_same_scan_id_for_a_different_request_is_a_mismatch(dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)
    error = refused("idempotency_mismatch", scan_child, user=dispatcher, parent_qr="SB00001", qr_id="CH000002", scan_id=scan_id)
    assert error.status == 422
    refused("idempotency_mismatch", scan_parent, user=dispatcher, qr_id="SB00001", scan_id=scan_id)
    assert not Bag.objects.filter(qr_id="CH000002").exists()


def test_same_scan_id_from_another_user_is_a_mismatch(dispatcher, make_user):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)
    refused("idempotency_mismatch", scan_child, user=make_user(), parent_qr="SB00001", qr_id="CH000001", scan_id=scan_id)


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", 42, "{}"])
def test_scan_id_must_be_a_uuid(dispatcher, bad):
    error = refused("invalid", scan_parent, user=dispatcher, qr_id="SB00001", scan_id=bad)
    assert "scan_id" in error.extra["errors"]
    assert not IdempotencyRecord.objects.exists()


def test_invalid_input_is_not_recorded(dispatcher):
    scan_id = new_scan_id()
    refused("invalid", scan_parent, user=dispatcher, qr_id="bad", scan_id=scan_id)
    assert scan_parent(user=dispatcher, qr_id="SB00001", scan_id=scan_id).created is True
