"""A bill's printable manifest and the billers' CSV downloads (issue 18): what they show, who
gets them, CSV-injection safety, keyset reads without OFFSET or COUNT, and their pinned query
counts (tests/billing/query_counts.json, as tests/test_query_count_baselines.py pins the
other pages')."""

import csv
import io
import logging
import re
from html.parser import HTMLParser

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from billing import views
from billing.models import Bill
from billing.selectors import bills_newest_first, bills_with_totals
from billing.services import bill_add_parent, bill_complete, bill_create, bill_update
from tests.helpers import fill_parent
from tests.query_counts import expect_query_count
from tracetrack.csv_download import FORMULA_PREFIXES, csv_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(dispatcher, biller, admin_user):
    fill_parent(dispatcher, "SB00001", 3)
    fill_parent(dispatcher, "SB00002", 30, start=100)
    bill_create(user=biller, bill_id="TRUCK-1", capacity=2, destination="Kanpur depot", vehicle_number="UP32 AB 1234",
                description="Morning run")
    bill_add_parent(user=biller, bill_id="TRUCK-1", parent_qr="SB00001")
    bill_add_parent(user=biller, bill_id="TRUCK-1", parent_qr="SB00002")
    return {"dispatcher": dispatcher, "biller": biller, "admin": admin_user}


@pytest.fixture
def office(client, world):
    client.force_login(world["biller"])
    return client


class _Texts(HTMLParser):
    """The text inside each element that has an id, and the rows of each table body."""

    def __init__(self):
        super().__init__()
        self.open: list[tuple[str, str | None]] = []
        self.texts: dict[str, str] = {}
        self.rows: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "link", "meta", "input", "img"):
            return
        self.open.append((tag, dict(attrs).get("id")))
        if tag == "tr" and any(name == "tbody" for name, _ in self.open):
            self.rows.append([])
        if tag == "td" and self.rows and any(name == "tbody" for name, _ in self.open):
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        while self.open:
            name, _ = self.open.pop()
            if name == tag:
                break

    def handle_data(self, data):
        for _, element_id in self.open:
            if element_id:
                self.texts[element_id] = self.texts.get(element_id, "") + data
        if self.open and self.open[-1][0] == "td" and self.rows and any(n == "tbody" for n, _ in self.open):
            self.rows[-1][-1] += data


def parsed(response) -> _Texts:
    parser = _Texts()
    parser.feed(response.content.decode())
    parser.texts = {key: " ".join(value.split()) for key, value in parser.texts.items()}
    parser.rows = [[" ".join(cell.split()) for cell in row] for row in parser.rows]
    return parser


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.reader(io.StringIO(body[1:])))


# --- The manifest -------------------------------------------------------------------------


def test_manifest_shows_the_bill_its_parents_totals_and_signature_lines(office):
    response = office.get("/bills/truck-1/manifest/")
    assert response.status_code == 200
    page = parsed(response)
    texts = page.texts
    assert texts["m-bill"] == "TRUCK-1"
    assert texts["m-status"] == "In progress"
    assert texts["m-destination"] == "Kanpur depot"
    assert texts["m-vehicle"] == "UP32 AB 1234"
    assert texts["m-description"] == "Morning run"
    assert texts["m-created"].endswith("· biller") and re.match(r"\d\d \w{3} \d{4} \d\d:\d\d", texts["m-created"])
    assert texts["m-completed"] == "Not completed"
    # In the order they were loaded, numbered; weight as the bill page computes it (KG_PER_CHILD).
    assert page.rows == [["1", "SB00001", "3", "3.0"], ["2", "SB00002", "30", "30.0"]]
    assert texts["m-children"] == "33" and texts["m-weight"] == "33.0"
    assert texts["m-summary"] == "2 of 2 parent bags, 33 child bags. Weight: 33.0 kg of 60.0 kg expected."
    signatures = texts["m-signatures"]
    for role in ("Loaded by", "Driver", "Checked by"):
        assert role in signatures
    assert signatures.count("Name and signature") == 3 and signatures.count("Date") == 3


def test_manifest_is_printable_under_the_content_security_policy(office):
    html = office.get("/bills/TRUCK-1/manifest/").content.decode()
    assert re.search(r'<link rel="stylesheet" href="/static/css/print\.css[^"]*">', html)
    assert re.search(r'<script src="/static/js/print\.js[^"]*"></script>', html)
    assert re.search(r"<button[^>]*data-print", html)
    # script-src 'self': no inline script, no handler attribute.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and not re.search(r"\son[a-z]+=", html)


def test_manifest_of_a_completed_bill_with_another_weight_per_child(office, world, settings):
    settings.KG_PER_CHILD = 1.5
    bill_complete(user=world["biller"], bill_id="TRUCK-1")
    page = parsed(office.get("/bills/TRUCK-1/manifest/"))
    assert page.texts["m-status"] == "Completed"
    assert page.texts["m-completed"].endswith("· biller") and page.texts["m-completed"] != "Not completed"
    assert page.rows[1] == ["2", "SB00002", "30", "45.0"]
    assert page.texts["m-weight"] == "49.5"
    assert page.texts["m-summary"].endswith("Weight: 49.5 kg of 90.0 kg expected.")


def test_manifest_of_an_empty_bill_and_of_no_bill(office, world):
    bill_create(user=world["biller"], bill_id="EMPTY-1", capacity=5, destination="D", vehicle_number="V")
    page = parsed(office.get("/bills/EMPTY-1/manifest/"))
    assert page.rows == [["No parent bags on this bill."]]
    assert page.texts["m-children"] == "0" and page.texts["m-weight"] == "0.0"
    assert page.texts["m-summary"] == "0 of 5 parent bags, 0 child bags. Weight: 0.0 kg of 150.0 kg expected."
    assert office.get("/bills/NOPE-1/manifest/").status_code == 404
    assert office.get("/bills/NOPE-1/export.csv").status_code == 404


def test_manifest_escapes_what_billers_typed(office, world):
    bill_create(user=world["biller"], bill_id="XSS-1", capacity=1, destination="<script>alert(1)</script>",
                vehicle_number="<b>V</b>", description='"><img src=x onerror=alert(1)>')
    html = office.get("/bills/XSS-1/manifest/").content
    assert b"<script>alert(1)</script>" not in html and b"&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert b"<b>V</b>" not in html and b"<img src=x" not in html


def test_the_bill_page_links_to_its_manifest_and_csv_and_the_list_to_its_csv(office):
    bill = office.get("/bills/TRUCK-1/").content.decode()
    assert 'id="manifest-link" href="/bills/TRUCK-1/manifest/"' in bill
    assert 'id="bill-csv" href="/bills/TRUCK-1/export.csv"' in bill
    assert 'id="bills-csv" href="/bills/export.csv"' in office.get("/bills/").content.decode()
    # With the list's filters, without its cursor.
    listed = office.get("/bills/?status=in_progress&search=tru&cursor=abc").content.decode()
    assert 'id="bills-csv" href="/bills/export.csv?status=in_progress&amp;search=tru"' in listed
    assert 'id="bills-csv"' not in office.get("/bills/?status=zzz").content.decode()


def test_new_urls_do_not_take_the_bill_actions(office):
    """`bills/<id>/<action>/` is POST only; the manifest route comes first and reads only."""
    assert office.post("/bills/TRUCK-1/manifest/").status_code == 405
    assert office.post("/bills/TRUCK-1/export.csv").status_code == 405
    assert office.post("/bills/export.csv").status_code == 405
    assert Bill.objects.get().status == "in_progress"


# --- The bill's CSV -----------------------------------------------------------------------


def test_bill_csv_lists_its_parents(office, caplog):
    with caplog.at_level(logging.INFO, logger="billing.views"):
        response = office.get("/bills/truck-1/export.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="bill-TRUCK-1-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    assert response["X-Accel-Buffering"] == "no"
    rows = read_csv(response)
    assert rows[0] == ["Parent bag", "Children", "Weight (kg)", "Added at"]
    assert [row[:3] for row in rows[1:]] == [["SB00001", "3", "3.0"], ["SB00002", "30", "30.0"]]
    # Local time (Asia/Kolkata) with its offset, as the admin's export writes times.
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", row[3]) for row in rows[1:])
    assert any(record.getMessage() == "export of bill TRUCK-1 parents as csv by biller" for record in caplog.records)


# --- The list's CSV -----------------------------------------------------------------------


def test_bill_list_csv_has_the_listed_bills_newest_first(office, world):
    bill_create(user=world["biller"], bill_id="TRUCK-2", capacity=1, destination="Agra", vehicle_number="UP80 1")
    response = office.get("/bills/export.csv")
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(r'attachment; filename="bills-\d{8}-\d{6}\.csv"', response["Content-Disposition"])
    rows = read_csv(response)
    assert rows[0] == ["Bill", "Status", "Destination", "Vehicle", "Capacity", "Parents", "Children", "Weight (kg)",
                       "Created by", "Created at", "Completed at"]
    assert [row[:9] for row in rows[1:]] == [
        ["TRUCK-2", "New", "Agra", "UP80 1", "1", "0", "0", "0.0", "biller"],
        ["TRUCK-1", "In progress", "Kanpur depot", "UP32 AB 1234", "2", "2", "33", "33.0", "biller"],
    ]
    assert rows[1][9].endswith("+05:30") and rows[1][10] == ""


def test_bill_list_csv_follows_the_filters_and_not_the_cursor(office, world):
    bill_create(user=world["biller"], bill_id="OTHER-2", capacity=1, destination="D", vehicle_number="V")
    bill_complete(user=world["biller"], bill_id="TRUCK-1")
    codes = lambda url: [row[0] for row in read_csv(office.get(url))[1:]]  # noqa: E731
    assert codes("/bills/export.csv?search=oth") == ["OTHER-2"]
    assert codes("/bills/export.csv?status=completed") == ["TRUCK-1"]
    assert codes("/bills/export.csv?created_by=nobody") == []
    assert codes("/bills/export.csv?cursor=" + "x" * 20) == ["OTHER-2", "TRUCK-1"]
    bad = office.get("/bills/export.csv?status=zzz")
    assert bad.status_code == 400 and bad["Content-Type"].startswith("text/plain") and b"status" in bad.content


def test_csv_cells_that_a_spreadsheet_would_run_get_an_apostrophe(office, world):
    bill_create(user=world["biller"], bill_id="INJ-1", capacity=1, destination='=HYPERLINK("http://x","y")',
                vehicle_number="+91 1", description="d")
    bill_create(user=world["biller"], bill_id="INJ-2", capacity=1, destination="-2+3", vehicle_number="@SUM(A1)")
    rows = {row[0]: row for row in read_csv(office.get("/bills/export.csv?search=INJ"))[1:]}
    assert rows["INJ-1"][2:4] == ['\'=HYPERLINK("http://x","y")', "'+91 1"]
    assert rows["INJ-2"][2:4] == ["'-2+3", "'@SUM(A1)"]
    for prefix in FORMULA_PREFIXES:
        assert csv_text(prefix + "1") == "'" + prefix + "1"
    assert csv_text("Kanpur = depot") == "Kanpur = depot" and csv_text("") == ""


def test_bill_list_csv_is_bounded_and_says_so(office, world, monkeypatch):
    for n in range(3):
        bill_create(user=world["biller"], bill_id=f"MANY-{n}", capacity=1, destination="D", vehicle_number="V")
    monkeypatch.setattr(views, "EXPORT_MAX_BILLS", 2)
    rows = read_csv(office.get("/bills/export.csv?search=MANY"))
    assert [row[0] for row in rows[1:3]] == ["MANY-2", "MANY-1"]
    assert rows[3] == ["Only the newest 2 bills are in this file: narrow the filters for the others."]
    assert len(rows) == 4


def test_bill_list_csv_logs_who_exported_what(office, caplog):
    with caplog.at_level(logging.INFO, logger="billing.views"):
        b"".join(office.get("/bills/export.csv?status=new&cursor=abc").streaming_content)
    assert any(record.getMessage() == "export of bills (status=new) as csv by biller" for record in caplog.records)


def test_bills_are_read_by_keyset_a_chunk_at_a_time(world):
    for n in range(5):
        bill_create(user=world["biller"], bill_id=f"KEY-{n}", capacity=1, destination="D", vehicle_number="V")
    with CaptureQueriesContext(connection) as queries:
        bills = [bill.bill_id for bill in bills_newest_first(bills_with_totals().filter(bill_id__startswith="KEY"),
                                                            limit=100, chunk=2)]
    assert bills == ["KEY-4", "KEY-3", "KEY-2", "KEY-1", "KEY-0"]
    sql = [query["sql"].upper() for query in queries.captured_queries]
    assert len(sql) == 3  # 2 + 2 + 1 rows
    assert not any(" OFFSET " in statement or "COUNT(" in statement for statement in sql)
    with CaptureQueriesContext(connection) as queries:
        assert len(list(bills_newest_first(bills_with_totals(), limit=3, chunk=2))) == 3
    assert len(queries.captured_queries) == 2


# --- Query counts -------------------------------------------------------------------------


def _measured(key: str, client: Client, url: str):
    cache.clear() if not hasattr(cache, "delete_pattern") else cache.delete_pattern("*")
    with expect_query_count("billing", key):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code == 200, (key, response.status_code)


def test_query_counts_are_pinned(world, settings):
    settings.SESSION_REFRESH_SECONDS = 24 * 3600  # the once-a-minute session rewrite is not the page's
    client = Client()
    client.force_login(world["biller"])
    _measured("page /bills/{bill_id}/manifest/", client, "/bills/TRUCK-1/manifest/")
    _measured("csv /bills/{bill_id}/export.csv", client, "/bills/TRUCK-1/export.csv")
    _measured("csv /bills/export.csv", client, "/bills/export.csv")


def test_query_counts_do_not_grow_with_the_parents_or_the_bills(world, settings, dispatcher):
    settings.SESSION_REFRESH_SECONDS = 24 * 3600
    client = Client()
    client.force_login(world["biller"])

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
            if response.streaming:
                b"".join(response.streaming_content)
        return len(queries.captured_queries)

    before = [count("/bills/TRUCK-1/manifest/"), count("/bills/TRUCK-1/export.csv"), count("/bills/export.csv")]
    bill_update(user=world["biller"], bill_id="TRUCK-1", capacity=12)
    for n in range(10):
        fill_parent(dispatcher, f"SB001{n:02d}", 2, start=1000 + 10 * n)
        bill_add_parent(user=world["biller"], bill_id="TRUCK-1", parent_qr=f"SB001{n:02d}")
        bill_create(user=world["biller"], bill_id=f"MORE-{n}", capacity=1, destination="D", vehicle_number="V")
    after = [count("/bills/TRUCK-1/manifest/"), count("/bills/TRUCK-1/export.csv"), count("/bills/export.csv")]
    assert after == before
    assert len(parsed(client.get("/bills/TRUCK-1/manifest/")).rows) == 12
