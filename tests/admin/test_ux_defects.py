"""Issue 18's admin defects (each failed before its fix)."""

import pytest

from accounts.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_dispatcher_without_an_area_is_an_error_on_the_area_field_and_keeps_the_passwords(admin_client, lucknow):
    """Defect 4: `Constraint "user_dispatcher_has_area" is violated.` and the passwords cleared."""
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "newdisp", "role": "dispatcher", "dispatch_area": "", "password1": "Long-enough-pw-77",
        "password2": "Long-enough-pw-77", "usable_password": "true"})
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors["dispatch_area"] == ["A dispatcher needs a dispatch area."]
    page = response.content.decode()
    assert "is violated" not in page
    assert 'value="Long-enough-pw-77"' in page  # both password fields kept
    assert not User.objects.filter(username="newdisp").exists()
    # With the area, the same form makes the user.
    response = admin_client.post("/admin/accounts/user/add/", {
        "username": "newdisp", "role": "dispatcher", "dispatch_area": lucknow.pk, "password1": "Long-enough-pw-77",
        "password2": "Long-enough-pw-77", "usable_password": "true"})
    assert response.status_code == 302, response.content.decode()[:3000]
    assert User.objects.get(username="newdisp").dispatch_area == lucknow


def test_admin_lists_say_undone_parent_and_seconds(admin_client, dispatcher):
    """Defect 8: no "undone" column in scans, no parent column in bags, times to the minute."""
    from scans.services import undo_last_scan
    from tests.helpers import fill_parent

    fill_parent(dispatcher, "SB00070", 2, prefix="ADM")
    undo_last_scan(user=dispatcher, parent_qr="SB00070")
    scans = admin_client.get("/admin/scans/scan/").content.decode()
    assert "column-undone" in scans and 'alt="True"' in scans
    bags = admin_client.get("/admin/bags/bag/").content.decode()
    assert "column-parent" in bags
    child_row = next(row for row in bags.split("<tr") if "ADM000000" in row)
    assert "SB00070" in child_row
    import re
    assert re.search(r"\d{2}:\d{2}:\d{2}", bags)  # to the second


def test_a_parents_inline_rows_name_the_bags_not_their_ids(admin_client, dispatcher):
    """Defect 8: inline rows showed raw ids ("256 → 257")."""
    from bags.models import Bag
    from tests.helpers import fill_parent

    parent = fill_parent(dispatcher, "SB00071", 2, prefix="INL")
    page = admin_client.get(f"/admin/bags/bag/{parent.pk}/change/").content.decode()
    assert "SB00071 → INL000000" in page
    child = Bag.objects.get(qr_id="INL000000")
    assert f"{parent.pk} → {child.pk}" not in page


def test_a_completed_bill_shows_nothing_editable(admin_client, biller, dispatcher):
    """Defect 8: a completed bill's fields looked editable."""
    from billing.services import bill_add_parent, bill_complete, bill_create
    from tests.helpers import fill_parent

    fill_parent(dispatcher, "SB00072", 1)
    bill = bill_create(user=biller, bill_id="DONE-9", capacity=1, destination="Agra", vehicle_number="UP 9")
    bill_add_parent(user=biller, bill_id="DONE-9", parent_qr="SB00072")
    bill_complete(user=biller, bill_id="DONE-9")
    page = admin_client.get(f"/admin/billing/bill/{bill.pk}/change/").content.decode()
    for field in ("capacity", "destination", "vehicle_number", "description"):
        assert f'name="{field}"' not in page, field


def test_the_import_report_marks_good_rows_in_a_dark_colour():
    """Defect 8: "Good rows" pale on white."""
    from pathlib import Path

    template = (Path(__file__).resolve().parents[2] / "templates/admin/tracetrack/import.html").read_text()
    assert ".import-ok { color: #1b5e20;" in template


def offered(admin_client, url: str, part: str) -> set[str]:
    """The `part` (year, month, day) of each choice the date hierarchy offers on `url`."""
    import re

    page = admin_client.get(url).content.decode()
    hierarchy = page.split('<nav class="toplinks">', 1)[1].split("</nav>", 1)[0]
    choices = hierarchy.split('class="date-back"', 1)[-1]  # not the link back up
    return set(re.findall(rf"__{part}=(\d+)", choices))


def test_the_scan_date_hierarchy_offers_only_periods_with_scans(admin_client, dispatcher):
    """Defect 8: it offered this year ± 3 and every month and day, with no scans in most."""
    from datetime import UTC, datetime

    import time_machine

    from tests.helpers import fill_parent

    with time_machine.travel(datetime(2019, 5, 10, 6, 0, tzinfo=UTC), tick=False):
        fill_parent(dispatcher, "SB00074", 1)
    assert offered(admin_client, "/admin/scans/scan/", "year") == {"2019"}
    assert offered(admin_client, "/admin/scans/scan/?timestamp__year=2019", "month") == {"5"}
    assert offered(admin_client, "/admin/scans/scan/?timestamp__month=5&timestamp__year=2019", "day") == {"10"}
    # Years between the first and the last are offered only when they hold scans.
    with time_machine.travel(datetime(2022, 1, 3, 6, 0, tzinfo=UTC), tick=False):
        fill_parent(dispatcher, "SB00075", 1, start=10)
    assert offered(admin_client, "/admin/scans/scan/", "year") == {"2019", "2022"}
    with time_machine.travel(datetime(2021, 7, 3, 6, 0, tzinfo=UTC), tick=False):
        fill_parent(dispatcher, "SB00076", 1, start=20)
    assert offered(admin_client, "/admin/scans/scan/", "year") == {"2019", "2021", "2022"}


def test_the_bill_date_hierarchy_offers_only_periods_with_bills_in_local_time(admin_client, biller):
    """Defect 8, for bills. 20:00 UTC on 31 December is already the next year in
    Asia/Kolkata, where the admin's year and month lookups are."""
    from datetime import UTC, datetime

    import time_machine

    from billing.services import bill_create

    with time_machine.travel(datetime(2023, 12, 31, 20, 0, tzinfo=UTC), tick=False):
        bill_create(user=biller, bill_id="OLD-1", capacity=1, destination="Agra", vehicle_number="UP 9")
    assert offered(admin_client, "/admin/billing/bill/", "year") == {"2024"}
    assert offered(admin_client, "/admin/billing/bill/?created_at__year=2024", "month") == {"1"}
    page = admin_client.get("/admin/billing/bill/?created_at__year=2024&created_at__month=1")
    assert [bill.bill_id for bill in page.context["cl"].result_list] == ["OLD-1"]


def test_the_audit_log_date_hierarchy_offers_only_periods_with_entries(admin_client, biller):
    """Defect 8, for the audit log (the biggest table after scans)."""
    from datetime import UTC, datetime

    import time_machine

    from accounts.models import AuditLog
    from billing.services import bill_create

    AuditLog.objects.all().delete()
    with time_machine.travel(datetime(2020, 3, 4, 6, 0, tzinfo=UTC), tick=False):
        bill_create(user=biller, bill_id="AUD-1", capacity=1, destination="Agra", vehicle_number="UP 9")
    assert offered(admin_client, "/admin/accounts/auditlog/", "year") == {"2020"}
    assert offered(admin_client, "/admin/accounts/auditlog/?timestamp__year=2020", "month") == {"3"}
    assert offered(admin_client, "/admin/accounts/auditlog/?timestamp__month=3&timestamp__year=2020", "day") == {"4"}
