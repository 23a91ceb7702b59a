import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditLog, User
from bags.models import Bag, Link
from billing.models import Bill
from billing.services import bill_add_parent, bill_complete, bill_create
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def changelist_url(model):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.mark.parametrize("model", list(admin.site._registry), ids=lambda m: m.__name__)
def test_every_model_has_a_working_changelist_and_search(admin_client, dispatcher, model):
    fill_parent(dispatcher, "SB00001", 2)
    assert admin_client.get(changelist_url(model)).status_code == 200
    assert admin_client.get(changelist_url(model), {"q": "SB0"}).status_code == 200


def test_bag_changelist_query_count_does_not_grow_with_rows(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00001", 5)
    admin_client.get(changelist_url(Bag))  # warm the session and the per-process caches
    with CaptureQueriesContext(connection) as small:
        admin_client.get(changelist_url(Bag))
    fill_parent(dispatcher, "SB00002", 30, start=100)
    with CaptureQueriesContext(connection) as large:
        admin_client.get(changelist_url(Bag))
    assert len(small) == len(large)


def test_dispatchers_have_no_admin(client, dispatcher):
    client.force_login(dispatcher)
    assert client.get(changelist_url(Bag)).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_billers_manage_bills_and_read_bags_and_scans(client, biller, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    client.force_login(biller)
    from billing.models import BillBag
    from scans.models import Scan

    for model in (Bill, Bag, Scan, BillBag):
        assert client.get(changelist_url(model)).status_code == 200, model
    assert client.get(reverse("admin:billing_bill_add")).status_code == 200
    for model in (User, AuditLog):
        assert client.get(changelist_url(model)).status_code == 403, model
    bag = Bag.objects.get(qr_id="SB00001")
    assert client.post(reverse("admin:bags_bag_delete", args=[bag.pk]), {"post": "yes"}).status_code == 403
    bill = bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="D", vehicle_number="V")
    assert client.post(reverse("admin:billing_bill_delete", args=[bill.pk]), {"post": "yes"}).status_code == 403


def test_complete_and_reopen_actions_go_through_the_services(client, admin_user, biller, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    full = bill_create(user=biller, bill_id="FULL-1", capacity=1, destination="D", vehicle_number="V")
    bill_add_parent(user=biller, bill_id="FULL-1", parent_qr="SB00001")
    empty = bill_create(user=biller, bill_id="EMPTY-1", capacity=2, destination="D", vehicle_number="V")
    client.force_login(biller)
    url = changelist_url(Bill)
    response = client.post(url, {"action": "complete_bills", "_selected_action": [full.pk, empty.pk]}, follow=True)
    assert Bill.objects.get(pk=full.pk).status == "completed" and Bill.objects.get(pk=empty.pk).status == "new"
    assert b"EMPTY-1: Bill EMPTY-1 has 0 of 2 parents." in response.content
    assert AuditLog.objects.filter(action="bill.complete", entity_id="FULL-1", actor=biller).exists()
    client.post(url, {"action": "reopen_bills", "_selected_action": [full.pk]})
    assert Bill.objects.get(pk=full.pk).status == "in_progress"


def test_admin_password_reset_goes_through_the_service(client, admin_user, biller):
    client.force_login(admin_user)
    url = f"/admin/accounts/user/{biller.pk}/password/"
    response = client.post(url, {"password1": "Brand-new-pw-77", "password2": "Brand-new-pw-77", "usable_password": "true"})
    assert response.status_code == 302, response.content[:2000]
    biller.refresh_from_db()
    assert biller.check_password("Brand-new-pw-77")
    entry = AuditLog.objects.get(action="user.update", entity_id="biller")
    assert entry.actor == admin_user and entry.after["password"] == "changed"


def test_searches_use_codes(client, admin_user, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    client.force_login(admin_user)
    from scans.models import Scan

    assert client.get(changelist_url(Bag), {"q": "sb000"}).context["cl"].result_count == 1
    assert client.get(changelist_url(Bag), {"q": "ch00000"}).context["cl"].result_count == 2
    assert client.get(changelist_url(Scan), {"q": "sb00001"}).context["cl"].result_count == 3
    assert client.get(changelist_url(Scan), {"q": "nothing"}).context["cl"].result_count == 0
    scan = Scan.objects.first()
    assert client.get(changelist_url(Scan), {"q": str(scan.scan_id)}).context["cl"].result_count == 1
    assert client.get(changelist_url(Link), {"q": "CH000001"}).context["cl"].result_count == 1


def test_admin_creates_a_bill_through_the_service(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:billing_bill_add"),
        {"bill_id": " bill-9 ", "capacity": 3, "destination": "Delhi", "vehicle_number": "dl1", "description": "",
         "bill_bags-TOTAL_FORMS": 0, "bill_bags-INITIAL_FORMS": 0},
    )
    assert response.status_code == 302, response.content[:2000]
    bill = Bill.objects.get()
    assert (bill.bill_id, bill.vehicle_number, bill.created_by) == ("BILL-9", "DL1", admin_user)
    assert AuditLog.objects.filter(action="bill.create", entity_id="BILL-9").exists()


def test_admin_edit_of_a_completed_bill_is_refused_on_the_form(admin_client, biller, dispatcher):
    fill_parent(dispatcher, "SB00001", 1)
    bill = bill_create(user=biller, bill_id="BILL-1", capacity=1, destination="Delhi", vehicle_number="DL1")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_complete(user=biller, bill_id="BILL-1")
    response = admin_client.post(
        reverse("admin:billing_bill_change", args=[bill.pk]),
        {"capacity": 1, "destination": "Agra", "vehicle_number": "DL1", "description": "",
         "bill_bags-TOTAL_FORMS": 1, "bill_bags-INITIAL_FORMS": 1, "bill_bags-0-id": bill.bill_bags.get().pk,
         "bill_bags-0-bill": bill.pk},
    )
    assert response.status_code == 200 and b"completed" in response.content
    assert Bill.objects.get().destination == "Delhi"


def test_admin_cannot_change_their_own_role(admin_client, admin_user):
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[admin_user.pk]),
        {"username": "admin", "email": "", "first_name": "", "last_name": "", "role": "biller", "is_active": "on"},
    )
    assert response.status_code == 200 and b"cannot change your own role" in response.content
    admin_user.refresh_from_db()
    assert admin_user.role == "admin"


def test_admin_adds_a_dispatcher(admin_client, lucknow):
    response = admin_client.post(
        reverse("admin:accounts_user_add"),
        {"username": "op9", "role": "dispatcher", "dispatch_area": lucknow.pk,
         "password1": "Long-enough-pw-1", "password2": "Long-enough-pw-1"},
    )
    assert response.status_code == 302, response.content[:3000]
    assert User.objects.get(username="op9").dispatch_area == lucknow


def test_admin_deletes_a_child_through_the_service(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00001", 3)
    child = Bag.objects.get(qr_id="CH000001")
    response = admin_client.post(reverse("admin:bags_bag_delete", args=[child.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert Bag.objects.get(qr_id="SB00001").child_count == 2
    assert AuditLog.objects.filter(action="bag.delete", entity_id="CH000001").exists()


def test_areas_are_added_and_renamed_through_the_service(admin_client, admin_user):
    from accounts.models import AuditLog, DispatchArea

    response = admin_client.post(reverse("admin:accounts_dispatcharea_add"), {"code": "Kota", "name": "Kota"})
    assert response.status_code == 302
    area = DispatchArea.objects.get(code="kota")
    assert AuditLog.objects.filter(action="area.create", entity_id="kota", actor=admin_user).exists()
    response = admin_client.post(reverse("admin:accounts_dispatcharea_change", args=[area.pk]), {"name": "Kota Junction"})
    assert response.status_code == 302
    area.refresh_from_db()
    assert (area.code, area.name) == ("kota", "Kota Junction")
    assert AuditLog.objects.filter(action="area.rename", entity_id="kota").exists()
    bad = admin_client.post(reverse("admin:accounts_dispatcharea_add"), {"code": "x y", "name": ""})
    assert bad.status_code == 200 and not DispatchArea.objects.filter(code="x y").exists()


def test_tokens_are_revoked_from_the_admin_through_the_service(admin_client, admin_user, dispatcher):
    from accounts.models import ApiToken, AuditLog
    from accounts.services import token_create

    token, _ = token_create(user=dispatcher, name="scanner")
    changelist = reverse("admin:accounts_apitoken_changelist")
    response = admin_client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditLog.objects.filter(action="token.revoke", entity_id=str(token.pk)).exists()
    assert admin_client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).status_code == 200
    assert not ApiToken.objects.get(pk=token.pk).name == ""
