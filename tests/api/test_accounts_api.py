import pytest

from accounts.models import User
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


def test_user_crud(api, admin_user, lucknow):
    client = api(admin_user)
    created = client.post("/api/v1/users/", {"username": "op1", "password": "Long-enough-pw-1", "role": "dispatcher",
                                              "dispatch_area": "lucknow", "email": "op1@example.com"}, format="json")
    assert created.status_code == 201
    assert created.json() == {"username": "op1", "email": "op1@example.com", "role": "dispatcher",
                              "dispatch_area": "lucknow", "is_active": True}
    assert "password" not in created.json()
    assert client.get("/api/v1/users/op1/").json()["role"] == "dispatcher"
    changed = client.patch("/api/v1/users/op1/", {"role": "biller", "dispatch_area": None, "is_active": False}, format="json")
    assert changed.status_code == 200 and changed.json() | {"email": None} == {
        "username": "op1", "email": None, "role": "biller", "dispatch_area": None, "is_active": False}
    client.patch("/api/v1/users/op1/", {"password": "Another-long-pw-2"}, format="json")
    assert User.objects.get(username="op1").check_password("Another-long-pw-2")
    assert client.delete("/api/v1/users/op1/").status_code == 204
    assert client.get("/api/v1/users/op1/").status_code == 404


def test_user_refusals(api, admin_user, biller):
    client = api(admin_user)
    assert client.post("/api/v1/users/", {"username": "x", "role": "dispatcher", "password": "Long-enough-pw-1"}, format="json").status_code == 400
    assert client.post("/api/v1/users/", {"username": "x", "role": "king", "password": "Long-enough-pw-1"}, format="json").status_code == 400
    assert client.post("/api/v1/users/", {"username": "x", "role": "biller", "password": "1"}, format="json").status_code == 400
    assert client.post("/api/v1/users/", {"username": "biller", "role": "biller", "password": "Long-enough-pw-1"}, format="json").json()["code"] == "user_exists"
    own = client.patch("/api/v1/users/admin/", {"role": "biller"}, format="json")
    assert own.status_code == 409 and own.json()["code"] == "own_role"
    last = client.patch("/api/v1/users/admin/", {"is_active": False}, format="json")
    assert last.status_code == 409 and last.json()["code"] == "last_admin"
    assert client.delete("/api/v1/users/admin/").json()["code"] == "last_admin"
    assert client.patch("/api/v1/users/biller/", {"username": "renamed"}, format="json").status_code == 400
    assert client.put("/api/v1/users/biller/", {"role": "biller"}, format="json").status_code == 405


def test_users_are_listed_by_username(api, admin_user, biller, dispatcher):
    names = [u["username"] for u in api(admin_user).get("/api/v1/users/").json()["results"]]
    assert names == sorted(names) and {"admin", "biller", "disp_lucknow"} <= set(names)


def test_areas(api, dispatcher):
    body = api(dispatcher).get("/api/v1/areas/").json()
    codes = [a["code"] for a in body["results"]]
    assert codes == sorted(codes) and "lucknow" in codes and set(body) == {"next", "previous", "results"}


def test_stats_are_exact_and_scoped(api, dispatcher, other_dispatcher, biller):
    fill_parent(dispatcher, "SB00001", 30)
    fill_parent(other_dispatcher, "SB00002", 2, start=100)
    from bags.services import bag_create

    bag_create(user=biller, qr_id="LOOSE01", kind="child", dispatch_area="lucknow")
    mine = api(dispatcher).get("/api/v1/stats/").json()
    assert mine["bags"] == {"parents": 1, "children": 31, "completed_parents": 1, "unlinked_children": 1}
    assert mine["bills"] is None and mine["scans"] == {"today": 31, "last_hour": 31}
    everyone = api(biller).get("/api/v1/stats/").json()
    assert everyone["bags"]["parents"] == 2 and everyone["bills"] == {"new": 0, "in_progress": 0, "completed": 0}
    assert everyone["scans"]["today"] == 34 and everyone["generated_at"]
    fill_parent(dispatcher, "SB00003", 1, start=200)  # visible to the very next request
    assert api(dispatcher).get("/api/v1/stats/").json()["bags"]["parents"] == 2


def test_me_for_each_role(api, admin_user, biller):
    assert api(admin_user).get("/api/v1/me/").json()["role"] == "admin"
    assert api(biller).get("/api/v1/me/").json() == {"username": "biller", "role": "biller", "dispatch_area": None, "email": ""}
