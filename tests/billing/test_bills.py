import pytest

from accounts.models import AuditLog
from bags.models import Bag
from bags.services import bag_create
from billing.models import Bill, BillBag, BillStatus
from billing.selectors import bill_get, bill_parent_codes, expected_weight_kg
from billing.services import (
    bill_add_parent,
    bill_complete,
    bill_create,
    bill_delete,
    bill_remove_parent,
    bill_reopen,
    bill_update,
)
from tests.helpers import fill_parent, refused

pytestmark = pytest.mark.django_db


def make_bill(user, bill_id="BILL-1", capacity=2, **kw):
    return bill_create(
        user=user, bill_id=bill_id, capacity=capacity, destination=kw.get("destination", "Delhi"),
        vehicle_number=kw.get("vehicle_number", "dl01ab1234"), description=kw.get("description", ""),
    )


def test_create_normalises_and_starts_new(biller):
    bill = make_bill(biller, bill_id="  bill_7-a ", capacity=5)
    assert (bill.bill_id, bill.status, bill.parent_count, bill.capacity) == ("BILL_7-A", BillStatus.NEW, 0, 5)
    assert bill.vehicle_number == "DL01AB1234" and bill.created_by == biller
    assert AuditLog.objects.filter(action="bill.create", entity_id="BILL_7-A").exists()


@pytest.mark.parametrize(
    "fields,bad",
    [
        ({"bill_id": "AB"}, "bill_id"),
        ({"bill_id": "A" * 51}, "bill_id"),
        ({"bill_id": "BILL 1"}, "bill_id"),
        ({"bill_id": "summary"}, "bill_id"),
        ({"capacity": 0}, "capacity"),
        ({"capacity": 51}, "capacity"),
        ({"capacity": "ten"}, "capacity"),
        ({"capacity": True}, "capacity"),
        ({"capacity": 2.5}, "capacity"),
        ({"capacity": None}, "capacity"),
        ({"destination": "  "}, "destination"),
        ({"vehicle_number": ""}, "vehicle_number"),
    ],
)
def test_create_refuses_bad_fields(biller, fields, bad):
    data = {"bill_id": "BILL-1", "capacity": 2, "destination": "Delhi", "vehicle_number": "DL1"} | fields
    error = refused("invalid", bill_create, user=biller, **data)
    assert error.status == 400 and bad in error.extra["errors"]
    assert not Bill.objects.exists()


def test_duplicate_bill_id_is_refused(biller):
    make_bill(biller)
    refused("bill_exists", make_bill, biller, bill_id="bill-1")


def test_dispatchers_cannot_manage_bills(dispatcher):
    refused("permission_denied", make_bill, dispatcher)


def test_add_parents_and_status_follows(biller, dispatcher):
    make_bill(biller, capacity=2)
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 10, start=100)
    result = bill_add_parent(user=biller, bill_id="bill-1", parent_qr="sb00001")
    assert result.duplicate is False and result.bill.status == BillStatus.IN_PROGRESS
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill = bill_get(bill_id="BILL-1")
    assert bill.parent_count == 2 and bill.child_total == 40
    assert bill_parent_codes(bill) == ["SB00001", "SB00002"]
    assert BillBag.objects.get(parent__qr_id="SB00001").added_by == biller


def test_weights(biller, dispatcher):
    make_bill(biller, capacity=3)
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 5, start=100)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    from billing.selectors import actual_weight_kg

    bill = bill_get(bill_id="BILL-1")
    assert expected_weight_kg(bill.capacity) == 90.0
    assert actual_weight_kg(bill.child_total) == 35.0


def test_weight_per_child_is_a_setting(settings):
    settings.KG_PER_CHILD = 1.5
    assert expected_weight_kg(2) == 90.0


def test_re_adding_a_parent_is_a_duplicate_even_on_a_full_or_completed_bill(biller, dispatcher):
    make_bill(biller, capacity=1)
    fill_parent(dispatcher, "SB00001", 1)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    assert bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001").duplicate is True
    bill_complete(user=biller, bill_id="BILL-1")
    assert bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001").duplicate is True
    assert Bill.objects.get().parent_count == 1


def test_add_parent_refusals(biller, dispatcher, admin_user):
    make_bill(biller, bill_id="BILL-1", capacity=1)
    make_bill(biller, bill_id="BILL-2", capacity=1)
    fill_parent(dispatcher, "SB00001", 1)
    fill_parent(dispatcher, "SB00002", 1, start=10)
    refused("invalid", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="CH000000")
    refused("not_found", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="SB00404")
    refused("not_found", bill_add_parent, user=biller, bill_id="NOPE", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    error = refused("already_billed", bill_add_parent, user=biller, bill_id="BILL-2", parent_qr="SB00001")
    assert error.extra["current_bill"] == "BILL-1"
    refused("bill_full", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill_complete(user=biller, bill_id="BILL-1")
    refused("bill_completed", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="SB00002")
    refused("permission_denied", bill_add_parent, user=dispatcher, bill_id="BILL-2", parent_qr="SB00002")


def test_a_child_bag_cannot_go_on_a_bill(biller, settings):
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5}|OLDC\d{4})$"
    Bag.objects.create(qr_id="OLDC0001", kind="child")
    make_bill(biller)
    refused("is_child", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="OLDC0001")


def test_remove_parent(biller, dispatcher):
    make_bill(biller, capacity=1)
    fill_parent(dispatcher, "SB00001", 1)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill = bill_remove_parent(user=biller, bill_id="BILL-1", parent_qr="sb00001")
    assert (bill.parent_count, bill.status) == (0, BillStatus.NEW)
    refused("not_found", bill_remove_parent, user=biller, bill_id="BILL-1", parent_qr="SB00001")
    assert AuditLog.objects.filter(action="bill.remove_parent").count() == 1


def test_complete_needs_a_full_bill_and_freezes_it(biller, dispatcher):
    make_bill(biller, capacity=2)
    fill_parent(dispatcher, "SB00001", 1)
    fill_parent(dispatcher, "SB00002", 1, start=10)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    refused("bill_incomplete", bill_complete, user=biller, bill_id="BILL-1")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill = bill_complete(user=biller, bill_id="BILL-1")
    assert bill.status == BillStatus.COMPLETED and bill.completed_at is not None and bill.completed_by == biller
    refused("bill_completed", bill_complete, user=biller, bill_id="BILL-1")
    refused("bill_completed", bill_update, user=biller, bill_id="BILL-1", destination="Agra")
    refused("bill_completed", bill_remove_parent, user=biller, bill_id="BILL-1", parent_qr="SB00001")
    assert AuditLog.objects.filter(action="bill.complete", entity_id="BILL-1").exists()


def test_reopen(biller, dispatcher):
    make_bill(biller, capacity=1)
    refused("bill_not_completed", bill_reopen, user=biller, bill_id="BILL-1")
    fill_parent(dispatcher, "SB00001", 1)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL-1")
    bill = bill_reopen(user=biller, bill_id="BILL-1")
    assert (bill.status, bill.completed_at, bill.completed_by) == (BillStatus.IN_PROGRESS, None, None)
    bill_remove_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    assert AuditLog.objects.filter(action="bill.reopen").count() == 1


def test_update_capacity_rules(biller, dispatcher):
    make_bill(biller, capacity=2)
    fill_parent(dispatcher, "SB00001", 1)
    fill_parent(dispatcher, "SB00002", 1, start=10)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    assert bill_update(user=biller, bill_id="BILL-1", capacity=100).capacity == 100  # editable up to 100
    refused("invalid", bill_update, user=biller, bill_id="BILL-1", capacity=101)
    error = refused("invalid", bill_update, user=biller, bill_id="BILL-1", capacity=1)
    assert "capacity" in error.extra["errors"]
    bill = bill_update(user=biller, bill_id="BILL-1", destination=" Agra ", description="fragile")
    assert (bill.destination, bill.description, bill.capacity) == ("Agra", "fragile", 100)
    refused("invalid", bill_update, user=biller, bill_id="BILL-1", vehicle_number=" ")
    refused("not_found", bill_update, user=biller, bill_id="NOPE", destination="x")
    entry = AuditLog.objects.filter(action="bill.update").order_by("pk").last()
    assert entry.before["destination"] == "Delhi" and entry.after["destination"] == "Agra"


def test_delete_frees_parents_and_refuses_completed(biller, dispatcher, admin_user):
    make_bill(biller, capacity=1)
    fill_parent(dispatcher, "SB00001", 1)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    refused("permission_denied", bill_delete, user=biller, bill_id="BILL-1")
    bill_complete(user=biller, bill_id="BILL-1")
    refused("bill_completed", bill_delete, user=admin_user, bill_id="BILL-1")
    bill_reopen(user=biller, bill_id="BILL-1")
    bill_delete(user=admin_user, bill_id="BILL-1")
    assert not Bill.objects.exists() and not BillBag.objects.exists()
    assert Bag.objects.filter(qr_id="SB00001").exists()
    entry = AuditLog.objects.get(action="bill.delete")
    assert entry.before["parents"] == ["SB00001"]
    make_bill(biller, bill_id="BILL-2", capacity=1)
    assert bill_add_parent(user=biller, bill_id="BILL-2", parent_qr="SB00001").duplicate is False


def test_bill_status_changes_are_audited(biller, dispatcher):
    make_bill(biller, capacity=1)
    fill_parent(dispatcher, "SB00001", 1)
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    entry = AuditLog.objects.get(action="bill.status")
    assert (entry.before, entry.after, entry.actor) == ({"status": "new"}, {"status": "in_progress"}, biller)


def test_pending_child_registered_by_api_is_not_a_parent(biller):
    bag_create(user=biller, qr_id="CH000001", kind="child")
    make_bill(biller)
    refused("invalid", bill_add_parent, user=biller, bill_id="BILL-1", parent_qr="CH000001")
