"""Where a request's time goes: pyinstrument profiles of the hot endpoints, in process.

`python bench/profile.py --database-url URL --out FILE.md [--requests N]`

Each endpoint is called N times through Django's test client (the whole middleware and DRF
stack, PostgreSQL and, when REDIS_URL is set, Redis; no HTTP server), logged in as a bench
dispatcher or admin. Reads are uncached: a build before issue 16, which cached API reads
under one global data generation, has it bumped before each call, as any write did; later
builds cache no API read. For each endpoint the report gives CPU and wall time per request and
pyinstrument's call tree, trimmed to the frames that take at least 2 % of the time.
Writes (child scans into fresh parents) are committed; bench/prepare.py removes them with
the rest of the bench users' data before the next run.
"""

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

BASE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--out", default=str(BASE / "bench" / "tmp" / "profile.md"))
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("--database-url (or DATABASE_URL) is required")
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")
    os.environ.setdefault("SECRET_KEY", "bench-profile-" + uuid.uuid4().hex * 2)
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("HTTPS", "0")
    # The test client's host.
    os.environ["ALLOWED_HOSTS"] = ",".join(filter(None, [os.environ.get("ALLOWED_HOSTS", ""), "testserver"]))
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    os.environ.setdefault("RATE_LIMIT_SCAN", "1000000/m")
    os.environ.setdefault("RATE_LIMIT_API", "1000000/m")
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    from accounts.models import DispatchArea, Role, User
    from accounts.services import user_create
    from bags.models import Bag

    area = DispatchArea.objects.order_by("id").first()

    def forget_cached_reads():
        try:
            from tracetrack.caching import data_changed
        except ImportError:
            return  # no cached API reads (issue 16): nothing to forget
        data_changed()  # outside a transaction: the cached reads go stale at once

    def user(name, role, dispatch_area=None):
        # Through the user service (role, area and staff rules), with no usable password:
        # the test client logs in with force_login.
        found = User.objects.filter(username=name).first()
        return found or user_create(actor=None, username=name, password=None, role=role, dispatch_area=dispatch_area)

    dispatcher = user("bench_prof_op", Role.DISPATCHER, area)
    admin = user("bench_prof_adm", Role.ADMIN)
    operator, viewer = Client(), Client()
    operator.force_login(dispatcher)
    viewer.force_login(admin)
    # Any save of a user — its creation, or force_login writing last_login — leaves a change
    # marker on its cached copy for SESSION_USER_CHANGED_TTL (30) seconds, during which each
    # of its requests reads the user from the database (accounts.selectors). The whole
    # profiled series runs inside that window, so it would time a read that an operator's
    # requests make only in the first 30 s after a login. As in the load runs (measured
    # after their warm-up), the copies start out cached.
    from django.core.cache import cache

    from accounts.selectors import session_user_key

    cache.delete_many([session_user_key(dispatcher.pk), session_user_key(admin.pk)])

    taken = set(Bag.objects.filter(qr_id__startswith="M444-").values_list("qr_id", flat=True))
    free = [code for code in (f"M444-{n:05d}" for n in range(1, 100000)) if code not in taken]
    random.shuffle(free)
    run = uuid.uuid4().hex[:6].upper()
    state = {"parent": None, "children": 30, "n": 0}

    def post(path, body):
        answer = operator.post(path, body, content_type="application/json")
        assert answer.status_code in (200, 201), (path, answer.status_code, answer.content[:300])

    def child_scan():
        if state["children"] >= 30:
            state["parent"], state["children"] = free.pop(), 0
            post("/api/v1/scans/parent/", {"qr_id": state["parent"], "scan_id": str(uuid.uuid4())})
        state["children"] += 1
        state["n"] += 1
        post("/api/v1/scans/child/", {"parent": state["parent"], "qr_id": f"PRF{run}{state['n']:07d}",
                                      "scan_id": str(uuid.uuid4())})

    def get(client, path):
        def call():
            forget_cached_reads()
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.status_code)
        return call

    endpoints = [
        ("POST /api/v1/scans/child/ (a new child; a parent scan every 30)", child_scan),
        ("GET /api/v1/stats/ (admin, uncached)", get(viewer, "/api/v1/stats/")),
        ("GET /api/v1/scans/ (admin, first page of 50, uncached)", get(viewer, "/api/v1/scans/")),
        ("GET /health/ (no database, no cache: the framework floor)", get(viewer, "/health/")),
    ]
    out = ["# Where the time goes: pyinstrument profiles", "",
           f"Database `{args.database_url.rsplit('/', 1)[-1]}`, {args.requests} requests per endpoint after 30 "
           "warm-up requests, in process through Django's test client (middleware, DRF, PostgreSQL, Redis; no HTTP "
           "server), one thread. CPU = process CPU time per request (the server's share; PostgreSQL's own CPU is "
           "not in it); wall includes waiting for PostgreSQL and Redis.", "",
           "| endpoint | CPU ms/request | wall ms/request |", "|---|---:|---:|"]
    trees = []
    for label, call in endpoints:
        for _ in range(30):
            call()
        # First timed without the profiler (its own cost is large), then profiled.
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            call()
        cpu = (time.process_time() - cpu) / args.requests * 1000
        wall = (time.perf_counter() - wall) / args.requests * 1000
        profiler = Profiler(interval=0.001)
        profiler.start()
        for _ in range(args.requests):
            call()
        profiler.stop()
        out.append(f"| {label} | {cpu:.1f} | {wall:.1f} |")
        text = profiler.output_text(unicode=False, color=False, show_all=False, time="percent_of_total")
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip(" |`-").startswith("_ ")]
        trees += [f"## {label}", "", "```", *keep_big(lines), "```", ""]
        print(f"[profile] {label}: {cpu:.1f} ms CPU, {wall:.1f} ms wall per request")
    out += ["", "(Times measured without the profiler; the trees come from a second, profiled series, "
            "whose percentages are what matter.)", "", *trees]
    Path(args.out).write_text("\n".join(out))
    print(f"[profile] {args.out}")


def keep_big(lines: list[str], threshold: float = 2.0) -> list[str]:
    """pyinstrument's tree lines whose share is at least `threshold` percent (the header
    lines, which carry no share, are kept)."""
    import re

    kept = []
    for line in lines:
        match = re.search(r"(\d+(?:\.\d+)?)%", line)
        if match is None or float(match.group(1)) >= threshold:
            kept.append(line)
    return kept


if __name__ == "__main__":
    main()
