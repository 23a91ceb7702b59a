import pytest

from bags.models import Bag
from billing.services import bill_add_parent, bill_create
from tests.helpers import child_code, fill_parent

pytestmark = pytest.mark.django_db


def results(response):
    assert response.status_code == 200, response.content
    return [item["qr_id"] for item in response.json()["results"]]


def test_detail_of_a_parent_lists_children_and_bill(api, dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 3)
    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    body = api(dispatcher).get("/api/v1/bags/sb00001/").json()
    assert body["children"] == [child_code(0), child_code(1), child_code(2)]
    assert (body["bill"], body["child_count"], body["weight_kg"], body["status"]) == ("BILL-1", 3, 3.0, "in_progress")
    child = api(dispatcher).get(f"/api/v1/bags/{child_code(1).lower()}/").json()
    assert (child["parent"], child["bill"], child["children"]) == ("SB00001", "BILL-1", None)


def test_other_areas_bags_are_404_for_a_dispatcher(api, dispatcher, other_dispatcher, biller):
    fill_parent(other_dispatcher, "SB00001", 1)
    response = api(dispatcher).get("/api/v1/bags/SB00001/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert results(api(dispatcher).get("/api/v1/bags/")) == []
    assert api(biller).get("/api/v1/bags/SB00001/").status_code == 200


def test_list_filters(api, dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(other_dispatcher, "SB00002", 2, start=100)
    from bags.services import bag_create

    bag_create(user=biller, qr_id="LOOSE01", kind="child")
    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    client = api(biller)
    assert results(client.get("/api/v1/bags/", {"kind": "parent"})) == ["SB00002", "SB00001"]
    assert results(client.get("/api/v1/bags/", {"kind": "parent", "status": "completed"})) == ["SB00001"]
    assert results(client.get("/api/v1/bags/", {"dispatch_area": "indore", "kind": "parent"})) == ["SB00002"]
    assert results(client.get("/api/v1/bags/", {"search": "sb0000"})) == ["SB00002", "SB00001"]
    assert results(client.get("/api/v1/bags/", {"linked": "false"})) == ["LOOSE01"]
    assert len(results(client.get("/api/v1/bags/", {"linked": "true", "page_size": 200}))) == 32
    assert results(client.get("/api/v1/bags/", {"billed": "true"})) == ["SB00001"]
    assert results(client.get("/api/v1/bags/", {"billed": "false"})) == ["SB00002"]
    assert results(client.get("/api/v1/bags/", {"created_before": "2000-01-01T00:00:00Z"})) == []
    assert len(results(client.get("/api/v1/bags/", {"created_after": "2000-01-01T00:00:00+05:30", "page_size": 200}))) == 35
    for bad in ({"kind": "box"}, {"status": "lost"}, {"linked": "maybe"}, {"created_after": "soon"}):
        response = client.get("/api/v1/bags/", bad)
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad


def test_cursor_pagination_walks_every_bag_once_newest_first(api, dispatcher):
    fill_parent(dispatcher, "SB00001", 25)
    client = api(dispatcher)
    seen, url = [], "/api/v1/bags/?page_size=7"
    while url:
        page = client.get(url).json()
        assert len(page["results"]) <= 7
        seen += [item["qr_id"] for item in page["results"]]
        url = page["next"]
    assert len(seen) == 26 and len(set(seen)) == 26
    created = list(Bag.objects.order_by("-created_at").values_list("qr_id", flat=True))
    assert seen == created


def test_page_size_is_clamped_to_200(api, dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    from tests.helpers import fill_parent as fill

    for n in range(2, 8):
        fill(dispatcher, f"SB0000{n}", 30, start=n * 100)
    body = api(dispatcher).get("/api/v1/bags/", {"page_size": 5000}).json()
    assert len(body["results"]) == 200 and body["next"]
    for wrong in ("abc", "null", "", "0", "-3", "1.5"):  # a value of the wrong type: 400 (issue 12, 10)
        response = api(dispatcher).get("/api/v1/bags/", {"page_size": wrong})
        assert response.status_code == 400 and "page_size" in response.json()["errors"], wrong


def test_create_bag(api, biller, dispatcher):
    response = api(biller).post("/api/v1/bags/", {"qr_id": " sb00042 ", "kind": "parent", "dispatch_area": "jaipur"}, format="json")
    assert response.status_code == 201
    assert response.json()["qr_id"] == "SB00042" and response.json()["dispatch_area"] == "jaipur"
    again = api(biller).post("/api/v1/bags/", {"qr_id": "SB00042", "kind": "parent"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "bag_exists"
    for bad in ({"qr_id": "SB00042", "kind": "child"}, {"qr_id": "CH0001", "kind": "box"}, {"kind": "child"},
                {"qr_id": "CH0001", "kind": "child", "dispatch_area": "mars"}):
        response = api(biller).post("/api/v1/bags/", bad, format="json")
        assert response.status_code == 400 and response.json()["code"] == "invalid", bad
    assert api(dispatcher).post("/api/v1/bags/", {"qr_id": "SB00043", "kind": "parent"}, format="json").status_code == 403


def test_delete_bag(api, admin_user, biller, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    assert api(biller).delete("/api/v1/bags/SB00001/").status_code == 403
    assert api(admin_user).delete(f"/api/v1/bags/{child_code(0)}/").status_code == 204
    assert Bag.objects.get(qr_id="SB00001").child_count == 1
    assert api(admin_user).delete("/api/v1/bags/SB00404/").status_code == 404
    from billing.services import bill_complete

    bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL-1")
    response = api(admin_user).delete("/api/v1/bags/SB00001/")
    assert response.status_code == 409 and response.json()["code"] == "bill_completed"


def walk(client, params) -> list[str]:
    """Every qr_id of a filtered list, following the cursor pages (small pages on purpose)."""
    seen, url, params = [], "/api/v1/bags/", {**params, "page_size": 2}
    while url:
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        seen += [item["qr_id"] for item in response.json()["results"]]
        url, params = response.json()["next"], None
    assert len(seen) == len(set(seen))
    return seen


def test_linked_and_billed_filters_mean_exactly_has_a_link_and_has_a_bill_place(api, admin_user, dispatcher, biller):
    """`linked` reads the child's status and `billed` probes the bill places through an
    index; whatever the services did (links, undo, deletes, bill removals), the answer is
    the one the Link and BillBag rows give — children only for `linked`, parents only
    for `billed`."""
    from bags.models import BagKind
    from bags.services import bag_create, bag_delete
    from billing.services import bill_remove_parent
    from scans.services import scan_child, scan_parent, undo_last_scan

    fill_parent(dispatcher, "SB00001", 3)
    fill_parent(dispatcher, "SB00002", 2, start=100)
    bag_create(user=biller, qr_id="LOOSE01", kind="child")  # never linked
    bag_create(user=biller, qr_id="LOOSE02", kind="child")
    scan_child(user=dispatcher, parent_qr="SB00002", qr_id="LOOSE02")
    undo_last_scan(user=dispatcher, parent_qr="SB00002")  # LOOSE02 existed before: back to pending
    bag_delete(user=admin_user, qr_id="SB00001")  # its three children go back to pending
    scan_parent(user=dispatcher, qr_id="SB00003")
    scan_child(user=dispatcher, parent_qr="SB00003", qr_id=child_code(0))  # one of them relinked
    bag_delete(user=admin_user, qr_id=child_code(100))
    scan_parent(user=dispatcher, qr_id="SB00004")
    scan_parent(user=dispatcher, qr_id="SB00005")
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00003")
    bill_remove_parent(user=biller, bill_id="BILL-1", parent_qr="SB00003")
    bill_create(user=biller, bill_id="BILL-2", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-2", parent_qr="SB00004")

    children = Bag.objects.filter(kind=BagKind.CHILD)
    parents = Bag.objects.filter(kind=BagKind.PARENT)
    expected = {
        "linked": {True: children.filter(parent_link__isnull=False), False: children.filter(parent_link__isnull=True)},
        "billed": {True: parents.filter(bill_link__isnull=False), False: parents.filter(bill_link__isnull=True)},
    }
    assert set(expected["linked"][False].values_list("qr_id", flat=True)) == {
        "LOOSE01", "LOOSE02", child_code(1), child_code(2)
    }
    assert set(expected["billed"][False].values_list("qr_id", flat=True)) == {"SB00003", "SB00005"}
    for user in (biller, dispatcher):
        client = api(user)
        visible = Bag.objects.filter(dispatch_area=user.dispatch_area) if user.dispatch_area_id else Bag.objects.all()
        for name, by_value in expected.items():
            for value, queryset in by_value.items():
                want = list(queryset.filter(pk__in=visible).order_by("-created_at").values_list("qr_id", flat=True))
                assert walk(client, {name: str(value).lower()}) == want, (user, name, value)
        # `linked` is about children and `billed` about parents, whatever else is asked.
        assert walk(client, {"kind": "parent", "linked": "false"}) == []
        assert walk(client, {"kind": "child", "billed": "false"}) == []
        assert walk(client, {"billed": "false", "status": "pending"}) == ["SB00005"]


def test_bag_representation_matches_the_declared_fields(dispatcher, biller, admin_user):
    """BagSerializer builds its dict directly for speed: it must equal DRF's field-by-field
    rendering of the same declared fields, for parents (on a bill or not, with no area or
    creator) and children (linked or pending)."""
    from rest_framework import serializers

    from bags.selectors import bags_visible_to
    from bags.serializers import BagDetailSerializer, BagSerializer
    from bags.services import bag_create

    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(dispatcher, "SB00002", 1, prefix="CX")
    bill_create(user=biller, bill_id="B-1", capacity=1, destination="Delhi", vehicle_number="RJ14 1")
    bill_add_parent(user=biller, bill_id="B-1", parent_qr="SB00001")
    bag_create(user=admin_user, qr_id="CH-PENDING", kind="child")
    bag_create(user=admin_user, qr_id="SB00003", kind="parent")
    Bag.objects.filter(qr_id="SB00003").update(created_by=None)
    bags = list(bags_visible_to(admin_user))
    assert len(bags) == 35
    for serializer in (BagSerializer(), BagDetailSerializer()):
        for bag in bags:
            assert serializer.to_representation(bag) == serializers.ModelSerializer.to_representation(serializer, bag)
