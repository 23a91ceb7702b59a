"""Bench set-up against one seeded bench database: `python bench/prepare.py --out FILE ...`.

Runs with the same environment as the server under test (DATABASE_URL, REDIS_URL,
CACHE_KEY_PREFIX and, above all, SECRET_KEY: sessions and their auth hashes are signed
with it). It

1. removes what earlier bench runs wrote (see `cleanup`), so that every run starts from
   the seeded data set and repeated runs never run out of parent codes;
2. makes the bench users when missing (through `accounts.services.user_create`, with no
   password) and gives them all ONE password hash, computed once: PBKDF2 costs ~0.3 s of
   CPU per hash, so hashing per user (or logging hundreds of users in during the run)
   would measure the hasher, not the system;
3. opens a logged-in session per session user (what `django.contrib.auth.login` stores)
   and an API token per integrator: operators log in once per shift;
4. writes a JSON file for the locustfile: users with their session keys or tokens, the
   password (for the few real logins in the mix), free parent codes for new parents, and
   a random sample of existing bag codes per area for lookups.

Bench users are `bench_op_<i>` and `bench_lk_<i>` (dispatchers spread over the areas),
`bench_bill_<i>` (billers), `bench_adm_<i>` (admins: dashboards, scale and capacity runs)
and `bench_int_<i>` (billers holding an API token: integrators).
"""

import argparse
import json
import os
import random
import secrets
import string
import sys
import time
from datetime import UTC, timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.cached_db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Max, Min, Q  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiToken, AuditLog, DispatchArea, Role, User  # noqa: E402
from accounts.services import token_create, user_create  # noqa: E402
from bags.models import Bag, Link  # noqa: E402
from billing.models import Bill, BillBag  # noqa: E402
from scans.models import Scan  # noqa: E402
from stats.models import ScanTally  # noqa: E402
from stats.recount import repair as repair_counters  # noqa: E402
from stats.services import day_start, hour_floor  # noqa: E402
from tracetrack.models import IdempotencyRecord  # noqa: E402

PREFIX = "bench_"
SESSION_PREFIX = "bench"  # session keys we make start with this, so cleanup finds them
PASSWORD = "Bench-TraceTrack-2026-shift"


def log(message: str) -> None:
    print(f"[prepare] {message}", flush=True)


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def bench_user_ids() -> list[int]:
    return list(User.objects.filter(username__startswith=PREFIX).values_list("pk", flat=True))


def cleanup() -> dict[str, int]:
    """Delete every row the bench users wrote (their bags, links, scans, idempotency
    records, bills, bill places, audit rows, tokens, sessions, axes rows), then make the
    statistics counters exact again and drop stale cached reads. Bench children and
    parents are all created by bench users (operators only ever scan new codes), so
    `created_by` finds them; billers add seeded parents to their own bills, and deleting
    those bills' places puts the seeded parents back off-bill, as seeded."""
    ids = bench_user_ids()
    counts: dict[str, int] = {}
    if not ids:
        return counts
    started = time.monotonic()
    with transaction.atomic(), connection.cursor() as cur:

        def run(label: str, sql: str, params=None) -> None:
            cur.execute(sql, params if params is not None else [ids])
            counts[label] = counts.get(label, 0) + max(cur.rowcount, 0)

        bill, billbag, bag, link = table(Bill), table(BillBag), table(Bag), table(Link)
        run("bill places", f"DELETE FROM {billbag} WHERE {column(BillBag, 'bill')} IN "
            f"(SELECT id FROM {bill} WHERE {column(Bill, 'created_by')} = ANY(%s))")
        run("bill places", f"DELETE FROM {billbag} WHERE {column(BillBag, 'added_by')} = ANY(%s)")
        cur.execute("CREATE TEMP TABLE bench_bags ON COMMIT DROP AS "
                    f"SELECT id FROM {bag} WHERE {column(Bag, 'created_by')} = ANY(%s)", [ids])
        run("bill places", f"DELETE FROM {billbag} WHERE {column(BillBag, 'parent')} IN (SELECT id FROM bench_bags)", [])
        run("bills", f"DELETE FROM {bill} WHERE {column(Bill, 'created_by')} = ANY(%s)")
        run("links", f"DELETE FROM {link} WHERE {column(Link, 'parent')} IN (SELECT id FROM bench_bags)", [])
        run("links", f"DELETE FROM {link} WHERE {column(Link, 'child')} IN (SELECT id FROM bench_bags)", [])
        run("scans", f"DELETE FROM {table(Scan)} WHERE {column(Scan, 'user')} = ANY(%s)")
        run("idempotency records",
            f"DELETE FROM {table(IdempotencyRecord)} WHERE {column(IdempotencyRecord, 'user')} = ANY(%s)")
        run("audit rows", f"DELETE FROM {table(AuditLog)} WHERE {column(AuditLog, 'actor')} = ANY(%s)")
        run("bags", f"DELETE FROM {bag} WHERE id IN (SELECT id FROM bench_bags)", [])
        counts["tokens"] = ApiToken.objects.filter(user_id__in=ids).delete()[0]
        counts["sessions"] = Session.objects.filter(
            Q(session_key__startswith=SESSION_PREFIX) | Q(expire_date__lt=timezone.now())
        ).delete()[0]
        try:
            from axes.models import AccessAttempt, AccessFailureLog, AccessLog

            for model in (AccessAttempt, AccessFailureLog, AccessLog):
                model.objects.filter(username__startswith=PREFIX).delete()
        except ImportError:
            pass
    if any(counts.get(k) for k in ("bags", "scans", "bills", "bill places")):
        with transaction.atomic():
            # stats.recount.repair rebuilds the hour tallies of today from `day_start`
            # (local midnight) on, but only deletes those starting at or after it: with a
            # TIME_ZONE half an hour off UTC (Asia/Kolkata) the hour that holds local midnight
            # survives and its rebuilt row collides with it (scantally_unique). Delete it here.
            now = timezone.now()
            ScanTally.objects.filter(period="h", start__gte=hour_floor(day_start(now).astimezone(UTC))).delete()
            repair_counters(now)
        counts["counters repaired"] = 1
    forget_cached_reads()
    done = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "nothing to clean"
    log(f"cleanup in {time.monotonic() - started:.1f}s: {done}")
    return counts


def forget_cached_reads() -> None:
    """The rows were deleted behind the services' back: no cached read may outlive that.
    Every bench run has a cache key prefix of its own (bench/run.py), so it never finds
    an earlier run's entries; a build that still keys every cached read by one global data
    generation (before issue 16) gets it bumped as well."""
    try:
        from tracetrack.caching import GENERATION_KEY
    except ImportError:
        return
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:
        cache.set(GENERATION_KEY, int(time.time() * 1000), None)


def ensure_users(spec: dict[str, tuple[int, str]], areas: list[DispatchArea]) -> dict[str, list[User]]:
    """Make the missing bench users; give every bench user the same password hash."""
    existing = set(User.objects.filter(username__startswith=PREFIX).values_list("username", flat=True))
    made = 0
    for kind, (count, role) in spec.items():
        for i in range(count):
            username = f"{PREFIX}{kind}_{i}"
            if username in existing:
                continue
            area = areas[i % len(areas)] if role == Role.DISPATCHER else None
            user_create(actor=None, username=username, password=None, role=role, dispatch_area=area,
                        email=f"{username}@bench.invalid")
            made += 1
    started = time.monotonic()
    # BENCH_PASSWORD_HASHER: the hash kind of the logins stage's variant (default: the
    # project's first hasher, as a new password gets).
    hashed = make_password(PASSWORD, hasher=os.environ.get("BENCH_PASSWORD_HASHER") or "default")
    User.objects.filter(username__startswith=PREFIX).update(password=hashed, is_active=True)
    log(f"{made} bench users made; one password hash ({time.monotonic() - started:.2f}s) set on all")
    users: dict[str, list[User]] = {}
    for kind, (count, _) in spec.items():
        wanted = [f"{PREFIX}{kind}_{i}" for i in range(count)]
        found = {u.username: u for u in User.objects.filter(username__in=wanted).select_related("dispatch_area")}
        users[kind] = [found[name] for name in wanted]
    return users


def session_key() -> str:
    alphabet = string.ascii_lowercase + string.digits
    return SESSION_PREFIX + "".join(secrets.choice(alphabet) for _ in range(32 - len(SESSION_PREFIX)))


def open_sessions(users: list[User]) -> dict[int, str]:
    """A logged-in session per user, as `django.contrib.auth.login` leaves it, written in
    one statement (the cached_db engine reads the database on a cache miss)."""
    store = SessionStore()
    expire = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    rows, keys = [], {}
    for user in users:
        key = session_key()
        data = {"_auth_user_id": str(user.pk), "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[-1],
                "_auth_user_hash": user.get_session_auth_hash()}
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        keys[user.pk] = key
    Session.objects.bulk_create(rows, batch_size=1000)
    return keys


def free_parent_codes(limit: int) -> list[str]:
    """Parent codes not in use, in order (SB… then M444-…), at most `limit`."""
    taken = set(Bag.objects.filter(Q(qr_id__startswith="SB") | Q(qr_id__startswith="M444-"))
                .values_list("qr_id", flat=True))
    codes = []
    for prefix in ("SB", "M444-"):
        for number in range(1, 100_000):
            code = f"{prefix}{number:05d}"
            if code not in taken:
                codes.append(code)
                if len(codes) >= limit:
                    return codes
    return codes


def sample_codes(count: int, rng: random.Random) -> dict[str, list[str]]:
    """About `count` random existing bag codes, per area code."""
    bounds = Bag.objects.aggregate(low=Min("pk"), high=Max("pk"))
    if bounds["low"] is None:
        return {}
    ids = list({rng.randint(bounds["low"], bounds["high"]) for _ in range(count * 2)})
    per_area: dict[str, list[str]] = {}
    found = 0
    for start in range(0, len(ids), 20_000):  # a statement takes at most 65,535 parameters
        rows = Bag.objects.filter(pk__in=ids[start:start + 20_000]).values_list("qr_id", "dispatch_area__code")
        for code, area in rows[:count - found]:
            per_area.setdefault(area or "", []).append(code)
            found += 1
        if found >= count:
            break
    return per_area


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="JSON file for the locustfile")
    parser.add_argument("--users", type=int, default=500, help="the most locust users of any run on this database")
    parser.add_argument("--admins", type=int, default=64, help="admin users (dashboards, scale, capacity runs)")
    parser.add_argument("--parent-codes", type=int, default=60_000, help="at most this many free parent codes")
    parser.add_argument("--sample", type=int, default=5000, help="existing bag codes sampled for lookups")
    parser.add_argument("--run-id", default="", help="a short [A-Z0-9] tag that makes this run's codes unique")
    parser.add_argument("--no-cleanup", action="store_true")
    args = parser.parse_args()

    started = time.monotonic()
    rng = random.Random()
    areas = list(DispatchArea.objects.order_by("code"))
    if not areas:
        sys.exit("no dispatch areas: run migrate first")
    if not args.no_cleanup:
        cleanup()
    n = max(args.users, 10)
    spec = {
        "op": (n, Role.DISPATCHER),
        "lk": (max(10, n // 4), Role.DISPATCHER),
        "bill": (max(5, n // 8), Role.BILLER),
        "adm": (max(args.admins, n // 8), Role.ADMIN),
        "int": (max(5, n // 8), Role.BILLER),
    }
    users = ensure_users(spec, areas)
    session_users = [u for kind in ("op", "lk", "bill", "adm") for u in users[kind]]
    keys = open_sessions(session_users)
    tokens = {}
    for user in users["int"]:
        _, raw = token_create(user=user, name="bench integrator")
        tokens[user.pk] = raw

    def entry(user: User) -> dict:
        item = {"username": user.username, "area": user.dispatch_area.code if user.dispatch_area_id else None}
        if user.pk in keys:
            item["session"] = keys[user.pk]
        if user.pk in tokens:
            item["token"] = tokens[user.pk]
        return item

    parents = free_parent_codes(args.parent_codes)
    data = {
        "run_id": args.run_id or "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(5)),
        "password": PASSWORD,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "areas": [a.code for a in areas],
        "users": {kind: [entry(u) for u in group] for kind, group in users.items()},
        "parent_codes": parents,
        "codes": sample_codes(args.sample, rng),
        "bags": Bag.objects.count() if connection.vendor != "postgresql" else _estimate_bags(),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(data))
    log(f"{len(session_users)} sessions, {len(tokens)} tokens, {len(parents)} free parent codes, "
        f"{sum(len(v) for v in data['codes'].values())} sampled codes -> {args.out} "
        f"({time.monotonic() - started:.1f}s)")


def _estimate_bags() -> int:
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [Bag._meta.db_table])
        return int(cur.fetchone()[0])


if __name__ == "__main__":
    main()
