"""Benchmark stage "EXPLAIN every hot query": run each hot request path through the real
code (Django test client, users of each role) inside one transaction that is rolled back at
the end, capture its SQL, EXPLAIN (ANALYZE, BUFFERS) every distinct statement in the same
transaction, and write a markdown report with the plans and a verdict per query and path.

    .venv/bin/python bench/explain.py --database-url postgres://postgres@127.0.0.1:5432/tt_bench_1m \
        --out bench/tmp/explain.md

Nothing is written to the database for good: every request, and every EXPLAIN ANALYZE of
a write, runs inside a transaction (and savepoints) rolled back at the end. The cache is
the process's local memory (REDIS_URL is ignored), cleared before every request so that
cached reads (stats, bag lookups, the newest scans) are computed and their SQL shows.
"""

import argparse
import json
import logging
import os
import re
import secrets
import sys
import time
import traceback
import uuid
import warnings
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from benchdb import one  # bench/benchdb.py: the scripts run with bench/ on sys.path

ROOT = Path(__file__).resolve().parent.parent

BIG_TABLE_ROWS = 10_000  # a table with at least this many rows (pg_class estimate) is "big"
MANY_ROWS = 10_000  # a node reading more rows than this from a big table is flagged
SORT_ROWS = 1_000  # a Sort over more input rows than this is flagged
SLOW_MS = 50.0  # a statement executing longer than this is flagged
KNOWN_BIG = {"bags_bag", "bags_link", "scans_scan", "billing_billbag", "billing_bill", "stats_counter",
             "stats_scantally", "accounts_auditlog", "scans_idempotencyrecord", "django_session"}
SKIP_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT", "BEGIN", "COMMIT", "ROLLBACK",
                 "SET ", "EXPLAIN")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the database to explain against (default: $DATABASE_URL)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "tmp" / "explain.md"), help="markdown report")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    return args


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tracetrack.settings"
    # Local-memory cache: clearing it before each request touches nobody else's Redis keys.
    os.environ.pop("REDIS_URL", None)
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["HTTPS"] = "0"
    os.environ["STATIC_MANIFEST"] = "0"  # templates render without collectstatic
    os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
    os.environ["DB_POOL"] = "0"  # one connection: the test client shares our transaction
    os.environ["RATELIMIT_ENABLE"] = "0"
    os.environ["DEBUG_TOOLBAR"] = "0"
    os.environ["LOG_LEVEL"] = "ERROR"  # refusals (409) are expected here, not news
    warnings.filterwarnings("ignore", message="No directory at")  # whitenoise: no collectstatic needed
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    logging.getLogger("django.request").setLevel(logging.ERROR)


# --- Plans ------------------------------------------------------------------------------------


@dataclass
class Explained:
    sql: str
    kind: str  # SELECT, UPDATE, INSERT, DELETE
    duration_ms: float  # as captured during the request
    plan_text: str = ""
    plan_json: dict | None = None
    analyzed: bool = False
    error: str = ""
    execution_ms: float | None = None
    planning_ms: float | None = None
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    signature: tuple = ()
    shape: str = ""
    same_as: str = ""  # anchor of an earlier identical plan


def statement_kind(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""


def shape_of(sql: str) -> str:
    """The statement with its literals replaced, to recognise the same query with other values."""
    text = re.sub(r"'(?:[^']|'')*'", "?", sql)
    text = re.sub(r"\b\d+(\.\d+)?\b", "?", text)
    return re.sub(r"\s+", " ", text).strip()


def compact_sql(sql: str, limit: int = 160) -> str:
    """The statement with a long select list elided (the plan, WHERE and ORDER BY are what matter)."""
    if not sql.upper().startswith("SELECT"):
        return sql
    depth, quoted = 0, False
    for i, char in enumerate(sql):
        if char == "'":
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and sql.startswith(" FROM ", i):
            if i > limit:
                return f"SELECT … /* {i - 7} characters of select list */ {sql[i + 1:]}"
            return sql
    return sql


def walk(node: dict, depth: int = 0):
    yield node, depth
    for child in node.get("Plans", []):
        yield from walk(child, depth + 1)


def rows_read(node: dict) -> float:
    loops = node.get("Actual Loops", 1) or 1
    per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0) \
        + node.get("Rows Removed by Index Recheck", 0)
    return per_loop * loops


def exact_count_by_design(sql: str, size: int) -> bool:
    """The admin changelist's total, counted exactly because the table is still below
    EstimatedCountPaginator.exact_below (above it the paginator asks the planner instead)."""
    from tracetrack.admin_services import EstimatedCountPaginator

    return sql.startswith('SELECT COUNT(*) AS "__count" FROM') and size < EstimatedCountPaginator.exact_below


def judge(item: Explained, table_rows: dict[str, int]) -> None:
    """Flags (problems) and notes (fine, but worth saying) from the JSON plan."""
    if item.plan_json is None:
        return
    root = item.plan_json["Plan"]
    signature = []
    for node, _depth in walk(root):
        node_type = node.get("Node Type", "")
        relation = node.get("Relation Name")
        signature.append((node_type, relation, node.get("Index Name")))
        size = table_rows.get(relation or "", 0)
        big = relation is not None and (size >= BIG_TABLE_ROWS or (relation in KNOWN_BIG and size >= 1000))
        read = rows_read(node) if item.analyzed else node.get("Plan Rows", 0)
        if node_type == "Seq Scan" and relation:
            if big and exact_count_by_design(item.sql, size):
                item.notes.append(f"exact COUNT of `{relation}` (~{size:,} rows): the admin paginator counts exactly "
                                  "only below its threshold, and uses the planner's estimate above it")
            elif big:
                item.flags.append(f"Seq Scan on big table `{relation}` (~{size:,} rows; read {int(read):,})")
            elif relation in KNOWN_BIG:
                item.notes.append(f"Seq Scan on `{relation}`, small at this data size (~{size:,} rows): "
                                  "the planner's choice now; watch as it grows")
            else:
                item.notes.append(f"Seq Scan on small table `{relation}` (~{size:,} rows) — fine")
        elif relation and big and read > MANY_ROWS and node_type != "ModifyTable":
            how = node.get("Index Name") or node_type
            item.flags.append(f"{node_type} on `{relation}` reads {int(read):,} rows (via {how})")
        if node_type == "Sort":
            children = node.get("Plans", [])
            sorted_rows = rows_read(children[0]) if (children and item.analyzed) else node.get("Plan Rows", 0)
            if children and item.analyzed:
                sorted_rows = children[0].get("Actual Rows", 0) * (children[0].get("Actual Loops", 1) or 1)
            if sorted_rows > SORT_ROWS:
                method = node.get("Sort Method", "")
                item.flags.append(f"Sort over {int(sorted_rows):,} rows ({method or 'estimated'}; "
                                  f"key {', '.join(node.get('Sort Key', []))})")
        if node_type == "Aggregate" and re.search(r"COUNT\(", item.sql, re.I):
            for inner, _ in walk(node):
                inner_rel = inner.get("Relation Name")
                if inner is not node and inner_rel and table_rows.get(inner_rel, 0) >= BIG_TABLE_ROWS:
                    counted = rows_read(inner) if item.analyzed else inner.get("Plan Rows", 0)
                    if counted > MANY_ROWS:
                        item.flags.append(f"COUNT over {int(counted):,} rows of `{inner_rel}`")
    if item.execution_ms is not None and item.execution_ms > SLOW_MS:
        item.flags.append(f"slow: {item.execution_ms:.1f} ms execution")
    # One flag per distinct text (COUNT and "reads N rows" can say the same thing twice).
    item.flags = list(dict.fromkeys(item.flags))
    item.notes = list(dict.fromkeys(item.notes))
    item.signature = tuple(signature)


def explain(sql: str, duration_ms: float, table_rows: dict[str, int]) -> Explained:
    from django.db import connection, transaction

    item = Explained(sql=sql, kind=statement_kind(sql), duration_ms=duration_ms, shape=shape_of(sql))
    attempts = [("ANALYZE, BUFFERS", True), ("", False)]
    for options, analyzed in attempts:
        prefix_json = f"EXPLAIN ({options + ', ' if options else ''}FORMAT JSON) "
        prefix_text = f"EXPLAIN ({options}) " if options else "EXPLAIN "
        savepoint = transaction.savepoint()
        try:
            with connection.cursor() as cursor:
                cursor.execute(prefix_json + sql)
                data = cursor.fetchone()[0]
                data = json.loads(data) if isinstance(data, str) else data
            transaction.savepoint_rollback(savepoint)  # writes explained with ANALYZE are undone
            savepoint = transaction.savepoint()
            with connection.cursor() as cursor:
                cursor.execute(prefix_text + sql)
                text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.savepoint_rollback(savepoint)
        except Exception as exc:  # noqa: BLE001 - a failed EXPLAIN is reported, then retried without ANALYZE
            transaction.savepoint_rollback(savepoint)
            item.error = f"EXPLAIN {'ANALYZE ' if analyzed else ''}failed: {str(exc).strip().splitlines()[0]}"
            continue
        item.plan_json = data[0]
        item.plan_text = text
        item.analyzed = analyzed
        item.execution_ms = data[0].get("Execution Time")
        item.planning_ms = data[0].get("Planning Time")
        if analyzed:
            item.error = ""
        elif item.error:
            item.notes.append(item.error.replace("failed", "not possible") + " — plan without ANALYZE")
            item.error = ""
        break
    judge(item, table_rows)
    return item


# --- Fixtures -----------------------------------------------------------------------------------


def pick_fixtures() -> dict:
    """Existing rows the paths use; all chosen by indexed queries with LIMIT."""
    from accounts.models import Role, User
    from accounts.services import user_create

    fx: dict = {}
    # A parent in progress with room, not on a completed bill: child scans and undo.
    row = one("""
        SELECT b.id, b.qr_id, b.dispatch_area_id FROM bags_bag b
        WHERE b.kind = 'parent' AND b.status = 'in_progress' AND b.child_count < 29
          AND b.dispatch_area_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM billing_billbag bb JOIN billing_bill bi ON bi.id = bb.bill_id
                          WHERE bb.parent_id = b.id AND bi.status = 'completed')
        ORDER BY b.created_at DESC LIMIT 1""")
    fx["open_parent_id"], fx["open_parent"], fx["area_id"] = row
    fx["open_child"] = one("SELECT c.qr_id FROM bags_link l JOIN bags_bag c ON c.id = l.child_id "
                           "WHERE l.parent_id = %s ORDER BY l.created_at LIMIT 1", [fx["open_parent_id"]])[0]
    # A full (completed) parent of the same area, not on any bill: capacity refusal, bill adds.
    row = one("""
        SELECT b.id, b.qr_id FROM bags_bag b
        WHERE b.kind = 'parent' AND b.status = 'completed' AND b.dispatch_area_id = %s
          AND NOT EXISTS (SELECT 1 FROM billing_billbag bb WHERE bb.parent_id = b.id)
        ORDER BY b.created_at DESC LIMIT 1""", [fx["area_id"]])
    fx["full_parent_id"], fx["full_parent"] = row
    fx["full_child"] = one("SELECT c.qr_id FROM bags_link l JOIN bags_bag c ON c.id = l.child_id "
                           "WHERE l.parent_id = %s ORDER BY l.created_at DESC LIMIT 1", [fx["full_parent_id"]])[0]
    # The biggest completed bill (detail pages) and any parent on a completed bill.
    fx["big_bill_id"], fx["big_bill"] = one(
        "SELECT id, bill_id FROM billing_bill WHERE status = 'completed' ORDER BY parent_count DESC, id LIMIT 1")
    fx["billed_parent"] = one("SELECT p.qr_id FROM billing_billbag bb JOIN bags_bag p ON p.id = bb.parent_id "
                              "WHERE bb.bill_id = %s LIMIT 1", [fx["big_bill_id"]])[0]
    fx["area_code"] = one("SELECT code FROM accounts_dispatcharea WHERE id = %s", [fx["area_id"]])[0]
    # Codes that do not exist yet.
    for n in range(99999, 0, -1):
        code = f"SB{n:05d}"
        if one("SELECT 1 FROM bags_bag WHERE qr_id = %s", [code]) is None:
            fx["new_parent"] = code
            break
    fx["new_child"] = "BENCHX-" + secrets.token_hex(6).upper()
    fx["new_bill"] = "BENCHX-" + secrets.token_hex(6).upper()
    fx["parent_prefix"] = fx["open_parent"][:5]
    fx["child_prefix"] = fx["open_child"][:6]
    fx["bag_pk"] = fx["full_parent_id"]
    fx["child_pk"] = one("SELECT id FROM bags_bag WHERE qr_id = %s", [fx["full_child"]])[0]
    fx["day"] = one("SELECT (max(timestamp) AT TIME ZONE 'UTC')::date FROM scans_scan")[0]

    # Users: an admin made here (rolled back), the seeded biller and a dispatcher of the area,
    # or made here too when the data set has none.
    fx["admin"] = user_create(actor=None, username="bench_explain_admin_" + secrets.token_hex(3),
                              password=None, role=Role.ADMIN)
    fx["biller"] = (User.objects.filter(role=Role.BILLER, is_active=True).order_by("pk").first()
                    or user_create(actor=None, username="bench_explain_biller", password=None, role=Role.BILLER))
    fx["dispatcher"] = (
        User.objects.filter(role=Role.DISPATCHER, is_active=True, dispatch_area_id=fx["area_id"]).order_by("pk").first()
        or user_create(actor=None, username="bench_explain_dispatcher", password=None, role=Role.DISPATCHER,
                       dispatch_area=fx["area_code"])
    )
    return fx


# --- Paths ----------------------------------------------------------------------------------------


@dataclass
class Path_:
    name: str
    role: str
    method: str
    url: str
    body: dict | None = None
    expect: tuple[int, ...] = (200,)
    # Filled in by the run.
    status: int | None = None
    wall_ms: float = 0.0
    queries: list[Explained] = field(default_factory=list)
    skipped_sql: list[str] = field(default_factory=list)
    note: str = ""
    error: str = ""


def admin_urls(fx: dict) -> list[Path_]:
    """Every registered model's changelist (from the admin site), plus searches, filters,
    the date hierarchy, change forms and the back-office GET pages."""
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    paths = [Path_("admin index", "admin", "GET", reverse("admin:index"))]
    searches = {
        "bags.bag": [{"q": fx["parent_prefix"]}, {"q": fx["full_parent"]}, {"kind__exact": "parent", "status__exact": "completed"},
                     {"dispatch_area__id__exact": fx["area_id"]}],
        "bags.link": [{"q": fx["full_child"]}],
        "scans.scan": [{"q": fx["open_parent"]}, {"kind__exact": "child", "dispatch_area__id__exact": fx["area_id"]},
                       {"timestamp__year": fx["day"].year, "timestamp__month": fx["day"].month,
                        "timestamp__day": fx["day"].day}],
        "billing.bill": [{"q": "SEED-0000"}, {"status__exact": "completed"},
                         {"created_at__year": fx["day"].year, "created_at__month": fx["day"].month}],
        "billing.billbag": [{"q": fx["big_bill"]}],
        "accounts.auditlog": [{"q": fx["full_parent"]}],
        "accounts.user": [{"q": "seed"}],
    }
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label_lower):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        paths.append(Path_(f"admin changelist {opts.label_lower}", "admin", "GET", url))
        for query in searches.get(opts.label_lower, []):
            paths.append(Path_(f"admin changelist {opts.label_lower} ?{urlencode(query)}", "admin", "GET",
                               f"{url}?{urlencode(query)}"))
    for label, name, pk in [("parent bag (children inline)", "admin:bags_bag_change", fx["bag_pk"]),
                            ("child bag", "admin:bags_bag_change", fx["child_pk"]),
                            ("biggest bill (parents inline)", "admin:billing_bill_change", fx["big_bill_id"])]:
        paths.append(Path_(f"admin change form: {label}", "admin", "GET", reverse(name, args=[pk])))
    for name, query in [("admin:backoffice_import_bags", ""), ("admin:backoffice_import_bills", ""),
                        ("admin:bags_bag_labels", ""), ("admin:bags_bag_labels", "?start=SB00001&count=24")]:
        try:
            paths.append(Path_(f"admin page {name}{query}", "admin", "GET", reverse(name) + query))
        except NoReverseMatch:
            pass
    return paths


def build_paths(fx: dict) -> list[Path_]:
    now = fx["now"]
    since = (now - timedelta(days=2)).isoformat()
    paths = [
        # Bags
        Path_("GET /api/v1/bags/<parent>/ (admin)", "admin", "GET", f"/api/v1/bags/{fx['full_parent']}/"),
        Path_("GET /api/v1/bags/<child>/ (dispatcher, own area)", "dispatcher", "GET",
              f"/api/v1/bags/{fx['full_child'].lower()}/"),
        Path_("GET /api/v1/bags/ (admin, first page)", "admin", "GET", "/api/v1/bags/"),
        Path_("GET /api/v1/bags/?kind=parent&status=in_progress", "admin", "GET",
              "/api/v1/bags/?kind=parent&status=in_progress"),
        Path_("GET /api/v1/bags/?dispatch_area=<area>", "admin", "GET", f"/api/v1/bags/?dispatch_area={fx['area_code']}"),
        Path_("GET /api/v1/bags/?search=<parent prefix>", "admin", "GET", f"/api/v1/bags/?search={fx['parent_prefix']}"),
        Path_("GET /api/v1/bags/?search=<child prefix> (dispatcher)", "dispatcher", "GET",
              f"/api/v1/bags/?search={fx['child_prefix']}"),
        Path_("GET /api/v1/bags/?kind=parent&billed=false", "admin", "GET", "/api/v1/bags/?kind=parent&billed=false"),
        Path_("GET /api/v1/bags/?linked=false", "admin", "GET", "/api/v1/bags/?linked=false"),
        Path_("GET /api/v1/bags/ (dispatcher, own area)", "dispatcher", "GET", "/api/v1/bags/"),
        Path_("GET /api/v1/bags/ page 2 (cursor)", "admin", "GET", "next:/api/v1/bags/"),
        Path_("GET /api/v1/bags/?kind=child page 2 (cursor)", "admin", "GET", "next:/api/v1/bags/?kind=child"),
        # Scans: the writes, in an order where each finds what it needs.
        Path_("POST /api/v1/scans/parent/ (new parent)", "dispatcher", "POST", "/api/v1/scans/parent/",
              {"qr_id": fx["new_parent"], "scan_id": str(uuid.uuid4())}, (201,)),
        Path_("POST /api/v1/scans/parent/ (existing parent)", "dispatcher", "POST", "/api/v1/scans/parent/",
              {"qr_id": fx["open_parent"]}, (200,)),
        Path_("POST /api/v1/scans/child/ (new child)", "dispatcher", "POST", "/api/v1/scans/child/",
              {"parent": fx["open_parent"], "qr_id": fx["new_child"], "scan_id": str(uuid.uuid4())}, (201,)),
        Path_("POST /api/v1/scans/child/ (duplicate)", "dispatcher", "POST", "/api/v1/scans/child/",
              {"parent": fx["open_parent"], "qr_id": fx["open_child"]}, (200,)),
        Path_("POST /api/v1/scans/child/ (refused: already_linked)", "dispatcher", "POST", "/api/v1/scans/child/",
              {"parent": fx["open_parent"], "qr_id": fx["full_child"]}, (409,)),
        Path_("POST /api/v1/scans/child/ (refused: capacity_reached)", "dispatcher", "POST", "/api/v1/scans/child/",
              {"parent": fx["full_parent"], "qr_id": "BENCHX-" + secrets.token_hex(5).upper()}, (409,)),
        Path_("POST /api/v1/scans/child/ (refused: bill_completed)", "admin", "POST", "/api/v1/scans/child/",
              {"parent": fx["billed_parent"], "qr_id": "BENCHX-" + secrets.token_hex(5).upper()}, (409,)),
        Path_("POST /api/v1/scans/undo/", "dispatcher", "POST", "/api/v1/scans/undo/",
              {"parent": fx["open_parent"]}, (200,)),
        Path_("POST /api/v1/scans/undo/ (nothing to undo)", "dispatcher", "POST", "/api/v1/scans/undo/",
              {"parent": fx["full_parent"]}, (409,)),
        # Scan lists
        Path_("GET /api/v1/scans/ (admin, newest page)", "admin", "GET", "/api/v1/scans/"),
        Path_("GET /api/v1/scans/ (dispatcher, own area)", "dispatcher", "GET", "/api/v1/scans/"),
        Path_("GET /api/v1/scans/ page 2 (cursor)", "admin", "GET", "next:/api/v1/scans/"),
        Path_("GET /api/v1/scans/ page 5 (deeper cursor)", "admin", "GET", "next4:/api/v1/scans/"),
        Path_("GET /api/v1/scans/?parent=<parent>", "admin", "GET", f"/api/v1/scans/?parent={fx['full_parent']}"),
        Path_("GET /api/v1/scans/?bag=<child>", "admin", "GET", f"/api/v1/scans/?bag={fx['full_child']}"),
        Path_("GET /api/v1/scans/?user=<dispatcher>", "admin", "GET",
              f"/api/v1/scans/?user={fx['dispatcher'].username}"),
        Path_("GET /api/v1/scans/?dispatch_area=<area>&kind=child&since=<2 days>", "admin", "GET",
              "/api/v1/scans/?" + urlencode({"dispatch_area": fx["area_code"], "kind": "child", "since": since})),
        Path_("GET /api/v1/scans/?user=<dispatcher> page 3 (cursor)", "admin", "GET",
              f"next2:/api/v1/scans/?user={fx['dispatcher'].username}"),
        # Stats
        Path_("GET /api/v1/stats/ (admin, global)", "admin", "GET", "/api/v1/stats/"),
        Path_("GET /api/v1/stats/ (dispatcher, own area)", "dispatcher", "GET", "/api/v1/stats/"),
        # Bills
        Path_("GET /api/v1/bills/", "biller", "GET", "/api/v1/bills/"),
        Path_("GET /api/v1/bills/?status=completed&search=SEED", "biller", "GET",
              "/api/v1/bills/?status=completed&search=SEED"),
        Path_("GET /api/v1/bills/ page 2 (cursor)", "biller", "GET", "next:/api/v1/bills/"),
        Path_("GET /api/v1/bills/<biggest>/", "biller", "GET", f"/api/v1/bills/{fx['big_bill']}/"),
        Path_("GET /api/v1/bills/summary/", "biller", "GET", f"/api/v1/bills/summary/?date={fx['day']}"),
        Path_("POST /api/v1/bills/ (create)", "biller", "POST", "/api/v1/bills/",
              {"bill_id": fx["new_bill"], "capacity": 1, "destination": "Bench", "vehicle_number": "BENCH-1"}, (201,)),
        Path_("POST /api/v1/bills/<new>/parents/ (add parent)", "biller", "POST", f"/api/v1/bills/{fx['new_bill']}/parents/",
              {"qr_id": fx["full_parent"], "scan_id": str(uuid.uuid4())}, (201,)),
        Path_("POST /api/v1/bills/<new>/parents/ (duplicate)", "biller", "POST", f"/api/v1/bills/{fx['new_bill']}/parents/",
              {"qr_id": fx["full_parent"]}, (200,)),
        Path_("POST /api/v1/bills/<biggest>/parents/ (refused: bill_completed)", "biller", "POST",
              f"/api/v1/bills/{fx['big_bill']}/parents/", {"qr_id": fx["open_parent"]}, (409,)),
        Path_("POST /api/v1/bills/<new>/complete/", "biller", "POST", f"/api/v1/bills/{fx['new_bill']}/complete/", None),
        Path_("POST /api/v1/bills/<new>/reopen/", "biller", "POST", f"/api/v1/bills/{fx['new_bill']}/reopen/", None),
        # Pages
        Path_("GET /lookup/?q=<parent> (dispatcher)", "dispatcher", "GET", f"/lookup/?q={fx['open_parent']}"),
        Path_("GET /lookup/?q=<child> (admin)", "admin", "GET", f"/lookup/?q={fx['full_child']}"),
        Path_("GET /lookup/?q=<prefix> (suggestions)", "admin", "GET", f"/lookup/?q={fx['parent_prefix']}"),
        Path_("GET /scan/ (dispatcher)", "dispatcher", "GET", "/scan/"),
        Path_("GET /scan/<parent>/ (dispatcher)", "dispatcher", "GET", f"/scan/{fx['open_parent']}/"),
        Path_("GET /scan/<billed parent>/ (admin)", "admin", "GET", f"/scan/{fx['billed_parent']}/"),
        Path_("GET /dashboard/ (admin)", "admin", "GET", "/dashboard/"),
        Path_("GET /dashboard/?fragment=1 (biller, refresh)", "biller", "GET", "/dashboard/?fragment=1"),
        Path_("GET /bills/ (biller)", "biller", "GET", "/bills/"),
        Path_("GET /bills/?status=completed (biller)", "biller", "GET", "/bills/?status=completed"),
        Path_("GET /bills/ page 2 (biller)", "biller", "GET", "nextpage:/bills/"),
        Path_("GET /bills/<biggest>/ (biller)", "biller", "GET", f"/bills/{fx['big_bill']}/"),
        Path_("GET /bills/summary/ (biller)", "biller", "GET", f"/bills/summary/?date={fx['day']}"),
    ]
    return paths + admin_urls(fx)


def resolve_url(client, url: str) -> str:
    """`nextN:<url>`: follow the API's `next` link N times (N=1 when omitted);
    `nextpage:<url>`: the keyset page after the first one of an HTML list."""
    match = re.match(r"next(\d*):(.*)", url)
    if match:
        hops, url = int(match.group(1) or 1), match.group(2)
        for _ in range(hops):
            response = client.get(url)
            link = response.json()["next"]
            if not link:
                raise RuntimeError(f"no next page after {url}")
            parts = urlsplit(link)
            url = parts.path + ("?" + parts.query if parts.query else "")
        return url
    match = re.match(r"nextpage:(.*)", url)
    if match:
        url = match.group(1)
        html = client.get(url).content.decode()
        found = re.search(r'[?&]cursor=([^"&]+)', html)
        if not found:
            raise RuntimeError(f"no next page link in {url}")
        return f"{url}?cursor={found.group(1)}"
    return url


def run_path(path: Path_, client, table_rows: dict[str, int]) -> None:
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    savepoint = transaction.savepoint()
    try:
        url = resolve_url(client, path.url)
        path.url = url
        cache.clear()  # computed, not cached: the SQL of a cache miss is what must be fast
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            if path.method == "GET":
                response = client.get(url)
            else:
                response = client.post(url, data=json.dumps(path.body) if path.body is not None else "",
                                       content_type="application/json")
            path.wall_ms = (time.perf_counter() - started) * 1000
        path.status = response.status_code
        if path.status not in path.expect:
            body = response.content[:300].decode(errors="replace")
            path.note = f"unexpected status {path.status} (expected {'/'.join(map(str, path.expect))}): {body}"
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # the transaction is still usable
    except Exception as exc:  # noqa: BLE001 - one broken path is reported, the others still run
        transaction.savepoint_rollback(savepoint)
        path.error = "".join(traceback.format_exception_only(exc)).strip()
        return
    seen = set()
    for query in captured.captured_queries:
        sql = query["sql"] or ""
        if sql.upper().startswith(SKIP_PREFIXES) or not sql.strip():
            if sql.upper().startswith("EXPLAIN"):
                path.skipped_sql.append(sql)
            continue
        if sql in seen:
            continue
        seen.add(sql)
        path.queries.append(explain(sql, float(query.get("time") or 0) * 1000, table_rows))
    transaction.savepoint_commit(savepoint)  # the next paths see this one's writes


# --- Report ---------------------------------------------------------------------------------------


def verdict(path: Path_) -> str:
    if path.error:
        return "ERROR"
    flags = [flag for q in path.queries for flag in q.flags]
    if flags:
        return "FLAG: " + "; ".join(dict.fromkeys(flags))
    notes = [n for q in path.queries for n in q.notes if "Seq Scan" in n]
    if notes:
        small = sorted({re.search(r"`([^`]+)`", n).group(1) for n in notes})
        watch = sorted({re.search(r"`([^`]+)`", n).group(1) for n in notes if "watch" in n})
        text = f"OK — indexes (seq scans only on small tables: {', '.join(small)})"
        return text + (f"; watch: {', '.join(watch)} (small now)" if watch else "")
    return "OK — indexes"


def anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def write_report(out: Path, paths: list[Path_], fx: dict, table_rows: dict[str, int], db_name: str, elapsed: float):
    lines = [
        "# EXPLAIN of every hot query",
        "",
        f"Database `{db_name}`: {table_rows.get('bags_bag', 0):,} bags, {table_rows.get('bags_link', 0):,} links, "
        f"{table_rows.get('scans_scan', 0):,} scans, {table_rows.get('billing_bill', 0):,} bills, "
        f"{table_rows.get('billing_billbag', 0):,} bill places (pg_class estimates). "
        f"Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} in {elapsed:.0f} s.",
        "",
        "Each path ran through the real code (Django test client, logged in as the role shown) inside one "
        "transaction rolled back at the end; the cache was cleared before each request so that cached reads "
        "show their SQL. Every distinct statement was then run again under `EXPLAIN (ANALYZE, BUFFERS)` in "
        "the same transaction (writes inside a savepoint rolled back at once; a write that cannot run twice, "
        "such as an INSERT of a unique code, gets a plain `EXPLAIN`). Timings are from a shared, busy 2-core "
        "machine.",
        "",
        f"Verdict rules: a Seq Scan on a table of ≥ {BIG_TABLE_ROWS:,} rows, any node reading > {MANY_ROWS:,} "
        f"rows of a big table, a Sort over > {SORT_ROWS:,} rows, a COUNT over > {MANY_ROWS:,} rows, or an "
        f"execution > {SLOW_MS:.0f} ms is flagged. A Seq Scan on a small table (areas, users, counters, groups) "
        "is fine and only noted.",
        "",
        "Fixtures: " + ", ".join(f"{k}=`{fx[k]}`" for k in (
            "open_parent", "open_child", "full_parent", "full_child", "billed_parent", "big_bill", "area_code",
            "new_parent", "new_child", "new_bill") if k in fx)
        + f"; users: admin `{fx['admin'].username}` (made in the transaction), biller `{fx['biller'].username}`, "
        f"dispatcher `{fx['dispatcher'].username}`.",
        "",
        "## Summary",
        "",
        "| # | path | role | status | queries | SQL ms (captured) | slowest EXPLAIN ms | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, path in enumerate(paths, 1):
        sql_ms = sum(q.duration_ms for q in path.queries)
        worst = max((q.execution_ms or 0 for q in path.queries), default=0)
        status = str(path.status) if path.status is not None else "—"
        if path.note:
            status += " ⚠"
        lines.append(f"| {i} | [{path.name}](#{anchor(f'p{i} ' + path.name)}) | {path.role} | {status} | "
                     f"{len(path.queries)} | {sql_ms:.1f} | {worst:.1f} | {verdict(path)} |")
    flagged = [(i, p) for i, p in enumerate(paths, 1) if verdict(p).startswith(("FLAG", "ERROR")) or p.note]
    lines += ["", "## Findings", ""]
    if not flagged:
        lines.append("No hot query reads a big table without an index; no flags.")
    for i, path in flagged:
        lines.append(f"- **{path.name}** (#{i}): {verdict(path)}" + (f" — {path.note}" if path.note else "")
                     + (f" — {path.error}" if path.error else ""))
        for q in path.queries:
            if q.flags:
                lines.append(f"  - `{q.sql[:300]}{'…' if len(q.sql) > 300 else ''}` → {'; '.join(q.flags)}")
    lines += ["", "## Paths", ""]
    first_plan: dict[tuple, str] = {}
    for i, path in enumerate(paths, 1):
        lines += [f"### p{i} {path.name}", "",
                  f"`{path.method} {path.url}` as **{path.role}** → status {path.status}, "
                  f"{path.wall_ms:.1f} ms in-process, {len(path.queries)} distinct statements. "
                  f"Verdict: **{verdict(path)}**", ""]
        if path.body is not None:
            lines += [f"Body: `{json.dumps(path.body)}`", ""]
        if path.note:
            lines += [f"⚠ {path.note}", ""]
        if path.error:
            lines += ["```text", path.error, "```", ""]
        for j, q in enumerate(path.queries, 1):
            tag = f"p{i}.q{j}"
            timing = (f"execution {q.execution_ms:.2f} ms, planning {q.planning_ms:.2f} ms"
                      if q.execution_ms is not None else "not executed (plain EXPLAIN)")
            verdict_q = ("FLAG: " + "; ".join(q.flags)) if q.flags else "OK" + (
                f" ({'; '.join(q.notes)})" if q.notes else "")
            key = (q.shape, q.signature)
            if key in first_plan and not q.flags and not q.error:
                lines += [f"**{tag}** {q.kind} — same statement shape and plan as {first_plan[key]}; {timing}; "
                          f"{verdict_q}", ""]
                continue
            lines += [f"**{tag}** {q.kind} — captured ≈{q.duration_ms:.0f} ms; {timing}; {verdict_q}", "",
                      "```sql", q.sql if q.flags else compact_sql(q.sql), "```", ""]
            if q.error:
                lines += [f"EXPLAIN failed: {q.error}", ""]
            else:
                first_plan.setdefault(key, tag)
                lines += [f"<details{' open' if q.flags else ''}><summary>plan {tag}</summary>", "",
                          "```text", q.plan_text, "```", "", "</details>", ""]
        for sql in path.skipped_sql:
            lines += ["Not explained (the paginator's own planner estimate): "
                      f"`{sql[:200]}{'…' if len(sql) > 200 else ''}`", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(args.database_url)
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    if connection.vendor != "postgresql":
        print("explain.py needs PostgreSQL", file=sys.stderr)
        return 2
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT relname, reltuples::bigint FROM pg_class WHERE relkind IN ('r', 'p') "
                       "AND relnamespace = 'public'::regnamespace")
        table_rows = {name: max(int(rows), 0) for name, rows in cursor.fetchall()}
    paths: list[Path_] = []

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            fx = pick_fixtures()
            fx["now"] = timezone.now()
            clients = {}
            for role in ("admin", "biller", "dispatcher"):
                clients[role] = Client(raise_request_exception=False)
                clients[role].force_login(fx[role])
            paths = build_paths(fx)
            for n, path in enumerate(paths, 1):
                run_path(path, clients[path.role], table_rows)
                flag = verdict(path)
                print(f"[{n}/{len(paths)}] {path.status} {path.name}: {flag[:110]}", flush=True)
            write_report(Path(args.out), paths, fx, table_rows, connection.settings_dict["NAME"],
                         time.perf_counter() - started)
            raise Rollback
    except Rollback:
        pass
    errors = [p for p in paths if p.error]
    print(f"wrote {Path(args.out).resolve()} ({len(paths)} paths, "
          f"{sum(1 for p in paths if verdict(p).startswith('FLAG'))} flagged, {len(errors)} errors)")
    return 1 if errors and len(errors) == len(paths) else 0


if __name__ == "__main__":
    sys.exit(main())
