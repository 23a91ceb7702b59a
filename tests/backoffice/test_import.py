"""Importing bags and bills in the admin: dry run, then an all-or-nothing commit."""

import time

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AuditLog
from backoffice import importing
from backoffice.importing import ImportFileError, import_bags
from bags.models import Bag, BagStatus, Link
from bags.services import bag_create
from billing.models import Bill
from billing.services import bill_add_parent, bill_create
from scans.models import Scan
from tests.backoffice.conftest import (
    BAG_IMPORT_URL,
    BILL_IMPORT_URL,
    bag_rows,
    commit,
    csv_bytes,
    upload,
    xlsx_bytes,
)
from tests.helpers import fill_parent, refused

pytestmark = pytest.mark.django_db


def problems_by_row(response) -> dict[str, list[str]]:
    report = response.context["report"]
    return {problem.where: [code for code, _ in problem.reasons] for problem in report.problems}


def stored_uploads(settings) -> list:
    folder = settings.VAR_DIR / "imports"
    return list(folder.iterdir()) if folder.exists() else []


# --- Good files -------------------------------------------------------------------------


def test_good_csv_dry_run_writes_nothing_then_commit_imports_everything(admin_client, admin_user, settings, lucknow):
    rows = bag_rows(2, 3)
    rows[0].append("dispatch_area")
    for row in rows[1:]:
        row.append("lucknow")
    rows.append(["LOOSE-0001", "child", "", "lucknow"])  # a child on no parent

    response = upload(admin_client, BAG_IMPORT_URL, "bags.csv", csv_bytes(rows))
    assert response.status_code == 200
    report = response.context["report"]
    assert (report.rows, report.good_rows, report.problems, report.committed) == (9, 9, [], False)
    assert b"Import 9 rows" in response.content
    assert not Bag.objects.exists() and not AuditLog.objects.filter(action="import.bags").exists()
    assert len(stored_uploads(settings)) == 1

    response = commit(admin_client, BAG_IMPORT_URL, response)
    assert response.status_code == 302 and response["Location"] == reverse("admin:bags_bag_changelist")
    assert Bag.objects.count() == 9
    for parent in Bag.objects.filter(kind="parent"):
        assert (parent.child_count, parent.status, parent.dispatch_area) == (3, BagStatus.IN_PROGRESS, lucknow)
        assert parent.created_by == admin_user
    assert Link.objects.count() == 6
    assert Bag.objects.get(qr_id="CH00001000001").parent_link.parent.qr_id == "SB00001"
    assert Bag.objects.get(qr_id="LOOSE-0001").status == BagStatus.PENDING
    # Links are made by scan_child, so the scan log shows them, by the importing admin.
    assert Scan.objects.filter(kind="child", user=admin_user).count() == 6
    entry = AuditLog.objects.get(action="import.bags")
    assert (entry.actor, entry.entity_type, entry.entity_id, entry.after["rows"]) == (
        admin_user, "import", "bags.csv", 9
    )
    assert stored_uploads(settings) == []
    assert admin_client.session["tracetrack_imports"] == {}


def test_good_xlsx_import(admin_client):
    rows = bag_rows(1, 30)
    response = upload(admin_client, BAG_IMPORT_URL, "bags.xlsx", xlsx_bytes(rows))
    assert response.context["report"].good_rows == 31, problems_by_row(response)
    commit(admin_client, BAG_IMPORT_URL, response)
    parent = Bag.objects.get(qr_id="SB00001")
    assert (parent.child_count, parent.status) == (30, BagStatus.COMPLETED)
    assert AuditLog.objects.filter(action="import.bags", entity_id="bags.xlsx").count() == 1


def test_xlsx_numbers_and_semicolon_csv_are_read(admin_user, tmp_path):
    # Spreadsheets keep a digit-only code as a number; European Excel saves CSV with ";".
    path = tmp_path / "bags.xlsx"
    path.write_bytes(xlsx_bytes([["QR_ID ", "Kind"], [12345678, "CHILD"], [None, None], ["sb00001", "parent"]]))
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert report.committed, report.problems
    assert set(Bag.objects.values_list("qr_id", flat=True)) == {"12345678", "SB00001"}

    path = tmp_path / "more.csv"
    path.write_bytes(b"\xef\xbb\xbfqr_id;kind;parent_qr_id\r\nSB00002;parent;\r\nCH-9999;child;SB00002\r\n")
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert report.committed, report.problems
    assert Bag.objects.get(qr_id="SB00002").child_count == 1


def test_an_existing_pending_child_is_scanned_into_its_parent(admin_user, tmp_path):
    bag_create(user=admin_user, qr_id="CH-0001", kind="child")
    path = tmp_path / "link.csv"
    path.write_bytes(csv_bytes([["qr_id", "kind", "parent_qr_id"], ["SB00001", "parent", ""], ["CH-0001", "child", "SB00001"]]))
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert report.committed, report.problems
    assert Bag.objects.get(qr_id="CH-0001").parent_link.parent.qr_id == "SB00001"


# --- Bad rows ---------------------------------------------------------------------------


def test_dry_run_lists_every_bad_row_with_its_reason_and_writes_nothing(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00900", 1, prefix="OLD")  # OLD000000 is in SB00900
    rows = [
        ["qr_id", "kind", "parent_qr_id", "dispatch_area"],
        ["SB00001", "parent", "", ""],  # 2 good
        ["SB1", "parent", "", ""],  # 3 format
        ["CH-0001", "box", "", ""],  # 4 kind
        ["SB00002", "parent", "SB00001", ""],  # 5 a parent in a parent
        ["CH-0002", "child", "SB00777", ""],  # 6 unknown parent
        ["CH-0003", "child", "SB1", ""],  # 7 parent code format
        ["SB00003", "parent", "", "atlantis"],  # 8 unknown area
        ["OLD000000", "child", "SB00001", ""],  # 9 already in another parent
        ["SB00900", "child", "SB00001", ""],  # 10 a parent code as a child
        ["CH-0004", "child", "SB00001", ""],  # 11 good
    ]
    response = upload(admin_client, BAG_IMPORT_URL, "bad.csv", csv_bytes(rows))
    assert response.status_code == 200
    assert problems_by_row(response) == {
        "row 3": ["invalid"],
        "row 4": ["invalid"],
        "row 5": ["invalid"],
        "row 6": ["not_found"],
        "row 7": ["invalid"],
        "row 8": ["invalid"],
        "row 9": ["already_linked"],
        "row 10": ["invalid"],
    }
    report = response.context["report"]
    assert (report.rows, report.good_rows) == (10, 2)
    content = response.content.decode()
    for text in ("row 3", "is not a parent bag code", "Kind must be", "No parent bag SB00777", "Unknown dispatch area",
                 "already in parent SB00900", "Nothing was written"):
        assert text in content
    assert "Import 10 rows" not in content  # no commit button
    assert set(Bag.objects.values_list("qr_id", flat=True)) == {"SB00900", "OLD000000"}


def test_duplicates_within_the_file_and_against_the_database(admin_client, admin_user):
    bag_create(user=admin_user, qr_id="SB00050", kind="parent")
    bag_create(user=admin_user, qr_id="CH-0050", kind="child")
    rows = [
        ["qr_id", "kind", "parent_qr_id"],
        ["SB00001", "parent", ""],
        ["ch-0001", "child", "SB00001"],
        [" CH-0001 ", "child", "SB00001"],  # same code once normalised
        ["SB00001", "parent", ""],
        ["SB00050", "parent", ""],  # stored already
        ["CH-0050", "child", ""],  # stored already
    ]
    response = upload(admin_client, BAG_IMPORT_URL, "dup.csv", csv_bytes(rows))
    assert problems_by_row(response) == {
        "row 4": ["duplicate"], "row 5": ["duplicate"], "row 6": ["bag_exists"], "row 7": ["bag_exists"]
    }
    content = response.content.decode()
    assert "CH-0001 is also on row 3 of this file" in content
    assert "Bag SB00050 already exists" in content
    assert Bag.objects.count() == 2


def test_a_parent_cannot_get_more_than_30_children(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00002", 29)
    rows = bag_rows(1, 31)  # SB00001 and 31 children
    rows += [["NEW-0001", "child", "SB00002"], ["NEW-0002", "child", "SB00002"]]
    response = upload(admin_client, BAG_IMPORT_URL, "full.csv", csv_bytes(rows))
    # The 31st child of SB00001 (row 33) and the 2nd new child of SB00002 (row 35).
    assert problems_by_row(response) == {"row 33": ["capacity_reached"], "row 35": ["capacity_reached"]}
    assert "Parent SB00001 is full (30 children)" in response.content.decode()
    assert not Bag.objects.filter(qr_id="SB00001").exists()
    assert Bag.objects.get(qr_id="SB00002").child_count == 29


def test_children_of_a_refused_parent_say_so(admin_user, tmp_path):
    path = tmp_path / "bags.csv"
    path.write_bytes(csv_bytes([["qr_id", "kind", "parent_qr_id"], ["SB00001", "parent", ""], ["SB00001", "parent", ""],
                                ["SB0000X", "parent", ""], ["CH-0002", "child", "SB0000X"]]))
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=False)
    reasons = {problem.where: problem.reasons for problem in report.problems}
    assert reasons["row 3"][0][0] == "duplicate"
    assert reasons["row 5"] == [("invalid", reasons["row 5"][0][1])]  # SB0000X is no parent code
    assert "is not a parent bag code" in reasons["row 5"][0][1]

    path.write_bytes(csv_bytes([["qr_id", "kind", "parent_qr_id", "dispatch_area"], ["SB00001", "parent", "", "nowhere"],
                                ["CH-0002", "child", "SB00001", ""]]))
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=False)
    reasons = {problem.where: problem.reasons for problem in report.problems}
    assert reasons["row 3"] == [("parent_refused", "Its parent SB00001 (row 2) is refused.")]


def test_files_that_cannot_be_read(admin_client, settings):
    cases = [
        ("bags.txt", b"qr_id,kind\n", "File extension"),
        ("bags.csv", b"code,type\nSB00001,parent\n", "missing column(s) qr_id, kind"),
        ("bags.csv", "qr_id,kind\nSB00001,parent\nCAFÉ-1,child\n".encode("latin-1"), "not UTF-8"),
        ("bags.xlsx", b"not a zip", "not a readable .xlsx"),
        ("bags.csv", b"", "empty"),
    ]
    for name, content, message in cases:
        response = upload(admin_client, BAG_IMPORT_URL, name, content)
        assert response.status_code == 200
        assert message in response.content.decode(), name
        assert "report" not in response.context or response.context["report"] is None
    assert stored_uploads(settings) == []


# --- All or nothing ---------------------------------------------------------------------


def test_a_refusal_at_commit_time_rolls_everything_back(admin_client, admin_user, settings):
    response = upload(admin_client, BAG_IMPORT_URL, "bags.csv", csv_bytes(bag_rows(3, 5)))
    assert response.context["report"].good_rows == 18
    # Someone registers one of the file's parents between the dry run and the commit.
    bag_create(user=admin_user, qr_id="SB00003", kind="parent")

    response = commit(admin_client, BAG_IMPORT_URL, response)
    assert response.status_code == 200
    assert problems_by_row(response) == {"row 14": ["bag_exists"]}
    assert response.context["report"].committed is False
    assert list(Bag.objects.values_list("qr_id", flat=True)) == ["SB00003"]
    assert not Scan.objects.exists() and not AuditLog.objects.filter(action="import.bags").exists()
    assert len(stored_uploads(settings)) == 1  # kept: the user may fix things and try again


def test_an_unexpected_error_in_commit_rolls_everything_back(admin_user, tmp_path, monkeypatch):
    path = tmp_path / "bags.csv"
    path.write_bytes(csv_bytes(bag_rows(2, 10)))
    calls = {"n": 0}
    real_scan_children = importing.scan_children

    def failing_scan_children(**kwargs):
        # The first parent's children are written, then the second parent's call fails.
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("database went away")
        return real_scan_children(**kwargs)

    monkeypatch.setattr(importing, "scan_children", failing_scan_children)
    with pytest.raises(RuntimeError):
        import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert calls["n"] == 2
    assert not Bag.objects.exists() and not Link.objects.exists() and not Scan.objects.exists()
    assert not AuditLog.objects.filter(action="import.bags").exists()


def test_cancel_and_a_stale_upload(admin_client, settings):
    response = upload(admin_client, BAG_IMPORT_URL, "bags.csv", csv_bytes(bag_rows(1, 1)))
    token = response.context["upload"]["file"]
    response = admin_client.post(reverse(BAG_IMPORT_URL), {"action": "cancel", "upload": token})
    assert response.status_code == 302 and stored_uploads(settings) == []
    response = admin_client.post(reverse(BAG_IMPORT_URL), {"action": "commit", "upload": token}, follow=True)
    assert "no longer available" in response.content.decode()
    # Another session's (or a made-up) name is refused the same way.
    response = admin_client.post(reverse(BAG_IMPORT_URL), {"action": "commit", "upload": "../../etc/passwd"}, follow=True)
    assert "no longer available" in response.content.decode()
    assert not Bag.objects.exists()


# --- Size -------------------------------------------------------------------------------


def test_ten_thousand_rows(admin_user, tmp_path):
    rows = bag_rows(322, 30) + [[f"SB{n:05d}", "parent", ""] for n in range(400, 418)]
    assert len(rows) - 1 == 10_000
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(rows))
    seen = []
    queries = {"n": 0}

    def count(execute, sql, params, many, context):
        queries["n"] += 1
        return execute(sql, params, many, context)

    started = time.monotonic()
    with connection.execute_wrapper(count):
        report = import_bags(
            user=admin_user, path=path, file_name=path.name, commit=True, progress=lambda done, total: seen.append(done)
        )
    elapsed = time.monotonic() - started
    print(f"\n10,000-row import: {elapsed:.1f}s ({10_000 / elapsed:,.0f} rows/s), {queries['n'] / 10_000:.1f} queries a row")
    assert report.committed, report.problems[:5]
    assert (Bag.objects.count(), Link.objects.count()) == (10_000, 9_660)
    assert seen[-1] == 10_000 and len(seen) == 10
    # The speed is the services' (about 13 queries, savepoints included, per scanned child);
    # wall time on a shared machine is no test, but a cost that grows per row is.
    assert queries["n"] < 16 * 10_000


# --- Bills ------------------------------------------------------------------------------


def test_bills_import_with_parents(admin_client, admin_user, dispatcher):
    for n in range(1, 6):
        fill_parent(dispatcher, f"SB{n:05d}", 1, start=n)
    rows = [
        ["bill_id", "capacity", "destination", "vehicle_number", "description", "parents"],
        ["bill-1", "3", "Delhi", "dl01ab1234", "first", "SB00001; SB00002 SB00003"],
        ["BILL-2", 2.0, "Agra", "UP80", "", "SB00004"],
        ["BILL-3", "1", "Pune", "MH12", "", ""],
    ]
    response = upload(admin_client, BILL_IMPORT_URL, "bills.xlsx", xlsx_bytes(rows))
    assert response.context["report"].good_rows == 3, problems_by_row(response)
    assert not Bill.objects.exists()
    response = commit(admin_client, BILL_IMPORT_URL, response)
    assert response.status_code == 302 and response["Location"] == reverse("admin:billing_bill_changelist")
    bill = Bill.objects.get(bill_id="BILL-1")
    assert (bill.parent_count, bill.status, bill.vehicle_number, bill.created_by) == (3, "in_progress", "DL01AB1234", admin_user)
    assert list(bill.bill_bags.order_by("created_at", "pk").values_list("parent__qr_id", flat=True)) == [
        "SB00001", "SB00002", "SB00003"
    ]
    assert Bill.objects.get(bill_id="BILL-3").status == "new"
    assert AuditLog.objects.get(action="import.bills").after["rows"] == 3


def test_bill_rows_refused(admin_client, biller, dispatcher):
    for n in range(1, 5):
        fill_parent(dispatcher, f"SB{n:05d}", 1, start=n)
    bill_create(user=biller, bill_id="OLD-1", capacity=5, destination="X", vehicle_number="Y")
    bill_add_parent(user=biller, bill_id="OLD-1", parent_qr="SB00004")
    rows = [
        ["bill_id", "capacity", "destination", "vehicle_number", "parents"],
        ["BILL-1", "1", "Delhi", "DL1", "SB00001 SB00002"],  # 2 too many parents
        ["bill-1", "1", "Delhi", "DL1", ""],  # 3 duplicate in file
        ["OLD-1", "1", "Delhi", "DL1", ""],  # 4 exists
        ["BILL-4", "0", "", "DL1", ""],  # 5 capacity and destination
        ["BILL-5", "2", "Agra", "UP1", "SB00001 SB09999 CH000001 SB1"],  # 6 listed twice, unknown, child, format
        ["BILL-6", "2", "Agra", "UP1", "SB00004"],  # 7 on another bill
        ["BILL-7", "2", "Agra", "UP1", "SB00003"],  # 8 good
    ]
    response = upload(admin_client, BILL_IMPORT_URL, "bills.csv", csv_bytes(rows))
    assert problems_by_row(response) == {
        "row 2": ["bill_full"],
        "row 3": ["duplicate"],
        "row 4": ["bill_exists"],
        "row 5": ["invalid", "invalid"],
        "row 6": ["duplicate", "invalid", "invalid", "not_found"],
        "row 7": ["already_billed"],
    }
    assert response.context["report"].good_rows == 1
    assert set(Bill.objects.values_list("bill_id", flat=True)) == {"OLD-1"}


# --- Who may import ---------------------------------------------------------------------


def test_only_admins_reach_the_import_pages(client, biller, dispatcher, admin_user, tmp_path):
    urls = [reverse(BAG_IMPORT_URL), reverse(BILL_IMPORT_URL)]
    client.force_login(biller)  # staff, with view permissions on bags and bills
    for url in urls:
        assert client.get(url).status_code == 403
        assert upload(client, BAG_IMPORT_URL, "bags.csv", csv_bytes(bag_rows(1, 1))).status_code == 403
    changelist = client.get(reverse("admin:bags_bag_changelist")).content.decode()
    assert "Import CSV" not in changelist
    client.force_login(dispatcher)  # no admin at all
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]
    client.force_login(admin_user)
    assert client.get(urls[0]).status_code == 200
    assert "Import CSV" in client.get(reverse("admin:bags_bag_changelist")).content.decode()
    assert not Bag.objects.exists()

    path = tmp_path / "bags.csv"
    path.write_bytes(csv_bytes(bag_rows(1, 1)))
    refused("permission_denied", import_bags, user=biller, path=path, file_name="bags.csv", commit=True)


def test_read_rows_reports_missing_columns_of_xlsx(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(xlsx_bytes([["qr_id"], ["SB00001"]]))
    with pytest.raises(ImportFileError, match="missing column"):
        importing.read_rows(path, columns=importing.BAG_COLUMNS, required=importing.BAG_REQUIRED)


def test_a_stored_file_that_went_bad_before_commit(admin_client, settings):
    response = upload(admin_client, BAG_IMPORT_URL, "bags.csv", csv_bytes(bag_rows(1, 2)))
    (settings.VAR_DIR / "imports" / response.context["upload"]["file"]).write_bytes(b"qr_id\nSB00001\n")
    response = commit(admin_client, BAG_IMPORT_URL, response)
    assert response.status_code == 200
    assert "bags.csv: The file: missing column(s) kind." in response.content.decode()
    assert not Bag.objects.exists()


def test_import_bags_command(admin_user, tmp_path):
    from io import StringIO

    from django.core.management import CommandError, call_command

    path = tmp_path / "bags.csv"
    path.write_bytes(csv_bytes(bag_rows(2, 3)))
    out = StringIO()
    call_command("import_bags", str(path), "--user", admin_user.username, stdout=out)
    assert "Dry run, nothing written: 8 rows, 8 good" in out.getvalue() and not Bag.objects.exists()
    call_command("import_bags", str(path), "--user", admin_user.username, "--commit", stdout=out)
    assert "Imported 8 rows" in out.getvalue() and Bag.objects.count() == 8
    with pytest.raises(CommandError, match="Nothing written: 8 rows, 0 good, 8 refused"):
        call_command("import_bags", str(path), "--user", admin_user.username, "--commit", stdout=out)
    assert "row 2: SB00001: Bag SB00001 already exists. [bag_exists]" in out.getvalue()
    with pytest.raises(CommandError, match="No user"):
        call_command("import_bags", str(path), "--user", "nobody")
