"""Defects found by testing from outside (issue 12, 5–10): each answered with a 4xx or the
right body, never a 500 or another area's data."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditLog, User
from accounts.services import user_create
from bags.services import bag_delete
from scans.services import scan_child, scan_parent
from tests.conftest import PASSWORD
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


# --- 5. usernames over 100 characters ----------------------------------------------------


@pytest.mark.parametrize("length", [101, 150, 151, 5000])
def test_a_long_username_on_the_token_endpoint_is_401_or_400(length):
    response = APIClient().post("/api/v1/auth/token/", {"username": "u" * length, "password": "x"}, format="json")
    assert response.status_code == (401 if length <= 150 else 400), response.content
    assert response.json()["code"] == ("invalid_credentials" if length <= 150 else "invalid")


@pytest.mark.parametrize("length", [101, 150, 151, 5000])
def test_a_long_username_on_the_login_page_is_a_form_error(length):
    response = Client().post("/login/", {"username": "u" * length, "password": "x"})
    assert response.status_code == 200 and b"username" in response.content.lower()


def test_a_user_with_a_150_character_name_can_be_made_and_log_in(api, admin_user):
    name = "n" * 150
    made = api(admin_user).post("/api/v1/users/", {"username": name, "password": "Long-enough-pw-1", "role": "biller"},
                                format="json")
    assert made.status_code == 201
    assert AuditLog.objects.filter(action="user.create", entity_id=name).exists()
    token = APIClient().post("/api/v1/auth/token/", {"username": name, "password": "Long-enough-pw-1"}, format="json")
    assert token.status_code == 201
    too_long = api(admin_user).post("/api/v1/users/", {"username": "n" * 151, "password": "Long-enough-pw-1",
                                                       "role": "biller"}, format="json")
    assert too_long.status_code == 400 and "username" in too_long.json()["errors"]


# --- 6. an admin deleting themself -------------------------------------------------------


def test_an_admin_deleting_themself_is_204_and_audited(api, admin_user, make_user):
    make_user("admin", username="second_admin")
    response = api(admin_user).delete("/api/v1/users/admin/")
    assert response.status_code == 204
    assert not User.objects.filter(username="admin").exists()
    entry = AuditLog.objects.get(action="user.delete")
    assert (entry.actor_id, entry.actor_username, entry.entity_id) == (None, "admin", "admin")


# --- 7. usernames are validated ----------------------------------------------------------


@pytest.mark.parametrize("username", ["<svg/onload=alert(4)>", "a\x07b", "tab\there", "new\nline", "has space",
                                      "semi;colon", "quote'", "\u202eevil"])
def test_a_username_must_be_letters_digits_and_at_dot_plus_dash_underscore(api, admin_user, username):
    response = api(admin_user).post("/api/v1/users/", {"username": username, "password": "Long-enough-pw-1",
                                                       "role": "biller"}, format="json")
    assert response.status_code == 400 and "username" in response.json()["errors"]
    assert not User.objects.exclude(username="admin").exists()


def test_the_service_refuses_a_bad_username_on_every_path(admin_user):
    from tests.helpers import refused

    refused("invalid", user_create, actor=admin_user, username="<b>x</b>", password=PASSWORD, role="biller")
    refused("invalid", user_create, actor=None, username="x" * 151, password=PASSWORD, role="biller")
    assert user_create(actor=None, username=" Ünïcode.name+1@x ", password=PASSWORD, role="biller").username == \
        "Ünïcode.name+1@x"


# --- 8. already_linked does not reveal another area's parent -----------------------------


def test_already_linked_does_not_name_another_areas_parent(api, dispatcher, other_dispatcher):
    scan_parent(user=other_dispatcher, qr_id="SB00777")
    scan_child(user=other_dispatcher, parent_qr="SB00777", qr_id="CH-SECRET")
    scan_parent(user=dispatcher, qr_id="SB00001")
    response = api(dispatcher).post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CH-SECRET"}, format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "already_linked" and body["current_parent"] is None
    assert "SB00777" not in response.content.decode() and "another parent" in body["detail"]
    assert api(dispatcher).get("/api/v1/bags/SB00777/").status_code == 404


def test_already_linked_names_the_parent_in_the_same_area_and_to_staff(api, dispatcher, biller):
    fill_parent(dispatcher, "SB00002", 1)
    scan_parent(user=dispatcher, qr_id="SB00001")
    for user in (dispatcher, biller):
        response = api(user).post("/api/v1/scans/child/", {"parent": "SB00001", "qr_id": "CH000000"}, format="json")
        assert response.json()["current_parent"] == "SB00002"


# --- 9. scans of a deleted bag -----------------------------------------------------------


def test_the_scans_of_a_deleted_bag_are_still_found_by_its_code(api, dispatcher, admin_user):
    fill_parent(dispatcher, "SB00001", 2)
    bag_delete(user=admin_user, qr_id="CH000001")
    by_bag = api(admin_user).get("/api/v1/scans/", {"bag": "ch000001"}).json()["results"]
    assert [(scan["qr_id"], scan["parent"]) for scan in by_bag] == [("CH000001", "SB00001")]
    bag_delete(user=admin_user, qr_id="SB00001")
    by_parent = api(admin_user).get("/api/v1/scans/", {"parent": "SB00001"}).json()["results"]
    assert sorted(scan["qr_id"] for scan in by_parent) == ["CH000000", "CH000001"]
    parent_scans = api(admin_user).get("/api/v1/scans/", {"bag": "SB00001"}).json()["results"]
    assert [scan["kind"] for scan in parent_scans] == ["parent"]
    # Still scoped to the dispatcher's area.
    assert api(dispatcher).get("/api/v1/scans/", {"parent": "SB00001"}).json()["results"]


def test_a_dispatcher_finds_no_other_areas_scans_by_code(api, dispatcher, other_dispatcher):
    fill_parent(other_dispatcher, "SB00009", 1)
    assert api(dispatcher).get("/api/v1/scans/", {"parent": "SB00009"}).json()["results"] == []
    assert api(dispatcher).get("/api/v1/scans/", {"bag": "SB00009"}).json()["results"] == []


# --- 10. schema truth --------------------------------------------------------------------


def test_null_areas_and_creators_are_documented_as_nullable(api, admin_user, biller, dispatcher):
    import yaml

    schema = yaml.safe_load(APIClient().get("/api/v1/schema/").content)["components"]["schemas"]
    for component, field in [("Me", "dispatch_area"), ("User", "dispatch_area"), ("Bag", "created_by"),
                             ("Bag", "dispatch_area"), ("Bill", "created_by"), ("BillDetail", "created_by")]:
        assert schema[component]["properties"][field].get("nullable") is True, (component, field)
    assert api(admin_user).get("/api/v1/me/").json()["dispatch_area"] is None


@pytest.mark.parametrize("path,params", [
    ("/api/v1/scans/", {"until": ""}),
    ("/api/v1/scans/", {"since": " "}),
    ("/api/v1/scans/", {"kind": ""}),
    ("/api/v1/scans/", {"page_size": "null"}),
    ("/api/v1/bags/", {"created_after": ""}),
    ("/api/v1/bags/", {"linked": ""}),
    ("/api/v1/bags/", {"kind": ""}),
    ("/api/v1/bills/", {"status": ""}),
    ("/api/v1/bills/", {"page_size": ""}),
])
def test_an_empty_value_of_a_typed_filter_is_400(api, admin_user, path, params):
    response = api(admin_user).get(path, params)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert set(params) <= set(response.json()["errors"])


def test_an_empty_free_text_filter_is_no_filter(api, admin_user, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    assert len(api(admin_user).get("/api/v1/bags/", {"search": ""}).json()["results"]) == 2
    assert len(api(admin_user).get("/api/v1/scans/", {"user": ""}).json()["results"]) == 2


@pytest.mark.parametrize("length", [151, 5000])
def test_a_long_username_on_the_admin_login_is_a_form_error(length):
    response = Client().post("/admin/login/", {"username": "u" * length, "password": "x"})
    assert response.status_code == 200 and b"errornote" in response.content
