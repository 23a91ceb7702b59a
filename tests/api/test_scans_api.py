import uuid

import pytest

from bags.models import Bag, Link
from scans.models import Scan
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.django_db

BAG_KEYS = {"qr_id", "kind", "status", "dispatch_area", "child_count", "capacity", "weight_kg", "parent", "bill",
            "created_by", "created_at", "updated_at"}
SCAN_KEYS = {"id", "scan_id", "kind", "qr_id", "parent", "user", "dispatch_area", "timestamp", "undone_at"}


def post(client, path, body):
    return client.post(f"/api/v1/scans/{path}/", body, format="json")


def test_parent_scan_new_then_existing(api, dispatcher):
    client = api(dispatcher)
    first = post(client, "parent", {"qr_id": " sb00001 ", "dispatch_area": "indore"})
    assert first.status_code == 201
    body = first.json()
    assert set(body) == {"bag", "created", "scan"} and body["created"] is True
    assert set(body["bag"]) == BAG_KEYS and set(body["scan"]) == SCAN_KEYS
    assert body["bag"] | {"created_at": None, "updated_at": None} == {
        "qr_id": "SB00001", "kind": "parent", "status": "pending", "dispatch_area": "lucknow", "child_count": 0,
        "capacity": 30, "weight_kg": 0.0, "parent": None, "bill": None, "created_by": "disp_lucknow",
        "created_at": None, "updated_at": None,
    }
    assert body["scan"]["kind"] == "parent" and body["scan"]["parent"] is None and body["scan"]["user"] == "disp_lucknow"
    again = post(client, "parent", {"qr_id": "SB00001"})
    assert again.status_code == 200 and again.json()["created"] is False


def test_child_scan_representation(api, dispatcher):
    client = api(dispatcher)
    post(client, "parent", {"qr_id": "SB00001"})
    response = post(client, "child", {"parent": "sb00001", "qr_id": "ch-1234"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"bag", "parent", "scan", "duplicate"} and body["duplicate"] is False
    child, parent = body["bag"], body["parent"]
    assert (child["qr_id"], child["kind"], child["status"], child["parent"], child["child_count"], child["capacity"],
            child["weight_kg"]) == ("CH-1234", "child", "completed", "SB00001", None, None, 1.0)
    assert (parent["child_count"], parent["status"], parent["weight_kg"]) == (1, "in_progress", 1.0)
    assert body["scan"]["parent"] == "SB00001" and body["scan"]["qr_id"] == "CH-1234"


def test_duplicate_child_is_200_with_the_original_scan(api, dispatcher):
    client = api(dispatcher)
    post(client, "parent", {"qr_id": "SB00001"})
    first = post(client, "child", {"parent": "SB00001", "qr_id": "CH0001"}).json()
    again = post(client, "child", {"parent": "SB00001", "qr_id": "ch0001"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["scan"] == first["scan"]


@pytest.mark.parametrize(
    "path,body,status,code",
    [
        ("parent", {"qr_id": "nope"}, 400, "invalid"),
        ("parent", {}, 400, "invalid"),
        ("parent", {"qr_id": "SB00009", "scan_id": "not-a-uuid"}, 400, "invalid"),
        ("parent", {"qr_id": "SB00009", "dispatch_area": "mars"}, 201, None),  # dispatcher: area ignored
        ("child", {"parent": "SB00001"}, 400, "invalid"),
        ("child", {"parent": "SB00001", "qr_id": "SB00002"}, 400, "invalid"),
        ("child", {"parent": "SB00404", "qr_id": "CH0001"}, 404, "not_found"),
        ("child", {"parent": "SB00001", "qr_id": "CH9999"}, 409, "capacity_reached"),
        ("child", {"parent": "SB00002", "qr_id": child_code(0)}, 409, "already_linked"),
        ("child", {"parent": "SB00003", "qr_id": "CH0001"}, 409, "area_mismatch"),
        ("undo", {"parent": "SB00002"}, 409, "nothing_to_undo"),
        ("undo", {"parent": "SB00404"}, 404, "not_found"),
        ("undo", {}, 400, "invalid"),
        ("undo", {"parent": "SB00003"}, 409, "area_mismatch"),
    ],
)
def test_scan_refusals(api, dispatcher, other_dispatcher, path, body, status, code):
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 0)
    fill_parent(other_dispatcher, "SB00003", 0)
    response = post(api(dispatcher), path, body)
    assert response.status_code == status, response.content
    if code:
        data = response.json()
        assert data["code"] == code and data["detail"]
        if status == 400:
            assert data["errors"]
        if code == "already_linked":
            assert data["current_parent"] == "SB00001"


def test_frozen_parent_and_is_parent_refusals(api, dispatcher, biller, settings):
    from billing.services import bill_add_parent, bill_complete, bill_create

    fill_parent(dispatcher, "SB00001", 1)
    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL-1")
    client = api(dispatcher)
    assert post(client, "child", {"parent": "SB00001", "qr_id": "CH7777"}).json()["code"] == "bill_completed"
    assert post(client, "undo", {"parent": "SB00001"}).json()["code"] == "bill_completed"
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5}|OLDP\d{4})$"
    from bags.services import bag_create

    bag_create(user=biller, qr_id="OLDP0001", kind="parent")
    settings.PARENT_QR_PATTERN = r"^(SB\d{5}|M444-\d{5})$"
    fill_parent(dispatcher, "SB00002", 0)
    assert post(client, "child", {"parent": "SB00002", "qr_id": "OLDP0001"}).json()["code"] == "is_parent"


def test_undo_answer(api, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    response = post(api(dispatcher), "undo", {"parent": "sb00001"})
    assert response.status_code == 200
    assert response.json()["removed"] == child_code(1) and response.json()["parent"]["child_count"] == 1


def test_retry_replays_the_first_answer_byte_for_byte(api, dispatcher):
    client = api(dispatcher)
    post(client, "parent", {"qr_id": "SB00001"})
    scan_id = str(uuid.uuid4())
    first = post(client, "child", {"parent": "SB00001", "qr_id": "CH0001", "scan_id": scan_id})
    post(client, "child", {"parent": "SB00001", "qr_id": "CH0002"})  # the parent changes meanwhile
    again = post(client, "child", {"parent": "SB00001", "qr_id": "CH0001", "scan_id": scan_id})
    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert Scan.objects.filter(qr_id="CH0001").count() == 1


def test_retry_of_a_refusal_replays_the_refusal(api, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    client = api(dispatcher)
    scan_id = str(uuid.uuid4())
    first = post(client, "child", {"parent": "SB00001", "qr_id": "CH9999", "scan_id": scan_id})
    post(client, "undo", {"parent": "SB00001"})
    again = post(client, "child", {"parent": "SB00001", "qr_id": "CH9999", "scan_id": scan_id})
    assert first.status_code == again.status_code == 409 and first.content == again.content
    assert not Bag.objects.filter(qr_id="CH9999").exists()


def test_reused_scan_id_with_another_body_is_422(api, dispatcher):
    client = api(dispatcher)
    post(client, "parent", {"qr_id": "SB00001"})
    scan_id = str(uuid.uuid4())
    post(client, "child", {"parent": "SB00001", "qr_id": "CH0001", "scan_id": scan_id})
    response = post(client, "child", {"parent": "SB00001", "qr_id": "CH0002", "scan_id": scan_id})
    assert response.status_code == 422 and response.json()["code"] == "idempotency_mismatch"
    assert Link.objects.count() == 1


def test_scan_list_filters_and_area_scoping(api, dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 3)
    fill_parent(other_dispatcher, "SB00002", 2, start=100)
    mine = api(dispatcher).get("/api/v1/scans/").json()["results"]
    assert {s["dispatch_area"] for s in mine} == {"lucknow"} and len(mine) == 4
    everything = api(biller).get("/api/v1/scans/").json()["results"]
    assert len(everything) == 7
    assert [s["timestamp"] for s in everything] == sorted((s["timestamp"] for s in everything), reverse=True)
    by_parent = api(biller).get("/api/v1/scans/", {"parent": "sb00002"}).json()["results"]
    assert {s["qr_id"] for s in by_parent} == {child_code(100), child_code(101)}
    assert len(api(biller).get("/api/v1/scans/", {"kind": "parent"}).json()["results"]) == 2
    assert len(api(biller).get("/api/v1/scans/", {"user": "disp_indore"}).json()["results"]) == 3
    assert len(api(biller).get("/api/v1/scans/", {"bag": child_code(0)}).json()["results"]) == 1
    assert len(api(biller).get("/api/v1/scans/", {"dispatch_area": "INDORE"}).json()["results"]) == 3
    assert len(api(biller).get("/api/v1/scans/", {"since": "2000-01-01T00:00:00Z", "until": "2100-01-01T00:00:00Z"}).json()["results"]) == 7
    for bad in ({"kind": "box"}, {"since": "yesterday"}, {"until": "2026-13-01"}):
        response = api(biller).get("/api/v1/scans/", bad)
        assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_scans_are_rate_limited_per_user(api, dispatcher, settings, one_window):
    settings.RATE_LIMIT_SCAN = "2/m"
    client = api(dispatcher)
    assert [post(client, "parent", {"qr_id": f"SB0000{i}"}).status_code for i in range(3)] == [201, 201, 429]
    limited = post(client, "parent", {"qr_id": "SB00009"})
    assert limited.json()["code"] == "rate_limited" and int(limited["Retry-After"]) >= 1
    assert api(dispatcher).get("/api/v1/scans/").status_code == 200  # reads are not scans


def test_child_scan_answers_show_the_bags_as_a_fresh_read_would(api, dispatcher, biller, admin_user):
    """The child-scan answer renders the bags the service hands back (area, creator, link
    and bill loaded while scanning, no reload): it must equal GET /bags/<code>/ right after,
    for a new child, a pending child registered elsewhere, a duplicate, and a parent on a bill."""
    from bags.services import bag_create
    from billing.services import bill_add_parent, bill_create

    operator, reader = api(dispatcher), api(admin_user)
    fill_parent(dispatcher, "SB00001", 29)
    bill_create(user=biller, bill_id="B-REP", capacity=2, destination="Delhi", vehicle_number="RJ14 1")
    bill_add_parent(user=biller, bill_id="B-REP", parent_qr="SB00001")
    bag_create(user=admin_user, qr_id="CH-PENDING", kind="child", dispatch_area="indore")
    post(operator, "parent", {"qr_id": "SB00002"})

    def check(answer, status):
        assert answer.status_code == status, answer.content
        body = answer.json()
        for key in ("bag", "parent"):
            fresh = reader.get(f"/api/v1/bags/{body[key]['qr_id']}/").json()
            fresh.pop("children")  # the detail view adds a parent's children
            assert body[key] == fresh, key
        return body

    body = check(post(operator, "child", {"parent": "SB00001", "qr_id": "CH-LAST", "scan_id": str(uuid.uuid4())}), 201)
    assert body["bag"]["bill"] == body["parent"]["bill"] == "B-REP" and body["parent"]["status"] == "completed"
    body = check(post(operator, "child", {"parent": "SB00002", "qr_id": "CH-PENDING"}), 201)
    assert body["bag"]["dispatch_area"] == "lucknow" and body["bag"]["created_by"] == "admin"
    assert body["bag"]["parent"] == "SB00002" and body["bag"]["bill"] is None
    body = check(post(operator, "child", {"parent": "SB00001", "qr_id": "CH-LAST"}), 200)
    assert body["duplicate"] is True and body["bag"]["bill"] == "B-REP"


def test_scan_representation_matches_the_declared_fields(dispatcher, admin_user):
    """ScanSerializer builds its dict directly for speed: it must equal DRF's field-by-field
    rendering of the same declared fields, for every kind of scan row."""
    from rest_framework import serializers

    from scans.selectors import scans_visible_to
    from scans.serializers import ScanSerializer
    from scans.services import undo_last_scan

    fill_parent(dispatcher, "SB00001", 2)
    undo_last_scan(user=dispatcher, parent_qr="SB00001")
    Scan.objects.filter(kind="parent").update(user=None, dispatch_area=None)
    rows = list(scans_visible_to(admin_user)) + list(Scan.objects.all())  # annotated and plain
    assert len(rows) == 6 and any(r.undone_at for r in rows) and any(r.user_id is None for r in rows)
    serializer = ScanSerializer()
    for scan in rows:
        assert serializer.to_representation(scan) == serializers.ModelSerializer.to_representation(serializer, scan)


def test_lists_filter_only_when_a_filter_is_named(api, dispatcher, admin_user):
    fill_parent(dispatcher, "SB00001", 2)
    client = api(admin_user)
    assert len(client.get("/api/v1/scans/?unknown=1").json()["results"]) == 3
    assert len(client.get("/api/v1/scans/?kind=parent").json()["results"]) == 1
    assert client.get("/api/v1/scans/?kind=bogus").status_code == 400


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC", "America/St_Johns"])
def test_api_datetimes_render_as_drf_renders_them(settings, zone):
    from datetime import UTC, datetime

    from rest_framework import serializers

    from tracetrack.api.formats import api_datetime

    settings.TIME_ZONE = zone
    field = serializers.DateTimeField()
    for moment in (datetime(2026, 11, 30, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 3, 1, 0, 0, tzinfo=UTC)):
        assert api_datetime(moment) == field.to_representation(moment)
    assert api_datetime(None) is None
