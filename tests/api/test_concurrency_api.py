"""Races through the HTTP API against a live, threaded server on PostgreSQL."""

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from accounts.services import token_create
from bags.models import Bag, Link
from billing.models import Bill, BillBag
from billing.services import bill_create
from scans.models import Scan, ScanKind
from scans.services import scan_parent
from tests.helpers import child_code
from tracetrack.models import IdempotencyRecord

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def blast(live_server, token, requests_to_send):
    """POST every (path, body) at once from its own thread; return [(status, json)]."""

    def send(item):
        path, body = item
        with requests.Session() as session:
            response = session.post(
                f"{live_server.url}/api/v1/{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=60
            )
        return response.status_code, response.json(), response.content

    with ThreadPoolExecutor(max_workers=len(requests_to_send)) as pool:
        return list(pool.map(send, requests_to_send))


def token(user):
    return token_create(user=user, name="race")[1]


def test_forty_children_into_one_parent(live_server, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    answers = blast(live_server, token(dispatcher),
                    [("scans/child/", {"parent": "SB00001", "qr_id": child_code(i)}) for i in range(40)])
    assert Counter(status for status, _, _ in answers) == {201: 30, 409: 10}
    assert {body["code"] for status, body, _ in answers if status == 409} == {"capacity_reached"}
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status, Link.objects.count()) == (30, "completed", 30)


def test_one_child_into_ten_parents(live_server, dispatcher):
    for i in range(10):
        scan_parent(user=dispatcher, qr_id=f"SB{i:05d}")
    answers = blast(live_server, token(dispatcher),
                    [("scans/child/", {"parent": f"SB{i:05d}", "qr_id": "CH000001"}) for i in range(10)])
    assert Counter(status for status, _, _ in answers) == {201: 1, 409: 9}
    assert Link.objects.count() == 1


def test_one_scan_id_replayed_concurrently(live_server, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_id = str(uuid.uuid4())
    answers = blast(live_server, token(dispatcher),
                    [("scans/child/", {"parent": "SB00001", "qr_id": "CH000001", "scan_id": scan_id})] * 10)
    assert {status for status, _, _ in answers} == {201}
    assert len({content for _, _, content in answers}) == 1  # the same bytes for everyone
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 1 and Link.objects.count() == 1


def test_one_refused_scan_id_replayed_concurrently(live_server, dispatcher):
    """A refusal writes no scan: the twins meet on the idempotency record itself (the
    statement sent with the COMMIT), and every loser answers the winner's bytes."""
    scan_id = str(uuid.uuid4())
    answers = blast(live_server, token(dispatcher),
                    [("scans/child/", {"parent": "SB09999", "qr_id": "CH000001", "scan_id": scan_id})] * 10)
    assert {status for status, _, _ in answers} == {404}
    assert len({content for _, _, content in answers}) == 1  # request_id included: the winner's
    assert IdempotencyRecord.objects.filter(scan_id=scan_id).count() == 1
    assert not Bag.objects.filter(qr_id="CH000001").exists()


def test_twenty_parents_onto_a_bill_of_five(live_server, dispatcher, biller):
    bill_create(user=biller, bill_id="BILL-1", capacity=5, destination="D", vehicle_number="V")
    for i in range(20):
        scan_parent(user=dispatcher, qr_id=f"SB{i:05d}")
    answers = blast(live_server, token(biller),
                    [("bills/BILL-1/parents/", {"qr_id": f"SB{i:05d}"}) for i in range(20)])
    assert Counter(status for status, _, _ in answers) == {201: 5, 409: 15}
    assert Bill.objects.get().parent_count == 5 == BillBag.objects.count()


def test_twin_batches_apply_once(live_server, dispatcher):
    """The same batch (same scan_ids) sent six times at once: one applies, the others wait
    for it and replay its answers, byte for byte."""
    scan_parent(user=dispatcher, qr_id="SB00001")
    items = [{"kind": "child", "parent": "SB00001", "qr_id": child_code(i), "scan_id": str(uuid.uuid4())}
             for i in range(30)]
    answers = blast(live_server, token(dispatcher), [("scans/batch/", {"items": items})] * 6)
    assert {status for status, _, _ in answers} == {200}
    assert len({content for _, _, content in answers}) == 1
    assert {result["status"] for result in answers[0][1]["results"]} == {201}
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 30 == Link.objects.count()


def test_batches_racing_for_one_parent_keep_the_cap(live_server, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    batches = [("scans/batch/", {"items": [{"kind": "child", "parent": "SB00001", "qr_id": child_code(b * 100 + i)}
                                           for i in range(12)]}) for b in range(4)]
    answers = blast(live_server, token(dispatcher), batches)
    statuses = Counter(result["status"] for _, body, _ in answers for result in body["results"])
    assert statuses == {201: 30, 409: 18}
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, Link.objects.count()) == (30, 30)
