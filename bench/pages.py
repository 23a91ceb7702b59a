"""Benchmark stage "Admin changelists and operator pages timed at 1M bags": every admin
changelist (from the admin site's registry), a change form per big model, searches, filters,
the date hierarchy, the import and label pages, and every operator/biller page, each
requested N times after a few warm-up requests; p50/p95/max per page against a 300 ms budget.

Against a running server (what production sees: gunicorn, Redis cache and sessions):

    .venv/bin/python bench/pages.py --base-url http://127.0.0.1:8123 \
        --database-url postgres://postgres@127.0.0.1:5432/tt_bench_1m --out bench/tmp/pages.md

or in-process (Django test client, no server) when --base-url is omitted.

The script needs the server's database (DATABASE_URL) only to pick pages to visit and to
create its users, `bench_pages_admin` and `bench_pages_dispatcher`, whose passwords it sets
to a new random value each run. It then logs in over HTTP like a person (admin login page,
operator login page), so the session is whatever the server makes — no need to share its
SECRET_KEY, REDIS_URL or CACHE_KEY_PREFIX (a session made outside the server would be signed
with SECRET_KEY and must match all three).
"""

import argparse
import os
import re
import secrets
import statistics
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from benchdb import one  # bench/benchdb.py: the scripts run with bench/ on sys.path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_USER = "bench_pages_admin"
DISPATCHER_USER = "bench_pages_dispatcher"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=None,
                        help="a running server, e.g. http://127.0.0.1:8000 (default: in-process test client)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the server's database (default: $DATABASE_URL)")
    parser.add_argument("-n", "--requests", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed requests per page first (default 3)")
    parser.add_argument("--budget-ms", type=float, default=300.0, help="pass when p95 is under this (default 300)")
    parser.add_argument("--export-requests", type=int, default=3,
                        help="timed requests (time to first byte) per whole-table export; 0 skips them")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request over HTTP")
    parser.add_argument("--export-timeout", type=float, default=30.0,
                        help="seconds to wait for an export's first byte (XLSX is built whole first; default 30)")
    parser.add_argument("--out", default=str(ROOT / "bench" / "tmp" / "pages.md"), help="markdown report")
    args = parser.parse_args(argv)
    if not args.database_url:
        parser.error("--database-url (or DATABASE_URL) is required")
    if args.requests < 1 or args.warmup < 0:
        parser.error("--requests must be ≥ 1 and --warmup ≥ 0")
    return args


def setup_django(args) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tracetrack.settings"
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DB_POOL"] = "0"
    if args.base_url is None:
        # In-process: production-like settings, served to the test client's host name.
        os.environ["DEBUG"] = "0"
        os.environ["HTTPS"] = "0"
        os.environ["STATIC_MANIFEST"] = "0"
        os.environ["ALLOWED_HOSTS"] = "testserver,localhost,127.0.0.1"
        os.environ["RATELIMIT_ENABLE"] = "0"
        os.environ["DEBUG_TOOLBAR"] = "0"
        warnings.filterwarnings("ignore", message="No directory at")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


# --- Data -----------------------------------------------------------------------------------


def pick_fixtures() -> dict:
    fx: dict = {}
    fx["open_parent"], fx["area_id"] = one("""
        SELECT qr_id, dispatch_area_id FROM bags_bag
        WHERE kind = 'parent' AND status = 'in_progress' AND dispatch_area_id IS NOT NULL
        ORDER BY created_at DESC LIMIT 1""")
    fx["parent_pk"], fx["full_parent"] = one("""
        SELECT id, qr_id FROM bags_bag WHERE kind = 'parent' AND status = 'completed'
        ORDER BY created_at DESC LIMIT 1""")
    fx["child_pk"], fx["child"] = one("""
        SELECT c.id, c.qr_id FROM bags_link l JOIN bags_bag c ON c.id = l.child_id
        WHERE l.parent_id = %s ORDER BY l.created_at LIMIT 1""", [fx["parent_pk"]])
    fx["area_code"] = one("SELECT code FROM accounts_dispatcharea WHERE id = %s", [fx["area_id"]])[0]
    fx["bill_pk"], fx["bill"] = one("SELECT id, bill_id FROM billing_bill ORDER BY parent_count DESC, id LIMIT 1") \
        or (None, None)
    fx["day"] = one("SELECT (max(timestamp) AT TIME ZONE 'UTC')::date FROM scans_scan")[0]
    fx["parent_prefix"] = fx["full_parent"][:5]
    fx["bill_prefix"] = (fx["bill"] or "")[:6]
    return fx


def bench_users() -> tuple[dict, dict]:
    """The bench admin and dispatcher, made once, with a fresh random password each run."""
    from accounts.models import DispatchArea, Role, User
    from accounts.services import user_create

    fx_area = DispatchArea.objects.order_by("pk").first()
    logins = {}
    for username, role in ((ADMIN_USER, Role.ADMIN), (DISPATCHER_USER, Role.DISPATCHER)):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = user_create(actor=None, username=username, password=None, role=role,
                               dispatch_area=fx_area.code if role == Role.DISPATCHER else None)
        password = secrets.token_urlsafe(24)
        user.set_password(password)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        logins[role] = {"user": user, "password": password}
    return logins[Role.ADMIN], logins[Role.DISPATCHER]


# --- Pages ------------------------------------------------------------------------------------


@dataclass
class Page:
    group: str
    name: str
    url: str
    who: str = "admin"
    export: bool = False
    statuses: list[int] = field(default_factory=list)
    times_ms: list[float] = field(default_factory=list)
    size: int = 0
    error: str = ""


def build_pages(fx: dict) -> list[Page]:
    from django.contrib import admin
    from django.urls import NoReverseMatch, reverse

    day = fx["day"]
    pages = [Page("admin", "admin index", reverse("admin:index"))]
    extra = {
        "bags.bag": [("search by prefix", {"q": fx["parent_prefix"]}), ("search by code", {"q": fx["full_parent"]}),
                     ("filter kind+status", {"kind__exact": "parent", "status__exact": "completed"}),
                     ("filter area", {"dispatch_area__id__exact": fx["area_id"]})],
        "bags.link": [("search by child", {"q": fx["child"]})],
        "scans.scan": [("search by parent", {"q": fx["full_parent"]}),
                       ("filter kind+area", {"kind__exact": "child", "dispatch_area__id__exact": fx["area_id"]}),
                       ("date hierarchy year", {"timestamp__year": day.year}),
                       ("date hierarchy month", {"timestamp__year": day.year, "timestamp__month": day.month}),
                       ("date hierarchy day", {"timestamp__year": day.year, "timestamp__month": day.month,
                                               "timestamp__day": day.day})],
        "billing.bill": [("search by prefix", {"q": fx["bill_prefix"]}), ("filter status", {"status__exact": "completed"}),
                         ("date hierarchy month", {"created_at__year": day.year, "created_at__month": day.month})],
        "billing.billbag": [("search by bill", {"q": fx["bill"]})],
        "accounts.auditlog": [("search", {"q": fx["full_parent"]}), ("date hierarchy year", {"timestamp__year": day.year})],
        "accounts.user": [("search", {"q": "seed"})],
    }
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label_lower):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        pages.append(Page("admin", f"changelist {opts.label_lower}", url))
        for label, query in extra.get(opts.label_lower, []):
            pages.append(Page("admin", f"changelist {opts.label_lower}: {label}", f"{url}?{urlencode(query)}"))
    changes = [("change form: parent bag (children inline)", "admin:bags_bag_change", fx["parent_pk"]),
               ("change form: child bag", "admin:bags_bag_change", fx["child_pk"]),
               ("change form: biggest bill (parents inline)", "admin:billing_bill_change", fx["bill_pk"])]
    for label, name, pk in changes:
        if pk is not None:
            pages.append(Page("admin", label, reverse(name, args=[pk])))
    for label, name, query in [("bag import (GET)", "admin:backoffice_import_bags", ""),
                               ("bill import (GET)", "admin:backoffice_import_bills", ""),
                               ("labels form", "admin:bags_bag_labels", ""),
                               ("labels: 24 codes", "admin:bags_bag_labels", "?start=SB00001&count=24")]:
        try:
            pages.append(Page("admin", label, reverse(name) + query))
        except NoReverseMatch:
            pass
    for dataset in ("bags", "scans", "bills"):
        for fmt in ("csv", "xlsx"):
            try:
                url = reverse("admin:tracetrack_export", args=[dataset, fmt])
            except NoReverseMatch:
                continue
            pages.append(Page("export", f"export all {dataset}.{fmt} (time to first byte)", url, export=True))

    operator = [
        ("/scan/", "/scan/", "admin"),
        ("/scan/<parent>/ (in progress)", f"/scan/{fx['open_parent']}/", "admin"),
        ("/scan/<parent>/ (full)", f"/scan/{fx['full_parent']}/", "admin"),
        ("/lookup/?q=<parent>", f"/lookup/?q={fx['full_parent']}", "admin"),
        ("/lookup/?q=<child>", f"/lookup/?q={fx['child']}", "admin"),
        ("/lookup/?q=<prefix> (suggestions)", f"/lookup/?q={fx['parent_prefix']}", "admin"),
        ("/scan/ (dispatcher)", "/scan/", "dispatcher"),
        ("/lookup/?q=<prefix> (dispatcher)", f"/lookup/?q={fx['parent_prefix']}", "dispatcher"),
        ("/bills/", "/bills/", "admin"),
        ("/bills/?status=completed", "/bills/?status=completed", "admin"),
        ("/bills/new/", "/bills/new/", "admin"),
        ("/bills/summary/", "/bills/summary/", "admin"),
        (f"/bills/summary/?date={day}", f"/bills/summary/?date={day}", "admin"),
        ("/dashboard/", "/dashboard/", "admin"),
        ("/dashboard/?fragment=1 (refresh)", "/dashboard/?fragment=1", "admin"),
        ("/ (home)", "/", "admin"),
    ]
    if fx["bill"]:
        operator.insert(10, ("/bills/<biggest>/", f"/bills/{fx['bill']}/", "admin"))
    # The dispatcher's own-area pages use a parent of their area when there is one.
    pages += [Page("operator", name, url, who) for name, url, who in operator]
    return pages


# --- Clients ----------------------------------------------------------------------------------


class HttpClient:
    """A logged-in browser-like session over HTTP (keep-alive, no redirects followed)."""

    def __init__(self, base_url: str, timeout: float):
        import requests

        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()

    def login(self, login_path: str, username: str, password: str, next_path: str) -> None:
        self.credentials = (login_path, username, password, next_path)
        page = self.session.get(self.base + login_path, timeout=self.timeout)
        if page.status_code != 200:
            hint = (" (with DEBUG=0 the server needs `collectstatic` or STATIC_MANIFEST=0: "
                    "every template using {% static %} fails without the manifest)") if page.status_code == 500 else ""
            raise RuntimeError(f"{login_path} answered {page.status_code}{hint}")
        token = self.session.cookies.get("csrftoken")
        if token is None:
            found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
            token = found.group(1) if found else ""
        response = self.session.post(
            self.base + login_path,
            data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": next_path},
            headers={"Referer": self.base + login_path}, allow_redirects=False, timeout=self.timeout,
        )
        if response.status_code != 302:
            raise RuntimeError(f"login as {username} at {login_path} answered {response.status_code}: "
                               f"{response.text[:300]}")

    relogins = 0
    _to_login = False

    def get(self, path: str, *, first_byte_only: bool = False, timeout: float | None = None) -> tuple[int, int, float]:
        result = self._get(path, first_byte_only=first_byte_only, timeout=timeout)
        if result[0] == 302 and self._to_login:
            # The session vanished (another process cleared the shared session store, say): log in
            # again and measure once more, so that one wipe does not spoil the rest of the run.
            self.relogins += 1
            self.login(*self.credentials)
            result = self._get(path, first_byte_only=first_byte_only, timeout=timeout)
        return result

    def _get(self, path: str, *, first_byte_only: bool, timeout: float | None) -> tuple[int, int, float]:
        timeout = timeout or self.timeout
        started = time.perf_counter()
        if first_byte_only:
            with self.session.get(self.base + path, allow_redirects=False, stream=True, timeout=timeout) as r:
                self._to_login = "login" in r.headers.get("Location", "")
                chunk = next(r.iter_content(1024), b"")
                elapsed = time.perf_counter() - started
                return r.status_code, len(chunk), elapsed * 1000
        response = self.session.get(self.base + path, allow_redirects=False, timeout=timeout)
        self._to_login = "login" in response.headers.get("Location", "")
        body = response.content
        return response.status_code, len(body), (time.perf_counter() - started) * 1000


class InProcessClient:
    """The Django test client, logged in with force_login."""

    def __init__(self):
        from django.test import Client

        self.client = Client(raise_request_exception=False)

    def login(self, login_path: str, username: str, password: str, next_path: str) -> None:
        from accounts.models import User

        self.client.force_login(User.objects.get(username=username))

    relogins = 0

    def get(self, path: str, *, first_byte_only: bool = False, timeout: float | None = None) -> tuple[int, int, float]:
        started = time.perf_counter()
        response = self.client.get(path)
        if first_byte_only and response.streaming:
            chunk = next(iter(response.streaming_content), b"")
            response.close()
            return response.status_code, len(chunk), (time.perf_counter() - started) * 1000
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, len(body), (time.perf_counter() - started) * 1000


def measure(page: Page, client, warmup: int, count: int, timeout: float | None = None) -> None:
    try:
        for _ in range(warmup):
            client.get(page.url, first_byte_only=page.export, timeout=timeout)
        for _ in range(count):
            status, size, ms = client.get(page.url, first_byte_only=page.export, timeout=timeout)
            page.statuses.append(status)
            page.times_ms.append(ms)
            page.size = size
    except Exception as exc:  # noqa: BLE001 - a page that fails is reported, the others still run
        page.error = f"{type(exc).__name__}: {exc}"[:300]
        if "timed out" in str(exc).lower():
            page.error = f"no answer within {timeout or 'the'} s (read timeout)"


# --- Report -----------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = share * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def passed(page: Page, budget: float) -> bool:
    return not page.error and bool(page.times_ms) and all(s == 200 for s in page.statuses) \
        and percentile(page.times_ms, 0.95) < budget


def write_report(out: Path, pages: list[Page], args, fx: dict, counts: dict, elapsed: float) -> None:
    mode = f"against `{args.base_url}`" if args.base_url else "in-process (Django test client, no server)"
    lines = [
        "# Admin changelists and operator pages",
        "",
        f"{mode}; database with {counts['bags']:,} bags, {counts['scans']:,} scans, {counts['bills']:,} bills "
        f"(estimates). Each page: {args.warmup} warm-up requests, then {args.requests} timed requests one after "
        f"another over one keep-alive session; time = request sent → whole body read. Exports stream the whole "
        f"table: {args.export_requests} timed requests each, time to the first byte only. Logged in as "
        f"`{ADMIN_USER}` (admin) or `{DISPATCHER_USER}` (dispatcher, area `{fx['dispatcher_area']}`). "
        f"**Pass** = every answer 200 and p95 < {args.budget_ms:.0f} ms. The machine (2 cores) was shared with "
        f"other work: figures are indicative. Generated {time.strftime('%Y-%m-%d %H:%M:%S %Z')} "
        f"in {elapsed:.0f} s." + (f" The session had to be made again {fx['relogins']} time(s) during the run "
                                  "(another process cleared the shared session store)." if fx.get("relogins") else ""),
        "",
    ]
    failed = [p for p in pages if not p.export and not passed(p, args.budget_ms)]
    lines += [f"**{len([p for p in pages if not p.export]) - len(failed)} of {len([p for p in pages if not p.export])} "
              f"pages pass**" + (": failing — " + ", ".join(f"`{p.name}`" for p in failed) if failed else "."), ""]
    for group, title in (("admin", "Admin"), ("operator", "Operator and biller pages"), ("export", "Exports")):
        chosen = [p for p in pages if p.group == group]
        if not chosen:
            continue
        lines += [f"## {title}", "", "| page | as | URL | status | p50 ms | p95 ms | max ms | bytes | result |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for p in chosen:
            statuses = ",".join(f"{s}×{p.statuses.count(s)}" if len(set(p.statuses)) > 1 else str(s)
                                for s in sorted(set(p.statuses))) or "—"
            if p.error:
                result = f"ERROR {p.error}"
            elif p.export:
                result = "ok" if all(s == 200 for s in p.statuses) else "FAIL (status)"
            else:
                result = "pass" if passed(p, args.budget_ms) else "**FAIL**"
            url = p.url if len(p.url) < 90 else p.url[:87] + "…"
            lines.append(
                f"| {p.name} | {p.who} | `{url}` | {statuses} | {percentile(p.times_ms, 0.5):.0f} | "
                f"{percentile(p.times_ms, 0.95):.0f} | {max(p.times_ms, default=0):.0f} | {p.size:,} | {result} |")
        lines.append("")
    slow = sorted((p for p in pages if p.times_ms and not p.export), key=lambda p: -statistics.median(p.times_ms))[:5]
    lines += ["Slowest by p50: " + ", ".join(f"`{p.name}` {percentile(p.times_ms, 0.5):.0f} ms" for p in slow) + ".", ""]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")


def main(argv=None) -> int:
    args = parse_args(argv)
    setup_django(args)
    started = time.perf_counter()
    fx = pick_fixtures()
    admin_login, dispatcher_login = bench_users()
    fx["dispatcher_area"] = dispatcher_login["user"].dispatch_area.code
    counts = dict(zip(("bags", "scans", "bills"), one(
        "SELECT (SELECT reltuples::bigint FROM pg_class WHERE oid = 'bags_bag'::regclass), "
        "(SELECT reltuples::bigint FROM pg_class WHERE oid = 'scans_scan'::regclass), "
        "(SELECT count(*) FROM billing_bill)"), strict=True))
    pages = build_pages(fx)

    def make_client():
        return HttpClient(args.base_url, args.timeout) if args.base_url else InProcessClient()

    clients = {"admin": make_client(), "dispatcher": make_client()}
    clients["admin"].login("/admin/login/", admin_login["user"].username, admin_login["password"], "/admin/")
    clients["dispatcher"].login("/login/", dispatcher_login["user"].username, dispatcher_login["password"], "/")
    status, _, _ = clients["admin"].get("/admin/")
    if status != 200:
        print(f"the admin session does not open /admin/ (status {status})", file=sys.stderr)
        return 1
    # Exports last, with a session of their own: a whole-table export keeps a server worker busy
    # (an XLSX is built whole before its first byte) and must not slow the pages measured after it.
    pages.sort(key=lambda p: p.export)
    for n, page in enumerate(pages, 1):
        count = args.export_requests if page.export else args.requests
        if page.export and page.url.endswith(".xlsx"):
            count = min(count, 1)
        if count == 0:
            continue
        if page.export and "export" not in clients:
            clients["export"] = make_client()
            clients["export"].login("/admin/login/", admin_login["user"].username, admin_login["password"], "/admin/")
        client = clients["export"] if page.export else clients[page.who]
        measure(page, client, 0 if page.export else args.warmup, count, args.export_timeout if page.export else None)
        line = (f"p50 {percentile(page.times_ms, 0.5):.0f} ms p95 {percentile(page.times_ms, 0.95):.0f} ms "
                f"status {sorted(set(page.statuses))}") if page.times_ms else page.error
        print(f"[{n}/{len(pages)}] {page.name}: {line}", flush=True)
    pages = [p for p in pages if p.times_ms or p.error]
    fx["relogins"] = sum(c.relogins for c in clients.values())
    out = Path(args.out)
    write_report(out, pages, args, fx, counts, time.perf_counter() - started)
    failing = [p for p in pages if not p.export and not passed(p, args.budget_ms)]
    print(f"wrote {out.resolve()} ({len(pages)} pages, {len(failing)} over budget or failing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
