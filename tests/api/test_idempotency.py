"""Idempotent retries by `scan_id` (API.md, Scans), at the API boundary: the first answer,
byte for byte, and nothing changed; the same id for anything else is 422; malformed input
is a 400 before any replay."""

import uuid

import pytest

from bags.models import Bag, Link
from scans.models import Scan
from scans.services import scan_parent
from tests.helpers import fill_parent, new_scan_id
from tracetrack.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def post(client, path, body):
    return client.post(f"/api/v1/{path}", body, format="json")


def child(client, parent, code, scan_id):
    return post(client, "scans/child/", {"parent": parent, "qr_id": code, "scan_id": scan_id})


def test_retry_of_a_child_scan_changes_nothing_and_answers_the_same(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    first = child(client, "SB00001", "CH000001", scan_id)
    again = child(client, "sb00001 ", "ch000001", scan_id)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content  # the first answer, not "duplicate"
    assert again.json()["duplicate"] is False
    assert Scan.objects.filter(kind="child").count() == 1 and Link.objects.count() == 1
    assert Scan.objects.get(kind="child").scan_id == uuid.UUID(scan_id)


def test_retry_of_a_parent_scan_writes_one_scan(api, dispatcher):
    client = api(dispatcher)
    scan_id = new_scan_id()
    first = post(client, "scans/parent/", {"qr_id": "SB00001", "scan_id": scan_id})
    again = post(client, "scans/parent/", {"qr_id": "SB00001", "scan_id": scan_id})
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content and again.json()["created"] is True
    assert Scan.objects.count() == 1


def test_retry_of_a_refusal_is_the_same_refusal_even_after_the_state_changed(api, dispatcher):
    client = api(dispatcher)
    fill_parent(dispatcher, "SB00001", 30)
    scan_id = new_scan_id()
    first = child(client, "SB00001", "CH999999", scan_id)
    assert first.status_code == 409 and first.json()["code"] == "capacity_reached"
    assert post(client, "scans/undo/", {"parent": "SB00001"}).status_code == 200  # now there would be room
    again = child(client, "SB00001", "CH999999", scan_id)
    assert again.status_code == 409 and again.content == first.content
    assert not Bag.objects.filter(qr_id="CH999999").exists()


def test_retry_of_a_not_found_is_replayed(api, dispatcher):
    client = api(dispatcher)
    scan_id = new_scan_id()
    assert child(client, "SB00001", "CH000001", scan_id).status_code == 404
    scan_parent(user=dispatcher, qr_id="SB00001")
    again = child(client, "SB00001", "CH000001", scan_id)
    assert again.status_code == 404 and again.json()["code"] == "not_found"
    assert not Link.objects.exists()


def test_same_scan_id_for_a_different_request_is_a_mismatch(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    child(client, "SB00001", "CH000001", scan_id)
    other = child(client, "SB00001", "CH000002", scan_id)
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    as_parent = post(client, "scans/parent/", {"qr_id": "SB00001", "scan_id": scan_id})
    assert as_parent.status_code == 422 and as_parent.json()["code"] == "idempotency_mismatch"
    assert not Bag.objects.filter(qr_id="CH000002").exists()


def test_same_scan_id_from_another_user_is_a_mismatch(api, dispatcher, make_user):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    child(api(dispatcher), "SB00001", "CH000001", scan_id)
    again = child(api(make_user()), "SB00001", "CH000001", scan_id)
    assert again.status_code == 422 and again.json()["code"] == "idempotency_mismatch"


@pytest.mark.parametrize("bad", ["not-a-uuid", "1234", 42, "{}", "", " ", True, ["x"]])
def test_scan_id_must_be_a_uuid(api, dispatcher, bad):
    response = post(api(dispatcher), "scans/parent/", {"qr_id": "SB00001", "scan_id": bad})
    assert response.status_code == 400 and "scan_id" in response.json()["errors"]
    assert not IdempotencyRecord.objects.exists() and not Bag.objects.exists()


@pytest.mark.parametrize("path,body", [
    ("scans/parent/", {"qr_id": "SB00001"}),
    ("scans/child/", {"parent": "SB00001", "qr_id": "CH000001"}),
    ("bills/BILL-1/parents/", {"qr_id": "SB00001"}),
])
@pytest.mark.parametrize("blank", ["", " ", "\t"])
def test_a_blank_scan_id_is_a_400_not_no_scan_id(api, biller, dispatcher, path, body, blank):
    """API.md: the empty or blank string → 400; only null or absent means none."""
    from billing.services import bill_create

    bill_create(user=biller, bill_id="BILL-1", capacity=5, destination="D", vehicle_number="V")
    scan_parent(user=dispatcher, qr_id="SB00001")
    scans_before = Scan.objects.count()
    response = post(api(biller), path, {**body, "scan_id": blank})
    assert response.status_code == 400 and "scan_id" in response.json()["errors"]
    assert Scan.objects.count() == scans_before and not Link.objects.exists()
    assert post(api(biller), path, {**body, "scan_id": None}).status_code in (200, 201)  # null: none


def test_invalid_input_is_not_recorded(api, dispatcher):
    client = api(dispatcher)
    scan_id = new_scan_id()
    assert post(client, "scans/parent/", {"qr_id": "bad", "scan_id": scan_id}).status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert post(client, "scans/parent/", {"qr_id": "SB00001", "scan_id": scan_id}).status_code == 201


# --- Issue 12, 1: a replay never hands out another request's answer ----------------------


@pytest.mark.parametrize("malformed", ["SB0123X", "Ó", "", "x" * 300])
def test_malformed_input_with_a_used_scan_id_is_400_not_the_stored_answer(api, dispatcher, other_dispatcher,
                                                                           malformed):
    scan_id = new_scan_id()
    first = post(api(dispatcher), "scans/parent/", {"qr_id": "SB01234", "scan_id": scan_id})
    assert first.status_code == 201
    response = post(api(other_dispatcher), "scans/parent/", {"qr_id": malformed, "scan_id": scan_id})
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert "SB01234" not in response.content.decode()
    same_user = post(api(dispatcher), "scans/child/", {"parent": "SB01234", "qr_id": malformed, "scan_id": scan_id})
    assert same_user.status_code == 400 and "SB01234" not in same_user.json()["detail"]


def test_another_areas_dispatcher_reusing_a_scan_id_gets_422(api, dispatcher, other_dispatcher):
    scan_id = new_scan_id()
    assert post(api(dispatcher), "scans/parent/", {"qr_id": "SB01234", "scan_id": scan_id}).status_code == 201
    response = post(api(other_dispatcher), "scans/parent/", {"qr_id": "SB01234", "scan_id": scan_id})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_mismatch"
    assert "lucknow" not in response.content.decode()


def test_a_scan_id_of_a_scan_cannot_be_replayed_by_another_endpoint(api, dispatcher, biller):
    from billing.services import bill_create

    bill_create(user=biller, bill_id="DEMO-003", capacity=5, destination="D", vehicle_number="V")
    scan_id = new_scan_id()
    assert post(api(dispatcher), "scans/parent/", {"qr_id": "SB01234", "scan_id": scan_id}).status_code == 201
    for body in ({"qr_id": "SB01234", "scan_id": scan_id}, {"qr_id": "SB0123X", "scan_id": scan_id}):
        response = post(api(biller), "bills/DEMO-003/parents/", body)
        assert response.status_code in (400, 422), response.content
        assert "bag" not in response.json()
    assert post(api(biller), "bills/DEMO-003/parents/", {"qr_id": "SB01234", "scan_id": scan_id}).json()["code"] == \
        "idempotency_mismatch"


# --- Issue 12, 2: the scan_id of a scan made without one ---------------------------------


@pytest.mark.parametrize("path,body", [
    ("scans/parent/", {"qr_id": "SB00002"}),
    ("scans/parent/", {"qr_id": "SB00001"}),
    ("scans/child/", {"parent": "SB00001", "qr_id": "CH000009"}),
    ("bills/BILL-1/parents/", {"qr_id": "SB00001"}),
])
def test_the_scan_id_of_a_scan_made_without_one_is_422_not_500(api, dispatcher, biller, path, body):
    from billing.services import bill_create

    bill_create(user=biller, bill_id="BILL-1", capacity=5, destination="D", vehicle_number="V")
    made = scan_parent(user=dispatcher, qr_id="SB00001")  # no client scan_id: the server gave it one
    listed = api(dispatcher).get("/api/v1/scans/").json()["results"][0]["scan_id"]
    assert listed == str(made.scan.scan_id)
    user = biller if path.startswith("bills") else dispatcher
    response = post(api(user), path, {**body, "scan_id": listed})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_mismatch"
    assert Scan.objects.count() == 1 and not Link.objects.exists()


def test_a_bill_add_replays_byte_for_byte(api, biller, dispatcher):
    from billing.services import bill_create

    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="D", vehicle_number="V")
    fill_parent(dispatcher, "SB00001", 1)
    scan_id = new_scan_id()
    first = post(api(biller), "bills/bill-1/parents/", {"qr_id": "SB00001", "scan_id": scan_id})
    again = post(api(biller), "bills/BILL-1/parents/", {"qr_id": " sb00001", "scan_id": scan_id})
    assert first.status_code == again.status_code == 201 and again.content == first.content
    assert again.json()["duplicate"] is False
    bill_create(user=biller, bill_id="BILL-2", capacity=2, destination="D", vehicle_number="V")
    other = post(api(biller), "bills/BILL-2/parents/", {"qr_id": "SB00001", "scan_id": scan_id})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    from billing.models import Bill

    assert Bill.objects.get(bill_id="BILL-1").parent_count == 1


# --- Issue 16: a new scan looks for no earlier use first ---------------------------------


@pytest.mark.parametrize("body,why", [
    ({"parent": "SB00001", "qr_id": "CH000009"}, "new child: the scan log's insert succeeds, the record's does not"),
    ({"parent": "SB00001", "qr_id": "CH000000"}, "duplicate: no scan written, the look-up after the service"),
    ({"parent": "SB00002", "qr_id": "CH000009"}, "refused (no such parent): the look-up after the service"),
])
def test_an_id_a_bill_add_used_is_422_on_a_child_scan_and_nothing_stays(api, dispatcher, biller, body, why):
    from billing.services import bill_create

    bill_create(user=biller, bill_id="BILL-1", capacity=5, destination="D", vehicle_number="V")
    fill_parent(dispatcher, "SB00001", 1)  # CH000000 inside
    scan_id = new_scan_id()
    added = post(api(biller), "bills/BILL-1/parents/", {"qr_id": "SB00001", "scan_id": scan_id})
    assert added.status_code == 201
    scans, links, bags = Scan.objects.count(), Link.objects.count(), Bag.objects.count()
    response = child(api(dispatcher), body["parent"], body["qr_id"], scan_id)
    assert response.status_code == 422 and response.json()["code"] == "idempotency_mismatch", why
    assert (Scan.objects.count(), Link.objects.count(), Bag.objects.count()) == (scans, links, bags)
    assert IdempotencyRecord.objects.get(scan_id=scan_id).action == "bill.add_parent"


def test_a_retried_new_child_runs_again_undone_and_answers_the_first_bytes(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = new_scan_id()
    first = child(client, "SB00001", "CH000001", scan_id)
    # Meanwhile the child was taken out again (an admin's undo): the retry's service run now
    # links it anew, then meets the stored record, and all of it is rolled back.
    Link.objects.filter(child__qr_id="CH000001").delete()
    again = child(client, "SB00001", "CH000001", scan_id)
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert not Link.objects.exists() and Scan.objects.filter(kind="child").count() == 1
