import uuid
from datetime import date

import pytest

from billing.models import Bill
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db

BILL_KEYS = {"bill_id", "status", "capacity", "parent_count", "child_count", "expected_weight_kg", "actual_weight_kg",
             "destination", "vehicle_number", "description", "created_by", "created_at", "completed_at"}


@pytest.fixture
def bills(api, biller):
    client = api(biller)

    def create(bill_id="BILL-1", capacity=2, **extra):
        body = {"bill_id": bill_id, "capacity": capacity, "destination": "Delhi", "vehicle_number": "DL1", **extra}
        return client.post("/api/v1/bills/", body, format="json")

    client.create = create
    return client


def test_bill_lifecycle(bills, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 10, start=100)
    created = bills.create(bill_id="bill-1", description="two parents")
    assert created.status_code == 201
    body = created.json()
    assert set(body) == BILL_KEYS | {"parents"}
    assert (body["bill_id"], body["status"], body["parent_count"], body["child_count"], body["expected_weight_kg"],
            body["actual_weight_kg"], body["created_by"], body["parents"]) == ("BILL-1", "new", 0, 0, 60.0, 0.0, "biller", [])

    added = bills.post("/api/v1/bills/bill-1/parents/", {"qr_id": "sb00001"}, format="json")
    assert added.status_code == 201 and added.json()["duplicate"] is False
    assert added.json()["status"] == "in_progress" and added.json()["parents"] == ["SB00001"]
    dup = bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001"}, format="json")
    assert dup.status_code == 200 and dup.json()["duplicate"] is True
    bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00002"}, format="json")

    detail = bills.get("/api/v1/bills/bill-1/").json()
    assert (detail["parent_count"], detail["child_count"], detail["actual_weight_kg"]) == (2, 40, 40.0)
    done = bills.post("/api/v1/bills/BILL-1/complete/")
    assert done.status_code == 200 and done.json()["status"] == "completed" and done.json()["completed_at"]
    assert bills.post("/api/v1/bills/BILL-1/complete/").json()["code"] == "bill_completed"
    assert bills.patch("/api/v1/bills/BILL-1/", {"destination": "Agra"}, format="json").json()["code"] == "bill_completed"
    assert bills.delete("/api/v1/bills/BILL-1/parents/SB00001/").json()["code"] == "bill_completed"
    reopened = bills.post("/api/v1/bills/BILL-1/reopen/")
    assert reopened.json()["status"] == "in_progress" and reopened.json()["completed_at"] is None
    assert bills.post("/api/v1/bills/BILL-1/reopen/").json()["code"] == "bill_not_completed"
    assert bills.delete("/api/v1/bills/BILL-1/parents/sb00001/").status_code == 204
    assert bills.get("/api/v1/bills/BILL-1/").json()["parents"] == ["SB00002"]


def test_create_refusals(bills):
    bills.create()
    assert bills.create().json()["code"] == "bill_exists"
    for bad in ({"bill_id": "X"}, {"bill_id": "SUMMARY"}, {"capacity": 0}, {"capacity": 51}, {"capacity": "x"},
                {"destination": ""}, {"vehicle_number": " "}):
        response = bills.create(**({"bill_id": "BILL-2"} | bad))
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad
        assert set(response.json()["errors"]) & set(bad), response.json()
    response = bills.post("/api/v1/bills/", {"bill_id": "BILL-3"}, format="json")
    assert response.status_code == 400 and {"capacity", "destination", "vehicle_number"} <= set(response.json()["errors"])


def test_patch_rules(bills, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    fill_parent(dispatcher, "SB00002", 1, start=10)
    bills.create()
    for qr in ("SB00001", "SB00002"):
        bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": qr}, format="json")
    assert bills.patch("/api/v1/bills/BILL-1/", {"capacity": 100}, format="json").json()["capacity"] == 100
    for bad in ({"capacity": 101}, {"capacity": 1}, {"destination": ""}):
        response = bills.patch("/api/v1/bills/BILL-1/", bad, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad
    assert bills.put("/api/v1/bills/BILL-1/", {"capacity": 5}, format="json").status_code == 405
    assert bills.patch("/api/v1/bills/NOPE/", {"capacity": 5}, format="json").status_code == 404


def test_add_parent_refusals(bills, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    fill_parent(dispatcher, "SB00002", 1, start=10)
    fill_parent(dispatcher, "SB00003", 1, start=20)
    bills.create(bill_id="BILL-1", capacity=1)
    bills.create(bill_id="BILL-2", capacity=1)
    bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001"}, format="json")
    cases = [
        ("BILL-2", {"qr_id": "SB00001"}, 409, "already_billed"),
        ("BILL-1", {"qr_id": "SB00002"}, 409, "bill_full"),
        ("BILL-1", {"qr_id": "SB00404"}, 404, "not_found"),
        ("NOPE", {"qr_id": "SB00002"}, 404, "not_found"),
        ("BILL-2", {"qr_id": "CH000000"}, 400, "invalid"),
        ("BILL-2", {}, 400, "invalid"),
        ("BILL-2", {"qr_id": "SB00002", "scan_id": "x"}, 400, "invalid"),
    ]
    for bill_id, body, status, code in cases:
        response = bills.post(f"/api/v1/bills/{bill_id}/parents/", body, format="json")
        assert (response.status_code, response.json()["code"]) == (status, code), (bill_id, body, response.json())
    assert bills.post("/api/v1/bills/BILL-2/parents/", {"qr_id": "SB00001"}, format="json").json()["current_bill"] == "BILL-1"
    assert bills.post("/api/v1/bills/BILL-2/complete/").json()["code"] == "bill_incomplete"


def test_add_parent_is_idempotent(bills, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    bills.create()
    scan_id = str(uuid.uuid4())
    first = bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001", "scan_id": scan_id}, format="json")
    again = bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001", "scan_id": scan_id}, format="json")
    assert first.status_code == again.status_code == 201 and first.content == again.content
    other = bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00002", "scan_id": scan_id}, format="json")
    assert other.status_code == 422


def test_list_filters(bills, api, admin_user):
    bills.create(bill_id="BILL-1")
    bills.create(bill_id="OTHER-2")
    api(admin_user).post("/api/v1/bills/", {"bill_id": "ADMIN-3", "capacity": 1, "destination": "x", "vehicle_number": "y"}, format="json")
    ids = lambda r: [b["bill_id"] for b in r.json()["results"]]  # noqa: E731
    assert ids(bills.get("/api/v1/bills/")) == ["ADMIN-3", "OTHER-2", "BILL-1"]
    assert ids(bills.get("/api/v1/bills/", {"search": "bill"})) == ["BILL-1"]
    assert ids(bills.get("/api/v1/bills/", {"created_by": "admin"})) == ["ADMIN-3"]
    assert ids(bills.get("/api/v1/bills/", {"status": "new"})) == ["ADMIN-3", "OTHER-2", "BILL-1"]
    assert ids(bills.get("/api/v1/bills/", {"status": "completed"})) == []
    assert ids(bills.get("/api/v1/bills/", {"created_after": "2100-01-01T00:00:00Z"})) == []
    assert bills.get("/api/v1/bills/", {"status": "done"}).status_code == 400


def test_delete_bill(bills, api, admin_user, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    bills.create(capacity=1)
    bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001"}, format="json")
    assert bills.delete("/api/v1/bills/BILL-1/").status_code == 403
    assert api(admin_user).delete("/api/v1/bills/BILL-1/").status_code == 204
    assert not Bill.objects.exists()


def test_summary(bills, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    bills.create(capacity=1)
    bills.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00001"}, format="json")
    bills.post("/api/v1/bills/BILL-1/complete/")
    body = bills.get("/api/v1/bills/summary/").json()
    from django.utils import timezone

    assert body == {
        "date": timezone.localdate().isoformat(), "bills_created": 1, "bills_completed": 1, "parents": 1, "children": 30,
        "actual_weight_kg": 30.0, "expected_weight_kg": 30.0,
        "by_user": [{"username": "biller", "bills_created": 1, "bills_completed": 1, "parents_added": 1}],
    }
    assert bills.get("/api/v1/bills/summary/", {"date": "2001-02-03"}).json()["date"] == date(2001, 2, 3).isoformat()
    bad = bills.get("/api/v1/bills/summary/", {"date": "03/02/2001"})
    assert bad.status_code == 400 and "date" in bad.json()["errors"]
