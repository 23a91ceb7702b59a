import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from bags.models import Bag
from tests.conftest import PASSWORD
from tests.helpers import fill_parent
from tracetrack.admin_services import EstimatedCountPaginator

pytestmark = pytest.mark.django_db


def login(client, username, token=""):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": PASSWORD, "otp_token": token})


def test_admin_without_a_device_logs_in_with_a_password(client, admin_user):
    assert login(client, "admin").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_admin_with_a_totp_device_needs_the_code(client, admin_user):
    device = TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    refused = login(client, "admin")
    assert refused.status_code == 200 and client.get("/admin/").status_code == 302
    code = str(totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=0)).zfill(device.digits)
    assert login(client, "admin", code).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused(client, admin_user):
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    assert login(client, "admin", "000000").status_code == 200
    assert client.get("/admin/").status_code == 302


def test_a_session_without_the_second_factor_does_not_open_the_admin(client, admin_user):
    TOTPDevice.objects.create(user=admin_user, name="phone", confirmed=True)
    client.force_login(admin_user)  # password only, never verified
    assert client.get("/admin/").status_code == 302


@pytest.mark.postgres
def test_estimated_count_uses_statistics_not_count(dispatcher):
    fill_parent(dispatcher, "SB00001", 30)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bags_bag")
    paginator = EstimatedCountPaginator(Bag.objects.order_by("pk"), 50)
    paginator.exact_below = 0
    with CaptureQueriesContext(connection) as ctx:
        estimate = paginator.count
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    assert 20 <= estimate <= 40
    filtered = EstimatedCountPaginator(Bag.objects.filter(kind="child").order_by("pk"), 50)
    filtered.exact_below = 0
    assert 10 <= filtered.count <= 40
    assert EstimatedCountPaginator(Bag.objects.filter(kind="child").order_by("pk"), 50).count == 30  # small: exact
