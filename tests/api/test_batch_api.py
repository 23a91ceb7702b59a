"""POST /api/v1/scans/batch/ (API.md): each item answered exactly as its single call would
be at that point of the sequence, per-item scan_id replay interchangeable with single calls,
a malformed envelope applying nothing, and the rate limit counting every item."""

import json
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from bags.models import Bag, Link
from billing.services import bill_add_parent, bill_complete, bill_create
from scans.models import Scan, ScanKind
from scans.services import scan_parent
from stats.recount import drift
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.django_db

SINGLE = {"parent": "/api/v1/scans/parent/", "child": "/api/v1/scans/child/", "undo": "/api/v1/scans/undo/"}
VOLATILE = {"created_at", "updated_at", "timestamp", "undone_at", "id", "scan_id", "request_id"}


def post(client, path, body):
    return client.post(path, body, format="json")


def batch(client, items):
    response = post(client, "/api/v1/scans/batch/", {"items": items})
    assert response.status_code == 200, response.content
    return response.json()["results"]


def stable(value):
    """A body without what differs from one run to the next (times, ids)."""
    if isinstance(value, dict):
        return {key: stable(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [stable(item) for item in value]
    return value


def singles(client, items):
    """What the single endpoints answer to `items` in turn, from the same starting point:
    run inside a transaction that is then rolled back."""
    with transaction.atomic():
        answers = []
        for item in items:
            body = {key: value for key, value in item.items() if key != "kind"}
            response = post(client, SINGLE[item["kind"]], body)
            answers.append({"status": response.status_code, "body": response.json()})
        transaction.set_rollback(True)
    return answers


SEQUENCE = [
    {"kind": "parent", "qr_id": "SB00001"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000001"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000002"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000001"},  # duplicate
    {"kind": "child", "parent": "SB00001", "qr_id": "CH-ELSEWHERE"},  # already_linked
    {"kind": "child", "parent": "SB00001", "qr_id": "SB00002"},  # 400: a parent code as a child
    {"kind": "child", "parent": "SB09999", "qr_id": "CH000003"},  # 404
    {"kind": "undo", "parent": "SB00001"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000004"},
    {"kind": "parent", "qr_id": "CH000001"},  # 400: not a parent code
    {"kind": "undo", "parent": "SB00009"},  # 404
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000005"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000006"},
    {"kind": "parent", "qr_id": "SB00003", "dispatch_area": "indore"},  # a dispatcher's own area wins
]


def test_each_item_answers_as_its_single_call(api, dispatcher):
    fill_parent(dispatcher, "SB00002", 1, prefix="CH-ELSEWHERE")
    Bag.objects.filter(qr_id__startswith="CH-ELSEWHERE").update(qr_id="CH-ELSEWHERE")
    client = api(dispatcher)
    expected = singles(client, SEQUENCE)
    results = batch(client, SEQUENCE)
    assert [r["status"] for r in results] == [201, 201, 201, 200, 409, 400, 404, 200, 201, 400, 404, 201, 201, 201]
    assert stable(results) == stable(expected)
    # What the batch did is what the single calls did: the parent shows each step's count.
    assert [r["body"]["parent"]["child_count"] for r in results if r["status"] in (200, 201) and "parent" in r["body"]
            and isinstance(r["body"]["parent"], dict)] == [1, 2, 2, 1, 2, 3, 4]
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, Link.objects.filter(parent=parent).count()) == (4, 4)
    assert not Bag.objects.filter(qr_id="CH000002").exists()  # undone: the scan had made it
    assert drift() == {}


def test_refusals_change_nothing_of_the_others(api, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 29)
    bill_create(user=biller, bill_id="T-1", capacity=1, destination="D", vehicle_number="V")
    scan_parent(user=dispatcher, qr_id="SB00002")
    bill_add_parent(user=biller, bill_id="T-1", parent_qr="SB00002")
    bill_complete(user=biller, bill_id="T-1")
    results = batch(api(dispatcher), [
        {"kind": "child", "parent": "SB00001", "qr_id": "CH-A"},
        {"kind": "child", "parent": "SB00001", "qr_id": "CH-B"},  # the 31st
        {"kind": "child", "parent": "SB00002", "qr_id": "CH-C"},  # frozen
        {"kind": "undo", "parent": "SB00002"},
    ])
    assert [(r["status"], r["body"].get("code")) for r in results] == [
        (201, None), (409, "capacity_reached"), (409, "bill_completed"), (409, "bill_completed")]
    assert set(Bag.objects.filter(qr_id__in=["CH-A", "CH-B", "CH-C"]).values_list("qr_id", flat=True)) == {"CH-A"}
    assert drift() == {}


def test_an_item_and_a_single_call_replay_each_other(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    single = post(client, SINGLE["child"], {"parent": "SB00001", "qr_id": "CH000001", "scan_id": first})
    (replayed,) = batch(client, [{"kind": "child", "parent": " sb00001 ", "qr_id": "ch000001", "scan_id": first}])
    assert replayed == {"status": 201, "body": single.json()}
    (item,) = batch(client, [{"kind": "child", "parent": "SB00001", "qr_id": "CH000002", "scan_id": second}])
    again = post(client, SINGLE["child"], {"parent": "SB00001", "qr_id": "CH000002", "scan_id": second})
    assert again.status_code == 201 and again.json() == item["body"]
    assert json.loads(again.content) == item["body"]
    other = post(client, SINGLE["child"], {"parent": "SB00001", "qr_id": "CH000009", "scan_id": second})
    assert other.status_code == 422 and other.json()["code"] == "idempotency_mismatch"
    (mismatch,) = batch(client, [{"kind": "parent", "qr_id": "SB00001", "scan_id": first}])
    assert mismatch["status"] == 422 and mismatch["body"]["code"] == "idempotency_mismatch"
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 2


def test_a_scan_id_twice_in_one_batch(api, dispatcher):
    scan_parent(user=dispatcher, qr_id="SB00001")
    same, other = str(uuid.uuid4()), str(uuid.uuid4())
    results = batch(api(dispatcher), [
        {"kind": "child", "parent": "SB00001", "qr_id": "CH000001", "scan_id": same},
        {"kind": "child", "parent": "SB00001", "qr_id": "CH000001", "scan_id": same},
        {"kind": "child", "parent": "SB00001", "qr_id": "CH000002", "scan_id": other},
        {"kind": "child", "parent": "SB00001", "qr_id": "CH000003", "scan_id": other},
    ])
    assert [r["status"] for r in results] == [201, 201, 201, 422]
    assert results[1] == results[0]
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 2


def test_a_whole_batch_replayed(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    items = [{"kind": "child", "parent": "SB00001", "qr_id": child_code(i), "scan_id": str(uuid.uuid4())}
             for i in range(5)]
    first = post(client, "/api/v1/scans/batch/", {"items": items})
    again = post(client, "/api/v1/scans/batch/", {"items": items})
    assert first.content == again.content
    assert Scan.objects.filter(kind=ScanKind.CHILD).count() == 5 and Bag.objects.get(qr_id="SB00001").child_count == 5


@pytest.mark.parametrize("body", [
    [], "items", {"items": "SB00001"}, {}, {"items": []}, {"items": None},
    {"items": [{"kind": "parent", "qr_id": f"SB{i:05d}"} for i in range(31)]},
])
def test_a_malformed_envelope_applies_nothing(api, dispatcher, body):
    response = post(api(dispatcher), "/api/v1/scans/batch/", body)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not Bag.objects.exists() and not Scan.objects.exists()


@pytest.mark.parametrize("item", [
    "SB00001", 7, None, {}, {"kind": "teleport", "qr_id": "SB00001"}, {"kind": "child", "parent": "SB00001"},
    {"kind": "child", "parent": "SB00001", "qr_id": "CH000001", "scan_id": ""},
    {"kind": "parent", "qr_id": "x" * 5000},
])
def test_a_malformed_item_is_its_own_400(api, dispatcher, item):
    results = batch(api(dispatcher), [item, {"kind": "parent", "qr_id": "SB00002"}])
    assert results[0]["status"] == 400 and results[0]["body"]["code"] == "invalid" and results[0]["body"]["errors"]
    assert results[1]["status"] == 201
    assert list(Bag.objects.values_list("qr_id", flat=True)) == ["SB00002"]


def test_a_malformed_item_body_is_the_single_calls(api, dispatcher):
    client = api(dispatcher)
    single = post(client, SINGLE["child"], {"parent": "SB00001", "qr_id": "SB00002"})
    (item,) = batch(client, [{"kind": "child", "parent": "SB00001", "qr_id": "SB00002"}])
    assert stable(item["body"]) == stable(single.json()) and item["status"] == single.status_code == 400


def test_the_rate_limit_counts_every_item(api, dispatcher, settings, one_window):
    settings.RATE_LIMIT_SCAN = "5/m"
    client = api(dispatcher)
    batch(client, [{"kind": "parent", "qr_id": f"SB{i:05d}"} for i in range(3)])
    limited = post(client, "/api/v1/scans/batch/", {"items": [{"kind": "parent", "qr_id": f"SB{i:05d}"}
                                                               for i in range(3, 6)]})
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert Bag.objects.count() == 3


@pytest.mark.parametrize("role", ["dispatcher", "biller", "admin_user", None])
def test_who_may_post_a_batch(api, request, role):
    """Whoever may scan (every role: accounts.policy "scan"); nobody anonymous."""
    user = request.getfixturevalue(role) if role else None
    response = post(api(user), "/api/v1/scans/batch/", {"items": [{"kind": "parent", "qr_id": "SB00001"}]})
    assert response.status_code == (200 if role else 401)
    assert Bag.objects.filter(qr_id="SB00001").exists() == bool(role)


def test_another_areas_parent_is_refused_per_item(api, dispatcher, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00001")
    results = batch(api(dispatcher), [{"kind": "child", "parent": "SB00001", "qr_id": "CH000001"},
                                      {"kind": "parent", "qr_id": "SB00001"}, {"kind": "undo", "parent": "SB00001"}])
    assert [(r["status"], r["body"]["code"]) for r in results] == [(409, "area_mismatch")] * 3


def test_thirty_children_cost_a_fixed_number_of_statements(api, dispatcher):
    client = api(dispatcher)
    scan_parent(user=dispatcher, qr_id="SB00001")
    scan_parent(user=dispatcher, qr_id="SB00002")

    def statements(parent, start, n):
        items = [{"kind": "child", "parent": parent, "qr_id": child_code(start + i), "scan_id": str(uuid.uuid4())}
                 for i in range(n)]
        with CaptureQueriesContext(connection) as ctx:
            assert {r["status"] for r in batch(client, items)} == {201}
        return len(ctx.captured_queries)

    assert statements("SB00001", 0, 2) == statements("SB00002", 100, 30)
