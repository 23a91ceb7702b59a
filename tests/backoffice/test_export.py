"""Exports of bags, scans and bills: streamed CSV, XLSX, admin actions, round trip."""

import csv
import io
import itertools
import tracemalloc
import zipfile
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.http import FileResponse, StreamingHttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backoffice import exporting, xlsx
from backoffice.importing import import_bags, import_bills
from bags.models import Bag, Link
from billing.models import Bill
from billing.services import bill_add_parent, bill_create
from scans.models import Scan
from tests.helpers import fill_parent

pytestmark = pytest.mark.django_db


def export_url(dataset: str, fmt: str) -> str:
    return reverse("admin:tracetrack_export", args=[dataset, fmt])


def read_csv(response) -> list[dict]:
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def read_xlsx(response) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    # Streamed while the rows are read, not a file built first.
    assert isinstance(response, StreamingHttpResponse) and not isinstance(response, FileResponse)
    assert response["Content-Type"] == exporting.XLSX_CONTENT_TYPE
    assert 'attachment; filename="' in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    sheets = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}
    workbook.close()
    return sheets


@pytest.fixture
def warehouse(dispatcher, biller, other_dispatcher):
    """Two full-ish parents in lucknow, one in indore, a loose child, one bill."""
    fill_parent(dispatcher, "SB00001", 3)
    fill_parent(dispatcher, "SB00002", 2, start=10)
    fill_parent(other_dispatcher, "M444-00001", 1, start=20)
    bill_create(user=biller, bill_id="BILL-1", capacity=2, destination="Delhi", vehicle_number="DL1",
                description="=HYPERLINK(\"http://evil\")")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00002")
    bill_add_parent(user=biller, bill_id="BILL-1", parent_qr="SB00001")
    bill_create(user=biller, bill_id="BILL-2", capacity=1, destination="Agra", vehicle_number="UP1")


def test_csv_export_of_every_bag_streams_with_the_columns(admin_client, warehouse, dispatcher):
    response = admin_client.get(export_url("bags", "csv"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'attachment; filename="bags-' in response["Content-Disposition"]
    rows = read_csv(response)
    assert list(rows[0]) == ["qr_id", "kind", "status", "dispatch_area", "parent_qr_id", "child_count", "bill_id",
                             "created_by", "created_at"]
    by_code = {row["qr_id"]: row for row in rows}
    assert len(rows) == Bag.objects.count() == 9
    assert by_code["SB00001"] | {"created_at": ""} == {
        "qr_id": "SB00001", "kind": "parent", "status": "in_progress", "dispatch_area": "lucknow",
        "parent_qr_id": "", "child_count": "3", "bill_id": "BILL-1", "created_by": dispatcher.username, "created_at": "",
    }
    assert (by_code["CH000010"]["parent_qr_id"], by_code["CH000010"]["kind"]) == ("SB00002", "child")
    assert by_code["M444-00001"]["dispatch_area"] == "indore"
    # Local time with its offset (TIME_ZONE), to the second.
    assert datetime.fromisoformat(by_code["SB00001"]["created_at"]).utcoffset() is not None


def test_csv_export_query_count_does_not_grow_with_rows(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    read_csv(admin_client.get(export_url("bags", "csv")))  # the first admin request may save the session
    with CaptureQueriesContext(connection) as small:
        small_rows = read_csv(admin_client.get(export_url("bags", "csv")))
    for n in range(2, 8):
        fill_parent(dispatcher, f"SB{n:05d}", 30, start=n * 100)
    with CaptureQueriesContext(connection) as large:
        large_rows = read_csv(admin_client.get(export_url("bags", "csv")))
    assert (len(small_rows), len(large_rows)) == (3, 3 + 6 * 31)
    assert len(small) == len(large)
    # One query reads the bags (the rest is the session and user of the admin request).
    assert sum('FROM "bags_bag"' in query["sql"] for query in large.captured_queries) == 1


def test_xlsx_export_opens_with_openpyxl(admin_client, warehouse):
    sheets = read_xlsx(admin_client.get(export_url("bags", "xlsx")))
    rows = sheets["bags"]
    assert rows[0] == ("qr_id", "kind", "status", "dispatch_area", "parent_qr_id", "child_count", "bill_id",
                       "created_by", "created_at")
    assert len(rows) == 10
    parent = next(row for row in rows if row[0] == "SB00001")
    assert parent[5] == 3 and parent[6] == "BILL-1" and isinstance(parent[8], datetime)


def test_a_long_xlsx_export_goes_on_into_more_sheets_and_imports_back(admin_client, admin_user, dispatcher,
                                                                      monkeypatch, tmp_path):
    fill_parent(dispatcher, "SB00001", 6)
    monkeypatch.setattr(exporting, "XLSX_MAX_ROWS", 4)  # a header and 3 rows a sheet
    response = admin_client.get(export_url("bags", "xlsx"))
    content = b"".join(response.streaming_content)
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    assert [sheet.title for sheet in workbook.worksheets] == ["bags", "bags 2", "bags 3"]
    workbook.close()
    Bag.objects.all().delete()
    path = tmp_path / "bags.xlsx"
    path.write_bytes(content)
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert report.committed, report.problems
    assert Bag.objects.get(qr_id="SB00001").child_count == 6


def test_scan_and_bill_exports(admin_client, warehouse):
    scans = read_csv(admin_client.get(export_url("scans", "csv")))
    assert len(scans) == Scan.objects.count() == 9
    child_scan = next(row for row in scans if row["qr_id"] == "CH000000")
    assert (child_scan["kind"], child_scan["parent_qr_id"], child_scan["user"], child_scan["created_bag"]) == (
        "child", "SB00001", "disp_lucknow", "true"
    )
    bills = read_csv(admin_client.get(export_url("bills", "csv")))
    assert [(row["bill_id"], row["parents"], row["status"]) for row in bills] == [
        ("BILL-1", "SB00002 SB00001", "in_progress"), ("BILL-2", "", "new")
    ]
    # Text a spreadsheet would run as a formula is quoted.
    assert bills[0]["description"] == "'=HYPERLINK(\"http://evil\")"
    sheets = read_xlsx(admin_client.get(export_url("bills", "xlsx")))
    assert sheets["bills"][1][6] == "=HYPERLINK(\"http://evil\")"  # a string cell, not a formula
    assert sheets["bills"][1][-1] == "SB00002 SB00001"
    assert "scans" in read_xlsx(admin_client.get(export_url("scans", "xlsx")))


def test_export_selected_actions(admin_client, warehouse):
    chosen = list(Bag.objects.filter(qr_id__in=["SB00001", "CH000000"]).values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:bags_bag_changelist"), {"action": "export_selected_csv", "_selected_action": chosen}
    )
    assert sorted(row["qr_id"] for row in read_csv(response)) == ["CH000000", "SB00001"]
    response = admin_client.post(
        reverse("admin:bags_bag_changelist"), {"action": "export_selected_xlsx", "_selected_action": chosen}
    )
    assert len(read_xlsx(response)["bags"]) == 3

    bill = Bill.objects.get(bill_id="BILL-1")
    response = admin_client.post(
        reverse("admin:billing_bill_changelist"), {"action": "export_selected_csv", "_selected_action": [bill.pk]}
    )
    assert [(row["bill_id"], row["parents"]) for row in read_csv(response)] == [("BILL-1", "SB00002 SB00001")]

    scan = Scan.objects.filter(kind="parent").first()
    for fmt in ("csv", "xlsx"):
        response = admin_client.post(
            reverse("admin:scans_scan_changelist"), {"action": f"export_selected_{fmt}", "_selected_action": [scan.pk]}
        )
        assert response.status_code == 200 and response.has_header("Content-Disposition")
    changelist = admin_client.get(reverse("admin:scans_scan_changelist")).content.decode()
    assert export_url("scans", "csv") in changelist and "Export selected as XLSX" in changelist


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_bags_and_bills_import_back_into_an_empty_database(admin_client, admin_user, warehouse, tmp_path, fmt):
    def snapshot():
        bags = set(Bag.objects.values_list("qr_id", "kind", "status", "dispatch_area__code", "child_count"))
        links = set(Link.objects.values_list("parent__qr_id", "child__qr_id"))
        bills = set(Bill.objects.values_list("bill_id", "capacity", "parent_count", "destination", "vehicle_number",
                                             "description", "status"))
        places = set(Bill.objects.values_list("bill_id", "bill_bags__parent__qr_id"))
        return bags, links, bills, places

    before = snapshot()
    bag_file = tmp_path / f"bags.{fmt}"
    bag_file.write_bytes(b"".join(admin_client.get(export_url("bags", fmt)).streaming_content))
    bill_file = tmp_path / f"bills.{fmt}"
    bill_file.write_bytes(b"".join(admin_client.get(export_url("bills", fmt)).streaming_content))

    Bill.objects.all().delete()
    Bag.objects.all().delete()
    Scan.objects.all().delete()

    report = import_bags(user=admin_user, path=bag_file, file_name=bag_file.name, commit=True)
    assert report.committed, report.problems
    report = import_bills(user=admin_user, path=bill_file, file_name=bill_file.name, commit=True)
    assert report.committed, report.problems
    assert snapshot() == before


def test_export_needs_view_permission(client, dispatcher, biller, warehouse):
    client.force_login(dispatcher)
    assert client.get(export_url("bags", "csv")).status_code == 302  # no admin for dispatchers
    client.force_login(biller)  # billers may read bags, scans and bills in the admin
    assert client.get(export_url("bills", "csv")).status_code == 200
    assert client.get(export_url("users", "csv")).status_code == 404
    assert client.get(export_url("bags", "pdf")).status_code == 404


# --- Streamed XLSX ------------------------------------------------------------------------


def xlsx_rows(content: bytes) -> dict[str, list[tuple]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    sheets = {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in workbook.worksheets}
    workbook.close()
    return sheets


@pytest.mark.parametrize("dataset", ["bags", "scans", "bills"])
def test_xlsx_export_has_the_values_of_the_csv_export(admin_client, warehouse, dataset):
    """Cell by cell: text as text, counts as numbers, flags as booleans, times as the same
    local wall-clock time (Excel has no zones), formula-looking text as plain text."""
    csv_rows = read_csv(admin_client.get(export_url(dataset, "csv")))
    sheet = read_xlsx(admin_client.get(export_url(dataset, "xlsx")))[dataset]
    header, rows = sheet[0], sheet[1:]
    assert list(header) == list(csv_rows[0]) == exporting.DATASETS[dataset].headers
    assert len(rows) == len(csv_rows) > 0
    for row, expected in zip(rows, csv_rows, strict=True):
        for cell, (column, text) in zip(row, expected.items(), strict=True):
            if cell is None:
                assert text == "", column
            elif isinstance(cell, bool):
                assert text == ("true" if cell else "false"), column
            elif isinstance(cell, datetime):
                # The CSV truncates to the second; the sheet keeps the fraction, and reading
                # the serial back can round .9999996 up to the next second: at most 1 s apart.
                local = datetime.fromisoformat(text).replace(tzinfo=None)
                assert abs(cell - local) <= timedelta(seconds=1), column
            elif isinstance(cell, int):
                assert text == str(cell), column
            else:
                assert isinstance(cell, str), column
                assert text in (cell, "'" + cell), column
    if dataset == "scans":
        assert any(row[-1] is True for row in rows)  # created_bag


def test_xlsx_keeps_digit_only_codes_as_text(admin_client, admin_user, dispatcher, biller, tmp_path):
    fill_parent(dispatcher, "SB00001", 2, prefix="00")  # children 00000000 and 00000001
    bill_create(user=biller, bill_id="0042", capacity=1, destination="Agra", vehicle_number="007")
    bill_add_parent(user=biller, bill_id="0042", parent_qr="SB00001")
    bags = read_xlsx(admin_client.get(export_url("bags", "xlsx")))["bags"]
    assert {row[0] for row in bags[1:]} == {"SB00001", "00000000", "00000001"}
    assert {row[6] for row in bags[1:]} == {"0042", None}
    bills = read_xlsx(admin_client.get(export_url("bills", "xlsx")))["bills"]
    assert (bills[1][0], bills[1][5], bills[1][-1]) == ("0042", "007", "SB00001")
    scans = read_xlsx(admin_client.get(export_url("scans", "xlsx")))["scans"]
    assert {row[2] for row in scans[1:]} == {"SB00001", "00000000", "00000001"}

    # …and they import back as they were.
    content = b"".join(admin_client.get(export_url("bags", "xlsx")).streaming_content)
    Bill.objects.all().delete()
    Bag.objects.all().delete()
    path = tmp_path / "bags.xlsx"
    path.write_bytes(content)
    report = import_bags(user=admin_user, path=path, file_name=path.name, commit=True)
    assert report.committed, report.problems
    assert set(Bag.objects.values_list("qr_id", flat=True)) == {"SB00001", "00000000", "00000001"}


def test_xlsx_text_with_markup_and_control_characters(admin_client, biller):
    # (PostgreSQL text cannot hold NUL; other control characters it stores.)
    description = "a < b && c > d \"q\" 'x'\x01\x1f\x0b\ufffe end\r\nline\ttab  "
    bill_create(user=biller, bill_id="B-1", capacity=1, destination="D", vehicle_number="V")
    # Stored as they are (the services trim text; older rows or imports may not have).
    Bill.objects.filter(bill_id="B-1").update(destination=" <tag/> ", vehicle_number="&amp;", description=description)
    content = b"".join(admin_client.get(export_url("bills", "xlsx")).streaming_content)
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    row = xlsx_rows(content)["bills"][1]
    assert (row[4], row[5]) == (" <tag/> ", "&amp;")  # leading and trailing spaces kept, markup as text
    # Characters XML 1.0 cannot hold are dropped; the rest, "\r" included, is kept.
    assert row[6] == "a < b && c > d \"q\" 'x' end\r\nline\ttab  "


def test_xlsx_export_streams_before_the_query_runs(admin_client, warehouse):
    response = admin_client.get(export_url("bags", "xlsx"))
    assert response["X-Accel-Buffering"] == "no"
    chunks = iter(response.streaming_content)
    with CaptureQueriesContext(connection) as queries:
        first = next(chunks)
    assert first.startswith(b"PK\x03\x04") and len(first) > 100
    assert not queries.captured_queries  # the first bytes go out before the bags are read
    with CaptureQueriesContext(connection) as queries:
        rest = b"".join(chunks)
    assert sum('FROM "bags_bag"' in query["sql"] for query in queries.captured_queries) == 1
    assert len(xlsx_rows(first + rest)["bags"]) == Bag.objects.count() + 1


def many_rows(pulled: list[int], count: int):
    """`count` rows made on demand; `pulled[0]` counts those asked for."""
    start = datetime(2026, 1, 1, 8, 30)
    for n in range(count):
        pulled[0] += 1
        yield (f"CH{n:08d}", n, n % 2 == 0, start + timedelta(seconds=n), None, "=1+1")


def stream(rows, **kwargs):
    return xlsx.stream_xlsx("bags", ["qr_id", "n", "flag", "at", "empty", "note"],
                            ["text", "number", "bool", "datetime", "text", "text"], rows, **kwargs)


def test_xlsx_stream_reads_rows_as_it_writes():
    pulled = [0]
    chunks = stream(many_rows(pulled, 1_000_000), rows_per_write=100)
    next(chunks)
    assert pulled == [0]
    sizes = [len(chunk) for chunk in itertools.islice(chunks, 5)]
    assert all(sizes)
    # A million rows on offer, a few thousand read (zlib holds some back before it emits):
    # the rows are not collected first.
    assert pulled[0] < 10_000
    chunks.close()


def test_xlsx_stream_memory_stays_flat():
    def peak(count: int) -> tuple[int, int]:
        pulled, size = [0], 0
        tracemalloc.start()
        try:
            for chunk in stream(many_rows(pulled, count)):
                size += len(chunk)
            return tracemalloc.get_traced_memory()[1], size
        finally:
            tracemalloc.stop()

    small_peak, small_size = peak(2_000)
    large_peak, large_size = peak(20_000)
    assert large_size > 5 * small_size
    # Ten times the rows, about the same memory (zlib's window and a few hundred rows).
    assert large_peak < small_peak + 512 * 1024, (small_peak, large_peak)
    assert large_peak < 4 * 1024 * 1024


def test_xlsx_stream_values_and_sheets():
    pulled = [0]
    content = b"".join(stream(many_rows(pulled, 7), max_rows=4))
    sheets = xlsx_rows(content)
    assert list(sheets) == ["bags", "bags 2", "bags 3"]
    assert [len(rows) for rows in sheets.values()] == [4, 4, 2]
    assert sheets["bags 2"][0] == ("qr_id", "n", "flag", "at", "empty", "note")
    assert sheets["bags"][1] == ("CH00000000", 0, True, datetime(2026, 1, 1, 8, 30), None, "=1+1")
    assert sheets["bags 3"][1] == ("CH00000006", 6, True, datetime(2026, 1, 1, 8, 30, 6), None, "=1+1")
    # No rows: the header alone.
    assert xlsx_rows(b"".join(stream(iter(()))))["bags"] == [("qr_id", "n", "flag", "at", "empty", "note")]


def test_xlsx_cell_text_is_clean_xml():
    assert xlsx.clean_text("a\x00b\x08\ud800c\uffff<&>\r\n\t") == "abc&lt;&amp;&gt;&#13;\n\t"
    assert xlsx.clean_text("x" * 40_000) == "x" * xlsx.MAX_CELL_TEXT  # Excel's cell limit
    content = b"".join(stream(iter([("a\x00b", 1.5, False, None, "", "\x1f")])))
    assert xlsx_rows(content)["bags"][1] == ("ab", 1.5, False, None, None, None)
