"""Every API endpoint × every kind of caller → the expected status.

The endpoint list is read from the URL configuration, so an endpoint added without an
entry in EXPECTED fails `test_every_endpoint_has_an_entry`."""

import pytest
from django.urls import get_resolver, reverse
from rest_framework.test import APIClient

from accounts.models import Role
from billing.services import bill_add_parent, bill_complete, bill_create
from tests.conftest import PASSWORD
from tests.helpers import fill_parent

ROLES = ["anonymous", "dispatcher", "other_area", "biller", "admin"]

# (url name, method) → (url kwargs, body, statuses for ROLES)
EXPECTED = {
    ("api-root", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("auth-token", "post"): ({}, {"username": "biller", "password": PASSWORD}, (201, 201, 201, 201, 201)),
    ("auth-token", "delete"): ({}, None, (401, 400, 400, 400, 400)),
    ("me", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("stats", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("schema", "get"): ({}, None, (200, 200, 200, 200, 200)),
    ("docs", "get"): ({}, None, (200, 200, 200, 200, 200)),
    ("area-list", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("bag-list", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("bag-list", "post"): ({}, {"qr_id": "SB00077", "kind": "parent"}, (401, 403, 403, 201, 201)),
    ("bag-detail", "get"): ({"qr_id": "SB00001"}, None, (401, 200, 404, 200, 200)),
    ("bag-detail", "delete"): ({"qr_id": "SB00001"}, None, (401, 403, 403, 403, 204)),
    ("scan-list", "get"): ({}, None, (401, 200, 200, 200, 200)),
    ("scan-parent", "post"): ({}, {"qr_id": "SB00001"}, (401, 200, 409, 200, 200)),
    ("scan-child", "post"): ({}, {"parent": "SB00001", "qr_id": "CH777777"}, (401, 201, 409, 201, 201)),
    # A batch is 200 for whoever may scan; each item's own status says how it went.
    ("scan-batch", "post"): ({}, {"items": [{"kind": "parent", "qr_id": "SB00001"}]}, (401, 200, 200, 200, 200)),
    ("scan-decode", "post"): ({}, None, (401, 400, 400, 400, 400)),  # no image: 400 for every signed-in role
    ("scan-undo", "post"): ({}, {"parent": "SB00001"}, (401, 200, 409, 409, 200)),
    ("bill-list", "get"): ({}, None, (401, 403, 403, 200, 200)),
    ("bill-list", "post"): ({}, {"bill_id": "BILL-9", "capacity": 1, "destination": "D", "vehicle_number": "V"},
                            (401, 403, 403, 201, 201)),
    ("bill-detail", "get"): ({"bill_id": "BILL-1"}, None, (401, 403, 403, 200, 200)),
    ("bill-detail", "patch"): ({"bill_id": "BILL-1"}, {"destination": "Agra"}, (401, 403, 403, 200, 200)),
    ("bill-detail", "delete"): ({"bill_id": "BILL-1"}, None, (401, 403, 403, 403, 204)),
    ("bill-parents", "post"): ({"bill_id": "BILL-1"}, {"qr_id": "SB00002"}, (401, 403, 403, 201, 201)),
    ("bill-remove-parent", "delete"): ({"bill_id": "BILL-1", "qr_id": "SB00001"}, None, (401, 403, 403, 204, 204)),
    ("bill-complete", "post"): ({"bill_id": "FULL-1"}, None, (401, 403, 403, 200, 200)),
    ("bill-reopen", "post"): ({"bill_id": "DONE-1"}, None, (401, 403, 403, 200, 200)),
    ("bill-summary", "get"): ({}, None, (401, 403, 403, 200, 200)),
    ("user-list", "get"): ({}, None, (401, 403, 403, 403, 200)),
    ("user-list", "post"): ({}, {"username": "new1", "password": "Long-enough-pw-1", "role": "biller"},
                            (401, 403, 403, 403, 201)),
    ("user-detail", "get"): ({"username": "biller"}, None, (401, 403, 403, 403, 200)),
    ("user-detail", "patch"): ({"username": "biller"}, {"email": "b@example.com"}, (401, 403, 403, 403, 200)),
    ("user-detail", "delete"): ({"username": "biller"}, None, (401, 403, 403, 403, 204)),
}


def api_endpoints() -> set[tuple[str, str]]:
    """(url name, method) of every endpoint under /api/v1/, from the URL configuration."""
    api_resolver = next(p for p in get_resolver().url_patterns if getattr(p, "namespace", None) == "api")

    def patterns(resolver):  # each app's api_urls is included under the api namespace
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                yield from patterns(pattern)
            else:
                yield pattern

    found = set()
    for pattern in patterns(api_resolver):
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        if actions:
            methods = set(actions)
        else:
            view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            methods = {m for m in view_class.http_method_names if hasattr(view_class, m)}
        found |= {(pattern.name, m) for m in methods - {"head", "options"}}
    return found


def test_every_endpoint_has_an_entry():
    assert api_endpoints() == set(EXPECTED)


@pytest.fixture
def world(make_user, dispatcher, other_dispatcher, biller, admin_user):
    fill_parent(dispatcher, "SB00001", 2)
    for code in ("SB00002", "SB00003", "SB00004"):
        fill_parent(dispatcher, code, 0)
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_create(user=biller, bill_id="FULL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="FULL-1", parent_qr="SB00003")
    bill_create(user=biller, bill_id="DONE-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="DONE-1", parent_qr="SB00004")
    bill_complete(user=biller, bill_id="DONE-1")
    return {"anonymous": None, "dispatcher": dispatcher, "other_area": other_dispatcher, "biller": biller,
            "admin": admin_user, "_extra_admin": make_user(Role.ADMIN, username="admin2")}


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED), ids=lambda e: f"{e[1].upper()} {e[0]}")
def test_permission_matrix(world, endpoint, role):
    name, method = endpoint
    kwargs, body, statuses = EXPECTED[endpoint]
    client = APIClient()
    if world[role] is not None:
        client.force_authenticate(world[role])
    url = reverse(f"api:{name}", kwargs=kwargs)
    response = getattr(client, method)(url, body, format="json") if body is not None else getattr(client, method)(url)
    expected = statuses[ROLES.index(role)]
    assert response.status_code == expected, (role, method, url, response.content[:300])
    if expected >= 400:
        assert set(response.json()) >= {"code", "detail"}
