"""Every API endpoint, admin changelist and operator page against its exact query-count
baseline (tests/query_counts.py; the files tests/<app>/query_counts.json)."""

import uuid

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from billing.services import bill_add_parent, bill_create
from tests.helpers import fill_parent
from tests.query_counts import TESTS, expect_query_count

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(dispatcher, biller, admin_user):
    fill_parent(dispatcher, "SB00001", 3)
    fill_parent(dispatcher, "SB00002", 30, start=100)
    fill_parent(dispatcher, "SB00003", 1, start=200)
    bill_create(user=biller, bill_id="BILL-1", capacity=3, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    if connection.vendor == "postgresql":
        # The admin's estimated totals ask the planner, whose statistics earlier tests left
        # behind: make them this data's, so that every run counts the same statements.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"dispatcher": dispatcher, "biller": biller, "admin": admin_user}


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def measured(app: str, key: str, call):
    cache.clear() if not hasattr(cache, "delete_pattern") else cache.delete_pattern("*")
    with expect_query_count(app, key):
        response = call()
    assert response.status_code < 400, (key, response.status_code, response.content[:300])


API_READS = [
    ("accounts", "api GET /me/ (dispatcher)", "dispatcher", "/api/v1/me/"),
    ("accounts", "api GET /areas/", "admin", "/api/v1/areas/"),
    ("accounts", "api GET /users/", "admin", "/api/v1/users/"),
    ("bags", "api GET /bags/", "admin", "/api/v1/bags/"),
    ("bags", "api GET /bags/ (dispatcher)", "dispatcher", "/api/v1/bags/"),
    ("bags", "api GET /bags/?kind=child&linked=true", "admin", "/api/v1/bags/?kind=child&linked=true"),
    ("bags", "api GET /bags/?search=SB", "admin", "/api/v1/bags/?search=SB"),
    ("bags", "api GET /bags/{qr_id}/ (parent)", "admin", "/api/v1/bags/SB00001/"),
    ("bags", "api GET /bags/{qr_id}/ (child)", "admin", "/api/v1/bags/CH000000/"),
    ("scans", "api GET /scans/", "admin", "/api/v1/scans/"),
    ("scans", "api GET /scans/?parent=", "dispatcher", "/api/v1/scans/?parent=SB00001"),
    ("billing", "api GET /bills/", "biller", "/api/v1/bills/"),
    ("billing", "api GET /bills/{bill_id}/", "biller", "/api/v1/bills/BILL-1/"),
    ("billing", "api GET /bills/summary/", "biller", "/api/v1/bills/summary/"),
    ("reports", "api GET /stats/", "biller", "/api/v1/stats/"),
    ("reports", "api GET /stats/ (dispatcher)", "dispatcher", "/api/v1/stats/"),
]


@pytest.mark.parametrize("app,key,role,url", API_READS, ids=[row[1] for row in API_READS])
def test_api_reads(world, app, key, role, url):
    client = api_client(world[role])
    measured(app, key, lambda: client.get(url))


def test_api_scans(world):
    client = api_client(world["dispatcher"])

    def post(path, body):
        return lambda: client.post(f"/api/v1/{path}", body, format="json")

    measured("scans", "api POST /scans/parent/ (existing)", post("scans/parent/", {"qr_id": "SB00001"}))
    measured("scans", "api POST /scans/parent/ (new, with scan_id)",
             post("scans/parent/", {"qr_id": "SB00009", "scan_id": str(uuid.uuid4())}))
    measured("scans", "api POST /scans/child/ (new child, with scan_id)",
             post("scans/child/", {"parent": "SB00001", "qr_id": "NEWKID-1", "scan_id": str(uuid.uuid4())}))
    scan_id = str(uuid.uuid4())
    measured("scans", "api POST /scans/child/ (new child)", post("scans/child/", {"parent": "SB00001",
                                                                                 "qr_id": "NEWKID-2"}))
    measured("scans", "api POST /scans/child/ (duplicate)", post("scans/child/", {"parent": "SB00001",
                                                                                 "qr_id": "NEWKID-2"}))
    measured("scans", "api POST /scans/child/ (refused: full)", lambda: _expect(
        client.post("/api/v1/scans/child/", {"parent": "SB00002", "qr_id": "NEWKID-3"}, format="json"), 409))
    body = {"parent": "SB00001", "qr_id": "NEWKID-4", "scan_id": scan_id}
    client.post("/api/v1/scans/child/", body, format="json")
    measured("scans", "api POST /scans/child/ (a replay)", post("scans/child/", body))
    measured("scans", "api POST /scans/undo/", post("scans/undo/", {"parent": "SB00001"}))
    measured("scans", "api POST /scans/batch/ (30 new children, with scan_ids)", post("scans/batch/", {"items": [
        {"kind": "child", "parent": "SB00009", "qr_id": f"BATCHKID-{i}", "scan_id": str(uuid.uuid4())}
        for i in range(30)]}))
    measured("scans", "api POST /scans/batch/ (parent, child, undo)", post("scans/batch/", {"items": [
        {"kind": "parent", "qr_id": "SB00001"}, {"kind": "child", "parent": "SB00001", "qr_id": "NEWKID-5"},
        {"kind": "undo", "parent": "SB00001"}]}))
    biller = api_client(world["biller"])
    measured("billing", "api POST /bills/{bill_id}/parents/ (with scan_id)",
             lambda: biller.post("/api/v1/bills/BILL-1/parents/", {"qr_id": "SB00003", "scan_id": str(uuid.uuid4())},
                                 format="json"))


def _expect(response, status):
    assert response.status_code == status, response.content[:300]
    response.status_code = 200  # measured() checks for a success
    return response


PAGES = [
    ("accounts", "page / (biller)", "biller", "/"),
    ("scans", "page /scan/", "dispatcher", "/scan/"),
    ("scans", "page /scan/{parent}/", "dispatcher", "/scan/SB00001/"),
    ("scans", "page /scan/{parent}/state/", "dispatcher", "/scan/SB00001/state/"),
    ("scans", "page /lookup/?q=", "dispatcher", "/lookup/?q=SB00001"),
    ("billing", "page /bills/", "biller", "/bills/"),
    ("billing", "page /bills/{bill_id}/", "biller", "/bills/BILL-1/"),
    ("billing", "page /bills/summary/", "biller", "/bills/summary/"),
    ("reports", "page /dashboard/", "biller", "/dashboard/"),
]


@pytest.mark.parametrize("app,key,role,url", PAGES, ids=[row[1] for row in PAGES])
def test_pages(world, settings, app, key, role, url):
    settings.SESSION_REFRESH_SECONDS = 24 * 3600  # the once-a-minute session rewrite is not the page's
    client = Client()
    client.force_login(world[role])
    measured(app, key, lambda: client.get(url))


def test_admin_changelists(world, settings):
    settings.SESSION_REFRESH_SECONDS = 24 * 3600
    client = Client()
    client.force_login(world["admin"])
    for model in admin.site._registry:
        meta = model._meta
        # Third-party models shown in the admin (auth, django-otp, django-axes) count with the kernel's.
        app = meta.app_label if (TESTS / meta.app_label).is_dir() else "tracetrack"
        measured(app, f"admin changelist {meta.app_label}.{meta.model_name}",
                 lambda meta=meta: client.get(f"/admin/{meta.app_label}/{meta.model_name}/"))
