"""Reads are exact the moment a change commits. The cached reads that every scan made stale
(stats, the newest scans, a bag, searches, me: one global generation) are gone (issue 16):
they are read from the database each time, scoped to the caller."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from scans.services import scan_child, undo_last_scan
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db



def queries(client, url) -> tuple[int, dict]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()


def test_a_change_is_visible_at_once(api, dispatcher, other_dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    client = api(dispatcher)
    assert queries(client, "/api/v1/bags/SB00001/")[1]["child_count"] == 2
    queries(client, "/api/v1/stats/")
    scan_child(user=dispatcher, parent_qr="SB00001", qr_id="CH999999")
    assert queries(client, "/api/v1/bags/SB00001/")[1]["children"][-1] == "CH999999"
    assert queries(client, "/api/v1/stats/")[1]["bags"]["children"] == 3
    assert queries(client, "/api/v1/scans/")[1]["results"][0]["qr_id"] == "CH999999"
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    assert queries(client, "/api/v1/bags/SB00001/")[1]["child_count"] == 2


def test_scopes_do_not_leak(api, dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 2)
    assert queries(api(biller), "/api/v1/bags/SB00001/")[1]["qr_id"] == "SB00001"
    assert api(other_dispatcher).get("/api/v1/bags/SB00001/").status_code == 404
    assert queries(api(other_dispatcher), "/api/v1/stats/")[1]["bags"]["children"] == 0
    assert queries(api(biller), "/api/v1/stats/")[1]["bags"]["children"] == 2
