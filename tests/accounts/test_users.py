from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import RequestFactory
from django.utils import timezone

from accounts.models import ApiToken, AuditLog, DispatchArea, Role, User
from accounts.services import token_authenticate, token_create, token_revoke, user_create, user_delete, user_update
from tests.helpers import refused

pytestmark = pytest.mark.django_db


def test_the_ten_areas_are_seeded_by_migration():
    assert set(DispatchArea.objects.values_list("code", flat=True)) >= {
        "lucknow", "indore", "jaipur", "hisar", "sri_ganganagar", "sangaria", "bathinda", "raipur", "ranchi", "akola",
    }


def test_create_user_roles(admin_user, lucknow):
    disp = user_create(actor=admin_user, username="op1", password="Long-enough-pw-1", role="dispatcher", dispatch_area="Lucknow")
    assert (disp.role, disp.dispatch_area, disp.is_staff, disp.is_superuser) == ("dispatcher", lucknow, False, False)
    adm = user_create(actor=admin_user, username="boss", password="Long-enough-pw-1", role="admin")
    assert adm.is_staff and adm.is_superuser
    biller = user_create(actor=admin_user, username="bill", password="Long-enough-pw-1", role="biller")
    assert biller.is_staff and not biller.is_superuser and biller.has_perm("billing.change_bill")
    assert biller.has_perm("bags.view_bag") and not biller.has_perm("billing.delete_bill")
    assert not biller.has_perm("accounts.view_user")
    back = user_update(actor=admin_user, target=biller, role="dispatcher", dispatch_area="lucknow")
    assert not back.is_staff and not back.groups.exists()
    assert AuditLog.objects.filter(action="user.create", entity_id="op1", actor=admin_user).exists()


def test_create_user_refusals(admin_user, biller):
    refused("invalid", user_create, actor=admin_user, username="op1", password="Long-enough-pw-1", role="dispatcher")
    refused("invalid", user_create, actor=admin_user, username="op1", password="Long-enough-pw-1", role="boss")
    refused("invalid", user_create, actor=admin_user, username="op1", password="123", role="biller")
    refused("invalid", user_create, actor=admin_user, username=" ", password="Long-enough-pw-1", role="biller")
    refused("invalid", user_create, actor=admin_user, username="op1", password="Long-enough-pw-1", role="biller", dispatch_area="mars")
    refused("user_exists", user_create, actor=admin_user, username="biller", password="Long-enough-pw-1", role="biller")
    refused("permission_denied", user_create, actor=biller, username="op2", password="Long-enough-pw-1", role="biller")


def test_createsuperuser_makes_an_admin(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "Very-secret-pw-2026")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com", verbosity=0)
    root = User.objects.get(username="root")
    assert root.role == Role.ADMIN and root.is_superuser and root.check_password("Very-secret-pw-2026")


def test_database_refuses_a_dispatcher_without_area_and_a_non_admin_superuser():
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="x", role=Role.DISPATCHER)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create(username="y", role=Role.BILLER, is_superuser=True)


def test_nobody_changes_their_own_role_checked_first(admin_user):
    # admin_user is also the last admin: own_role must win over last_admin.
    refused("own_role", user_update, actor=admin_user, target=admin_user, role="biller")
    # Keeping one's own role while editing other fields is fine.
    assert user_update(actor=admin_user, target=admin_user, role="admin", email="a@example.com").email == "a@example.com"


def test_last_admin_cannot_be_demoted_deactivated_or_deleted(admin_user, make_user):
    other = make_user(Role.ADMIN, username="admin2")
    user_update(actor=other, target=admin_user, is_active=False)  # fine: admin2 remains
    refused("last_admin", user_update, actor=None, target=other, role="biller")
    refused("last_admin", user_update, actor=None, target=other, is_active=False)
    refused("last_admin", user_delete, actor=None, target=other)
    user_update(actor=other, target=admin_user, is_active=True)
    user_update(actor=admin_user, target=other, role="biller")
    other.refresh_from_db()
    assert (other.role, other.is_superuser, other.is_staff) == ("biller", False, True)
    assert list(other.groups.values_list("name", flat=True)) == ["Billers"]


def test_role_change_is_audited_and_dispatchers_need_an_area(admin_user, biller, lucknow):
    refused("invalid", user_update, actor=admin_user, target=biller, role="dispatcher")
    user_update(actor=admin_user, target=biller, role="dispatcher", dispatch_area="lucknow")
    entry = AuditLog.objects.get(action="user.role_change")
    assert entry.before["role"] == "biller" and entry.after == entry.after | {"role": "dispatcher", "dispatch_area": "lucknow"}


def test_password_change_is_audited_without_the_password(admin_user, biller):
    user_update(actor=admin_user, target=biller, password="Another-long-pw-9")
    biller.refresh_from_db()
    assert biller.check_password("Another-long-pw-9")
    entry = AuditLog.objects.get(action="user.update")
    assert entry.after["password"] == "changed" and "Another" not in str(entry.after)


def test_only_admins_manage_users(biller, dispatcher):
    refused("permission_denied", user_update, actor=biller, target=dispatcher, email="x@example.com")
    refused("permission_denied", user_delete, actor=dispatcher, target=biller)


def test_delete_user_keeps_their_scans(admin_user, dispatcher):
    from scans.models import Scan
    from scans.services import scan_parent

    scan_parent(user=dispatcher, qr_id="SB00001")
    user_delete(actor=admin_user, target=dispatcher)
    assert Scan.objects.get().user is None
    assert AuditLog.objects.filter(action="user.delete", entity_id="disp_lucknow").exists()


def test_token_lifecycle(dispatcher):
    token, raw = token_create(user=dispatcher, name="scanner 1")
    assert raw.startswith("tt_") and len(raw) > 40
    assert raw not in str(list(ApiToken.objects.values()))  # only a hash is stored
    assert token.expires_at - token.created_at == timedelta(days=90)
    assert token_authenticate(raw).user == dispatcher
    assert token_authenticate(raw + "x") is None and token_authenticate("") is None
    with time_machine.travel(timezone.now() + timedelta(days=91)):
        assert token_authenticate(raw) is None
    token_revoke(actor=dispatcher, token=token)
    assert token_authenticate(raw) is None
    assert AuditLog.objects.filter(action__in=["token.create", "token.revoke"]).count() == 2


def test_token_of_a_deactivated_user_is_refused(admin_user, dispatcher):
    _, raw = token_create(user=dispatcher)
    user_update(actor=admin_user, target=dispatcher, is_active=False)
    assert token_authenticate(raw) is None


def test_login_failures_lock_out_after_five_and_are_audited(dispatcher):
    request = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.9")
    for _ in range(5):
        assert authenticate(request, username="disp_lucknow", password="wrong") is None
    # Even the right password is refused while locked out.
    assert authenticate(request, username="disp_lucknow", password="Scan-Bags-2026!") is None
    assert AuditLog.objects.filter(action="auth.login_failed", actor_username="disp_lucknow").count() >= 5
    assert AuditLog.objects.filter(action="auth.locked_out", actor_username="disp_lucknow").exists()
    # Another IP is a different (username, IP) pair.
    other = RequestFactory().post("/login/", REMOTE_ADDR="10.0.0.10")
    assert authenticate(other, username="disp_lucknow", password="Scan-Bags-2026!") == dispatcher


def test_successful_login_is_audited_with_ip_and_request_id(client, admin_user):
    response = client.post(
        "/admin/login/", {"username": "admin", "password": "Scan-Bags-2026!"}, REMOTE_ADDR="10.1.2.3"
    )
    assert response.status_code == 302
    entry = AuditLog.objects.get(action="auth.login", actor=admin_user)
    assert entry.ip == "10.1.2.3" and entry.request_id == response["X-Request-ID"]


def test_delete_user_with_idempotent_scans(admin_user, dispatcher):
    import uuid

    from rest_framework.test import APIClient

    from tracetrack.models import IdempotencyRecord

    scan_id = uuid.uuid4()
    client = APIClient()
    client.force_authenticate(dispatcher)
    assert client.post("/api/v1/scans/parent/", {"qr_id": "SB00001", "scan_id": str(scan_id)},
                       format="json").status_code == 201
    user_delete(actor=admin_user, target=dispatcher)
    assert IdempotencyRecord.objects.filter(pk=scan_id).exists()
