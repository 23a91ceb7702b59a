"""The integrator's whole flow, as API.md describes it, with a Bearer token."""

import uuid

import pytest
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_token_parent_thirty_children_duplicate_undo_bill_complete(dispatcher, biller):
    def client_for(username):
        token = APIClient().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
        assert token.status_code == 201
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token.json()['token']}")
        return client

    scanner, billing = client_for("disp_lucknow"), client_for("biller")
    for parent in ("SB10001", "SB10002"):
        assert scanner.post("/api/v1/scans/parent/", {"qr_id": parent, "scan_id": str(uuid.uuid4())}, format="json").status_code == 201
        for n in range(30):
            body = {"parent": parent, "qr_id": f"K{parent}-C{n:02d}", "scan_id": str(uuid.uuid4())}
            assert scanner.post("/api/v1/scans/child/", body, format="json").status_code == 201
    duplicate = scanner.post("/api/v1/scans/child/", {"parent": "SB10001", "qr_id": "KSB10001-C00"}, format="json")
    assert duplicate.status_code == 200 and duplicate.json()["duplicate"] is True
    full = scanner.post("/api/v1/scans/child/", {"parent": "SB10001", "qr_id": "EXTRA-01"}, format="json")
    assert full.json()["code"] == "capacity_reached"
    assert scanner.post("/api/v1/scans/undo/", {"parent": "SB10002"}, format="json").json()["removed"] == "KSB10002-C29"
    assert scanner.post("/api/v1/scans/child/", {"parent": "SB10002", "qr_id": "KSB10002-C29"}, format="json").status_code == 201

    assert billing.post("/api/v1/bills/", {"bill_id": "TRUCK-1", "capacity": 2, "destination": "Delhi",
                                            "vehicle_number": "DL01AB1234"}, format="json").status_code == 201
    for parent in ("SB10001", "SB10002"):
        assert billing.post("/api/v1/bills/TRUCK-1/parents/", {"qr_id": parent, "scan_id": str(uuid.uuid4())},
                            format="json").status_code == 201
    done = billing.post("/api/v1/bills/TRUCK-1/complete/").json()
    assert (done["status"], done["parent_count"], done["child_count"], done["actual_weight_kg"], done["expected_weight_kg"]) == (
        "completed", 2, 60, 60.0, 60.0)
    frozen = scanner.post("/api/v1/scans/undo/", {"parent": "SB10001"}, format="json")
    assert frozen.status_code == 409 and frozen.json()["code"] == "bill_completed"
    stats = billing.get("/api/v1/stats/").json()
    assert stats["bags"]["completed_parents"] == 2 and stats["bills"]["completed"] == 1


def test_browsable_api_with_a_session_login(client, dispatcher):
    login = client.get("/api-auth/login/")
    assert login.status_code == 200
    response = client.post("/api-auth/login/", {"username": "disp_lucknow", "password": PASSWORD, "next": "/api/v1/"})
    assert response.status_code == 302
    page = client.get("/api/v1/bags/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and b"<html" in page.content and b"Bag" in page.content
