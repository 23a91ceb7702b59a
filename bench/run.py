"""`make bench`: the load benchmark on PostgreSQL + Redis, behind gunicorn_production.py.

Stages (BENCH_STAGES, default all, in this order):

0. setup     collect the static files (hashed names, as deployed) into bench/tmp/var; for
             every data size in BENCH_SIZES make sure `tt_bench_<size>` exists, is
             migrated and carries a finished seed (`COMMENT ON DATABASE … 'tracetrack seed
             N'`); a database without that mark is dropped and seeded again.
1. compare   the same mixed load (BENCH_COMPARE_USERS users) on each worker configuration
             of BENCH_CLASSES; the best (no errors, then lowest scan p95/p99) is used for
             the stages after it (BENCH_WORKERS forces one and skips this stage).
2. capacity  the framework floor (/health/, no database, no cache) and each endpoint of
             BENCH_CAPACITY_ENDPOINTS alone (also: parent, undo, bill_parents), closed loop
             (no think time); bag reads uncached (each names a bag not read before in the
             run, so no build answers it from a cache), the others served as the build
             serves them (this one caches no API read; the hit ratio of what it does cache,
             from /metrics, is reported); throughput as a ratio to the floor.
3. steps     the mixed load at each of BENCH_USERS users (PostgreSQL connections sampled).
4. scale     lookup (uncached), child scan, stats and scans list at every size of
             BENCH_SIZES: the cost must not grow with the data.
4b. latency one client, closed loop, bag reads uncached: stats, scans list, lookup and child scan at
             the main size (the time one request takes when nothing queues), on the
             configuration gunicorn_production.py deploys by default (BENCH_LATENCY_WORKERS),
             whatever stage 1 chose: a sync worker closes the connection after every
             answer, so one client would time a new TCP connection per request.
4c. builds  the same closed-loop runs (BENCH_BUILDS_ENDPOINTS: the /health/ floor and every
             scan endpoint — child, parent, undo, bill_parents) on an older build,
             BENCH_BASELINE (a git ref, checked out into bench/tmp/build-<sha> with
             `git worktree`, run on a database seeded by its own code,
             tt_bench_<main>_<sha>) and on this one, interleaved BENCH_BUILDS_REPEAT
             times, and on this one with tracing on (spans to a local OTLP sink) for the
             endpoints of BENCH_BUILDS_TRACED, on the deployed configuration
             (BENCH_BUILDS_WORKERS): per endpoint and build, requests/s, ratio to
             that build's floor, p50/p95/p99, gunicorn + PostgreSQL CPU ms per request,
             new/old, against issue 16's targets (child scan ≥ 0.30 × floor, ≤ 5.5 ms CPU).
             Logging as deployed (INFO: the request line); scan and API rate limits raised.
4d. pace     people at human pace on the deployed configuration (BENCH_PACE_WORKERS):
             BENCH_PACE_OPERATORS operators (the mixed load's OperatorUser: a parent, then
             a child scan every BENCH_SCAN_WAIT, session + CSRF) and BENCH_PACE_VIEWERS
             dispatchers reading (bag lookups, stats, pages of scans, BENCH_VIEW_WAIT apart)
             for BENCH_PACE_DURATION, rate limits as deployed: scan p50/p95/p99, errors,
             viewer p95 against scan p95 < 50 ms, p99 < 100 ms, 0 errors. When p95 misses,
             again with each smaller count of BENCH_PACE_STEPS until one meets it. The
             app's cache hit ratio per cached read (/metrics, `tracetrack_cache_reads_total`)
             over the measured part of the run (also for the mixed-load steps).
4e. batch    BENCH_BATCH_USERS operators' offline queues in a closed loop, each
             `POST /api/v1/scans/batch/` filling one fresh parent (BENCH_BATCH_PARENT=item:
             parent + 29 children in the batch; separate: parent scan alone, then 30),
             BENCH_BATCH_DURATION, scan and API rate limits raised (a batch counts every
             item): batches/s, child scans/s (successful child items; target ≥ 2,000),
             p50/p95/p99 per batch, errors. A build without the endpoint (404/405) is
             reported as such.
4e'. logins  a shift-start login storm (issue 17): BENCH_LOGINS operators each log in once
             through the login page at a random moment of BENCH_LOGINS_SECONDS, beside
             BENCH_LOGINS_OPERATORS operators scanning at human pace (the pace stage's
             users), on the deployed configuration, rate limits as deployed but for the
             bench's RATE_LIMIT_LOGIN (one client address): logins refused (target 0), login
             p50/p95/max, scan p95/p99 meanwhile; once with the users' passwords as
             Argon2id hashes (as now made) and once as PBKDF2 hashes (as made before, each
             verified and rewritten as Argon2id at its login).
4f. servers the mixed load through nginx (Debian's) to one app server, then to two
             (BENCH_SERVERS_WORKERS each): throughput with one and with two.
4g. import   a BENCH_IMPORT_ROWS-row file through the background-job path (a Celery
             worker checks it, then commits it: bench/import_job.py); its rows are
             removed again afterwards.
5. explain   bench/explain.py: EXPLAIN (ANALYZE, BUFFERS) of every hot request path's
             queries at the main size (kept whole in bench/EXPLAIN.md).
6. profile   bench/profile.py: pyinstrument call trees of child scan, stats, scan list and
             /health/ (where a request's time goes).
7. pages     bench/pages.py: every admin page and operator page timed on gunicorn at the
             main size, against the 300 ms budget.
8. report    bench/REPORT.md and bench/chart.png (bench/report.py).

Every locust run: bench/prepare.py (deletes the previous runs' bench data, makes sessions
and tokens), a fresh gunicorn (own CACHE_KEY_PREFIX and PGAPPNAME), wait for /health/,
locust headless (statistics reset BENCH_WARMUP s after the last user started), samplers
(pg_stat_activity and /proc CPU, every second), the app's cache counters read from /metrics
when locust's statistics are reset and when it stops, gunicorn stopped. Raw output goes to
bench/tmp/<timestamp>/, one folder per run, and results.json there.

Durations at the defaults, measured at 1M bags (a run costs 20-30 s more than its
BENCH_*_DURATION: prepare, gunicorn start, ramp, warm-up, stop): builds ~21 min (22 runs of
30 s; the first time also ~2 min to seed the baseline's database), pace ~1.5 min per
operator count (up to 3 counts, ~4.5 min, when 200 and 150 miss p95), batch ~50 s.

Knobs (environment, defaults in brackets):
  BENCH_SIZES ["100k 1m 5m"]   BENCH_MAIN [1m, else the first size]: the database of stages 1-3
  BENCH_USERS ["50 200 500"]   BENCH_DURATION [60s]   BENCH_SPAWN_RATE [50]   BENCH_WARMUP [5]
  BENCH_CLASSES ["sync:5 gthread:2x8 gthread:4x8 gevent:2x1000"]  (class:workers[xthreads|xconnections])
  BENCH_WORKERS [chosen by stage 1]   BENCH_COMPARE_USERS [200]   BENCH_COMPARE_DURATION [45s]
  BENCH_CAPACITY_ENDPOINTS ["health lookup child stats scans billable lookup_page dashboard"]
  BENCH_CAPACITY_USERS [32]    BENCH_CAPACITY_DURATION [20s]
  BENCH_SCALE_USERS [10]       BENCH_SCALE_DURATION [30s]
  BENCH_LATENCY_ENDPOINTS ["stats scans lookup child"]   BENCH_LATENCY_DURATION [20s]
  BENCH_LATENCY_WORKERS [gevent:<cores>x1000, gunicorn_production.py's default]
  BENCH_BASELINE [e1e4302, the last commit before issue 16, see BASELINE]
  BENCH_BUILDS_ENDPOINTS ["health child parent undo bill_parents"]   BENCH_BUILDS_TRACED ["child"]
  BENCH_BUILDS_REPEAT [2]   BENCH_BUILDS_DURATION [30s]   BENCH_BUILDS_USERS [32]
  BENCH_BUILDS_WORKERS [gevent:<cores>x1000, gunicorn_production.py's default]
  BENCH_BILL_SIZE [40]: parents per bill in the bill_parents runs (the seed leaves ~1,460
               parents of 1M bags off bills; users × this must stay below that)
  BENCH_PACE_OPERATORS [200]   BENCH_PACE_VIEWERS [40]   BENCH_PACE_DURATION [60s]
  BENCH_SCAN_WAIT [1-3 in the pace stage; when set it also paces the mixed load's
               operators, whose default is 0.4-0.8]   BENCH_VIEW_WAIT [2-5]
  BENCH_PACE_STEPS ["150 100"]: operator counts tried, largest first, while p95 misses
  BENCH_PACE_WORKERS [gevent:<cores>x1000, gunicorn_production.py's default]
  BENCH_BATCH_USERS [16]   BENCH_BATCH_DURATION [30s]   BENCH_BATCH_PARENT [item]
  BENCH_BATCH_WORKERS [gevent:<cores>x1000, gunicorn_production.py's default]
  BENCH_SERVERS_USERS [200]   BENCH_SERVERS_WORKERS [gevent:1x1000]   BENCH_SERVERS_DURATION [45s]
  BENCH_IMPORT_ROWS [100000]
  BENCH_RESUME [unset]: the name of an earlier run's folder under bench/tmp; its runs are kept
               and this invocation's stages are added to them, a run with the label of an
               earlier one replacing it (e.g. BENCH_STAGES="latency report")
  BENCH_STAGES ["setup compare capacity steps scale latency builds pace batch servers import explain profile
               pages report"]   BENCH_GEVENT_POOL [8]
  BENCH_PG [postgres://postgres@127.0.0.1:5432]   BENCH_REDIS [redis://127.0.0.1:6379/0]
"""

import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import datetime
from pathlib import Path

import psycopg

BASE = Path(__file__).resolve().parent.parent
BENCH = BASE / "bench"
TMP = BENCH / "tmp"
PY = str(BASE / ".venv" / "bin" / "python")
LOCUST = str(BASE / ".venv" / "bin" / "locust")
LOCUSTFILE = str(BASE / "tests" / "load" / "locustfile.py")
MIXED = ["OperatorUser", "LookupUser", "BillerUser", "IntegratorUser", "DashboardUser"]
SCAN_NAMES = ["/api/v1/scans/parent/", "/api/v1/scans/child/"]


def env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([smh]?)", text.strip())
    if not match:
        sys.exit(f"bad duration {text!r} (use 60s, 2m, 90)")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def bag_count(label: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([km]?)", label.strip().lower())
    if not match:
        sys.exit(f"bad size {label!r} (use 100k, 1m, 5m)")
    return int(float(match.group(1)) * {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2)])


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", flush=True)


PG = env("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = env("BENCH_REDIS", "redis://127.0.0.1:6379/0")
SIZES = env("BENCH_SIZES", "100k 1m 5m").split()
MAIN = env("BENCH_MAIN", "1m" if "1m" in SIZES else SIZES[0])
USERS = [int(u) for u in env("BENCH_USERS", "50 200 500").split()]
DURATION = seconds(env("BENCH_DURATION", "60s"))
SPAWN_RATE = float(env("BENCH_SPAWN_RATE", "50"))
WARMUP = float(env("BENCH_WARMUP", "5"))
CLASSES = env("BENCH_CLASSES", "sync:5 gthread:2x8 gthread:4x8 gevent:2x1000").split()
COMPARE_USERS = int(env("BENCH_COMPARE_USERS", "200"))
COMPARE_DURATION = seconds(env("BENCH_COMPARE_DURATION", "45s"))
CAPACITY_ENDPOINTS = env("BENCH_CAPACITY_ENDPOINTS", "health lookup child stats scans billable lookup_page dashboard").split()
CAPACITY_USERS = int(env("BENCH_CAPACITY_USERS", "32"))
CAPACITY_DURATION = seconds(env("BENCH_CAPACITY_DURATION", "20s"))
SCALE_USERS = int(env("BENCH_SCALE_USERS", "10"))
SCALE_DURATION = seconds(env("BENCH_SCALE_DURATION", "30s"))
STAGES = env("BENCH_STAGES", "setup compare capacity steps scale latency builds pace batch logins servers import explain "
                             "profile pages report").split()
# The build the builds stage compares with: main as it landed before issue 16 (the scan path
# at a third of its cost, batch scans), so the report shows what that work changed per scan.
BASELINE = env("BENCH_BASELINE", "e1e4302")
BUILDS_ENDPOINTS = env("BENCH_BUILDS_ENDPOINTS", "health child parent undo bill_parents").split()
BUILDS_TRACED = env("BENCH_BUILDS_TRACED", "child").split()
BUILDS_REPEAT = int(env("BENCH_BUILDS_REPEAT", "2"))
BUILDS_DURATION = seconds(env("BENCH_BUILDS_DURATION", "30s"))
BUILDS_USERS = int(env("BENCH_BUILDS_USERS", "32"))
SERVERS_USERS = int(env("BENCH_SERVERS_USERS", "200"))
SERVERS_WORKERS = env("BENCH_SERVERS_WORKERS", "gevent:1x1000")
SERVERS_DURATION = seconds(env("BENCH_SERVERS_DURATION", "45s"))
IMPORT_ROWS = int(env("BENCH_IMPORT_ROWS", "100000"))
DEPLOYED_WORKERS = f"gevent:{os.cpu_count() or 2}x1000"  # gunicorn_production.py's default
PACE_OPERATORS = int(env("BENCH_PACE_OPERATORS", "200"))
PACE_VIEWERS = int(env("BENCH_PACE_VIEWERS", "40"))
PACE_DURATION = seconds(env("BENCH_PACE_DURATION", "60s"))
PACE_SCAN_WAIT = env("BENCH_SCAN_WAIT", "1-3")
VIEW_WAIT = env("BENCH_VIEW_WAIT", "2-5")
PACE_STEPS = [int(n) for n in env("BENCH_PACE_STEPS", "150 100").split()]
PACE_WORKERS = env("BENCH_PACE_WORKERS", DEPLOYED_WORKERS)
BATCH_USERS = int(env("BENCH_BATCH_USERS", "16"))
BATCH_DURATION = seconds(env("BENCH_BATCH_DURATION", "30s"))
BATCH_PARENT = env("BENCH_BATCH_PARENT", "item")
BATCH_WORKERS = env("BENCH_BATCH_WORKERS", DEPLOYED_WORKERS)
# The builds' cost per scan, on the server as deployed: on this 2-core machine a child scan
# costs 4.1 ms of gunicorn + PostgreSQL CPU with 2 sync workers, 4.6 with 3, 5.1 with 4,
# 5.6 with 5, 5.0 on gevent:2x1000 (issue 16's sweep, 2026-12-06): the count of
# processes taking turns on the cores is part of the cost, so it is the deployed one's.
BUILDS_WORKERS = env("BENCH_BUILDS_WORKERS", DEPLOYED_WORKERS)
LOGINS = int(env("BENCH_LOGINS", "200"))
LOGINS_SECONDS = seconds(env("BENCH_LOGINS_SECONDS", "60s"))
LOGINS_OPERATORS = int(env("BENCH_LOGINS_OPERATORS", "100"))
LOGINS_HASHERS = env("BENCH_LOGINS_HASHERS", "argon2 pbkdf2_sha256").split()
BILL_SIZE = env("BENCH_BILL_SIZE", "40")
# Scan and API rate limits out of the way: one locust user stands for many clients (and a
# batch counts every item); the limiter still runs.
UNLIMITED = {"RATE_LIMIT_SCAN": "1000000/m", "RATE_LIMIT_API": "1000000/m"}
GEVENT_POOL = int(env("BENCH_GEVENT_POOL", "8"))
LOGIN_RATE = "100000/m"  # all locust users share 127.0.0.1; see the report


def db_name(label: str) -> str:
    return f"tt_bench_{label.lower()}"


def admin_connection() -> psycopg.Connection:
    return psycopg.connect(f"{PG}/postgres", autocommit=True)


# --- Databases -------------------------------------------------------------------------


def seed_mark(n: int) -> str:
    return f"tracetrack seed {n}"


def database_mark(name: str) -> str | None:
    """The database's comment ('' when none), or None when it does not exist."""
    with admin_connection() as conn:
        row = conn.execute(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
    return None if row is None else row[0]


def django_env(db: str, prefix: str = "bench_setup") -> dict[str, str]:
    environ = dict(os.environ)
    environ.update({
        "DATABASE_URL": f"{PG}/{db}", "REDIS_URL": REDIS, "CACHE_KEY_PREFIX": prefix, "DEBUG": "0", "HTTPS": "0",
        "SECRET_KEY": SECRET_KEY, "ALLOWED_HOSTS": "127.0.0.1,localhost", "VAR_DIR": str(TMP / "var"),
        "LOG_LEVEL": "WARNING", "RATE_LIMIT_LOGIN": LOGIN_RATE, "DJANGO_SETTINGS_MODULE": "tracetrack.settings",
    })
    return environ


def venv_bin(root: Path, program: str) -> str:
    """`program` from the virtualenv `root` runs with: its own when it has one (a build whose
    requirements differ from this tree's, see baseline_checkout), else this tree's."""
    own = root / ".venv" / "bin" / program
    return str(own) if root != BASE and own.exists() else str(BASE / ".venv" / "bin" / program)


def manage(db: str, *args: str, logfile: Path | None = None, root: Path = BASE) -> None:
    command = [venv_bin(root, "python"), "manage.py", *args]
    if logfile is None:
        subprocess.run(command, cwd=root, env=django_env(db), check=True, stdout=subprocess.DEVNULL)
        return
    with open(logfile, "a") as out:
        subprocess.run(command, cwd=root, env=django_env(db), check=True, stdout=out, stderr=subprocess.STDOUT)


def ensure_database(label: str, *, name: str | None = None, root: Path = BASE, build: str = "") -> None:
    """Create, migrate and seed `tt_bench_<label>` (or `name`, with the code at `root`)
    unless it carries a finished seed of the right size (and build)."""
    name, n = name or db_name(label), bag_count(label)
    mark = database_mark(name)
    wanted = seed_mark(n) + (f" {build}" if build else "")
    if mark == wanted:
        log(f"{name}: seeded ({n:,} bags); migrating")
        manage(name, "migrate", "--noinput", root=root)
        return
    with admin_connection() as conn:
        if mark is not None:
            log(f"{name}: no finished-seed mark ({mark!r}): dropping it")
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    logfile = TMP / f"seed_{label}.log"
    logfile.unlink(missing_ok=True)
    log(f"{name}: migrate and seed {n:,} bags (~10k bags/s; log {logfile.relative_to(BASE)})")
    started = time.monotonic()
    manage(name, "migrate", "--noinput", logfile=logfile, root=root)
    manage(name, "seed_bags", "--bags", str(n), logfile=logfile, root=root)
    with admin_connection() as conn:
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{wanted}'")
    log(f"{name}: seeded in {time.monotonic() - started:.0f}s")


def collect_static() -> None:
    """Pages need the hashed static file names (STATIC_MANIFEST is on with DEBUG off)."""
    manifest = TMP / "var" / "static" / "staticfiles.json"
    sources = [p.stat().st_mtime for p in (BASE / "static").rglob("*") if p.is_file()]
    if manifest.exists() and manifest.stat().st_mtime > max(sources, default=0):
        return
    log("collectstatic into bench/tmp/var/static")
    manage(db_name(MAIN), "collectstatic", "--noinput")


# --- gunicorn --------------------------------------------------------------------------


def parse_config(text: str) -> dict:
    """'gthread:2x8' → gthread, 2 workers, 8 threads; 'gevent:2x100' → 100 connections each."""
    match = re.fullmatch(r"(sync|gthread|gevent):(\d+)(?:x(\d+))?", text)
    if not match:
        sys.exit(f"bad worker configuration {text!r} (sync:5, gthread:2x8, gevent:2x100)")
    kind, workers, extra = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    config = {"label": text, "class": kind, "workers": workers, "threads": 1, "connections": 1000}
    if kind == "gthread":
        config["threads"] = extra or 8
        config["pool_max"] = max(8, config["threads"])
    elif kind == "gevent":
        config["connections"] = extra or 100
        config["pool_max"] = GEVENT_POOL
    else:
        config["pool_max"] = 2
    config["pool_min"] = min(2, config["pool_max"])
    return config


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, config: dict, db: str, rundir: Path, prefix: str, appname: str, extra: dict,
                 root: Path = BASE):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = django_env(db, prefix)
        environ.update({
            # No GUNICORN_ACCESSLOG: each build's own default, as deployed (on before issue 16's
            # last step, off since). "/dev/null" did not turn it off: gunicorn's access logger
            # writes to the console handler of logconfig_dict, whatever its file.
            "LOG_LEVEL": "WARNING", "GUNICORN_LOGLEVEL": "info",
            "GUNICORN_WORKER_CLASS": config["class"], "GUNICORN_WORKERS": str(config["workers"]),
            "GUNICORN_THREADS": str(config["threads"]), "GUNICORN_WORKER_CONNECTIONS": str(config["connections"]),
            "GUNICORN_BIND": f"127.0.0.1:{self.port}", "DB_POOL_MAX": str(config["pool_max"]),
            "DB_POOL_MIN": str(config["pool_min"]), "PGAPPNAME": appname,
            # This server's own metrics files (gunicorn_production.py empties the folder at
            # start): the shared default under /tmp would mix in any other server's.
            "PROMETHEUS_MULTIPROC_DIR": str(rundir / "prometheus"), **extra,
        })
        rundir.mkdir(parents=True, exist_ok=True)
        self.log = rundir / "gunicorn.log"
        self.out = open(self.log, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen([venv_bin(root, "gunicorn"), "-c", "gunicorn_production.py", "tracetrack.wsgi"], cwd=root,
                                     env=environ, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise

    def wait_until_healthy(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(self.url + "/health/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not answer /health/ within 60 s; see {self.log}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.out.close()

    def problems(self) -> dict[str, int]:
        """From the server's log: JSON lines (an older build's may be text)."""
        text = self.log.read_text(errors="replace")
        server_errors = other_errors = 0
        for line in text.splitlines():
            if line.startswith("{"):
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if record.get("logger") == "tracetrack.request" and int(record.get("status") or 0) >= 500 \
                        and record.get("status") != 503:
                    server_errors += 1
                elif record.get("level") == "ERROR" and record.get("logger") not in ("tracetrack.request",
                                                                                      "django.request"):
                    other_errors += 1
            elif "Internal Server Error:" in line:
                server_errors += 1
            elif " ERROR " in line:
                other_errors += 1
        return {
            "5xx logged": server_errors,
            "other errors logged": other_errors,
            "worker timeouts": text.count("WORKER TIMEOUT"),
            "worker restarts (max_requests)": text.count("Autorestarting worker"),
        }


class NginxProxy:
    """nginx in front of the app servers on `ports`, with deploy/nginx's proxy settings."""

    def __init__(self, ports: list[int], rundir: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        root = rundir / "nginx"
        root.mkdir(parents=True, exist_ok=True)
        upstreams = "\n".join(f"    server 127.0.0.1:{port};" for port in ports)
        params = BASE / "deploy" / "nginx" / "tracetrack_proxy_params"
        (root / "nginx.conf").write_text(f"""
daemon off;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
worker_processes 1;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/body; proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  upstream tracetrack_app {{
{upstreams}
    keepalive 256;
  }}
  server {{
    listen 127.0.0.1:{self.port} backlog=4096;
    set $tt_request_id $request_id;
    location / {{ proxy_pass http://tracetrack_app; include {params}; }}
  }}
}}
""")
        self.proc = subprocess.Popen(["nginx", "-c", str(root / "nginx.conf"), "-p", str(root)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(self.url + "/health/", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not answer; see {root}/error.log")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


# --- Samplers (pg_stat_activity, /proc CPU) ---------------------------------------------


def clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


def proc_stats() -> dict[int, tuple[str, int, float]]:
    """pid → (comm, ppid, cpu seconds) for every process."""
    ticks = clock_ticks()
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                raw = fh.read()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1: raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2:].split()
        found[int(entry)] = (comm, int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return found


def machine_times() -> tuple[float, float, float]:
    """Seconds of CPU time since boot: all, idle (with iowait) and stolen by the hypervisor."""
    with open("/proc/stat") as fh:
        values = [int(v) for v in fh.readline().split()[1:]]
    idle = values[3] + values[4]
    steal = values[7] if len(values) > 7 else 0
    return sum(values) / clock_ticks(), idle / clock_ticks(), steal / clock_ticks()


def descendants(root: int, procs: dict) -> set[int]:
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (_, ppid, _) in procs.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


class Sampler(threading.Thread):
    """Every second: PostgreSQL connections to the bench database (ours: PGAPPNAME, and
    all), CPU seconds of gunicorn, locust, postgres and redis, and the machine's."""

    def __init__(self, db: str, appname: str, server_pid: int | list[int]):
        super().__init__(daemon=True)
        self.db, self.appname = db, appname
        self.server_pids = server_pid if isinstance(server_pid, list) else [server_pid]
        self.locust_pid = None
        self.samples: list[dict] = []
        self.done = threading.Event()

    def run(self) -> None:
        seen: dict[int, float] = {}  # pid → CPU seconds at the previous sample
        totals = {"gunicorn": 0.0, "locust": 0.0, "postgres": 0.0, "redis": 0.0, "nginx": 0.0}
        first = True
        with admin_connection() as conn:
            while not self.done.is_set():
                ours, total = conn.execute(
                    "SELECT count(*) FILTER (WHERE application_name = %s), count(*) FROM pg_stat_activity "
                    "WHERE datname = %s", [self.appname, self.db]).fetchone()
                procs = proc_stats()
                groups = {"gunicorn": set().union(*(descendants(pid, procs) for pid in self.server_pids))}
                groups["nginx"] = {p for p, (comm, _, _) in procs.items() if comm.startswith("nginx")}
                if self.locust_pid:
                    groups["locust"] = descendants(self.locust_pid, procs)
                groups["postgres"] = {p for p, (comm, _, _) in procs.items() if comm.startswith("postgres")}
                groups["redis"] = {p for p, (comm, _, _) in procs.items() if comm.startswith("redis")}
                # Accumulate per-process increments: processes come and go (connections,
                # recycled workers), so sums of current totals would jump.
                for name, pids in groups.items():
                    for pid in pids:
                        now_cpu = procs[pid][2]
                        before = seen.get(pid, None if first else 0.0)
                        if before is not None:
                            totals[name] += max(0.0, now_cpu - before)
                current = {pid: procs[pid][2] for pids in groups.values() for pid in pids}
                seen = current
                first = False
                cpu = dict(totals)
                cpu["machine_total"], cpu["machine_idle"], cpu["machine_steal"] = machine_times()
                self.samples.append({"t": time.time(), "pg_ours": ours, "pg_all": total, "cpu": cpu})
                self.done.wait(1.0)

    def summary(self, start: float, end: float) -> dict:
        window = [s for s in self.samples if start <= s["t"] <= end] or self.samples
        if not window:
            return {}
        result = {
            "pg_max_ours": max(s["pg_ours"] for s in window),
            "pg_mean_ours": round(sum(s["pg_ours"] for s in window) / len(window), 1),
            "pg_max_all": max(s["pg_all"] for s in window),
        }
        first, last = window[0], window[-1]
        wall = last["t"] - first["t"]
        if wall > 1:
            cpu = {}
            for name in ("gunicorn", "locust", "postgres", "redis", "nginx"):
                if name in first["cpu"] and name in last["cpu"]:
                    cpu[name] = round(100 * (last["cpu"][name] - first["cpu"][name]) / wall)
            total = last["cpu"]["machine_total"] - first["cpu"]["machine_total"]
            idle = last["cpu"]["machine_idle"] - first["cpu"]["machine_idle"]
            cores = os.cpu_count() or 1
            cpu["machine_busy"] = round(100 * cores * (total - idle) / total) if total else 0
            steal = last["cpu"].get("machine_steal", 0) - first["cpu"].get("machine_steal", 0)
            cpu["other"] = max(0, cpu["machine_busy"] - sum(v for k, v in cpu.items() if k != "machine_busy"))
            cpu["cores"] = cores
            # Part of "other": time the hypervisor gave to other machines (a noisy neighbour).
            cpu["steal"] = round(100 * cores * steal / total) if total else 0
            result["cpu_pct"] = cpu  # % of one core; machine_busy is out of cores × 100
        return result


# --- One locust run ----------------------------------------------------------------------


def read_csv(path: Path) -> list[dict]:
    import csv

    if not path.exists():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def endpoint_row(row: dict) -> dict:
    return {
        "method": row["Type"], "name": row["Name"], "count": int(number(row["Request Count"])),
        "failures": int(number(row["Failure Count"])), "rps": number(row["Requests/s"]),
        "avg": number(row["Average Response Time"]), "p50": number(row["50%"]), "p95": number(row["95%"]),
        "p99": number(row["99%"]), "max": number(row["Max Response Time"]),
    }


def sustained(history: list[dict], names: list[str], start: float, window: int = 10) -> float | None:
    """The lowest rate over `window`-second stretches of the measured part of the run, for
    the requests named `names` (cumulative counts from the full-history CSV)."""
    points: dict[int, float] = {}
    for row in history:
        stamp = int(number(row["Timestamp"]))
        if stamp < start + 1 or row["Name"] not in names:  # the second of the reset may hold older counts
            continue
        points[stamp] = points.get(stamp, 0) + number(row["Total Request Count"])
    stamps = sorted(points)
    rates = []
    for i, stamp in enumerate(stamps):
        later = [s for s in stamps[i + 1:] if s - stamp >= window]
        if later:
            rates.append((points[later[0]] - points[stamp]) / (later[0] - stamp))
    return round(min(rates), 1) if rates else None


RUNS: list[dict] = []
RESULTS_FILE: Path
SECRET_KEY = secrets.token_urlsafe(50)
INVOCATION = env("BENCH_RESUME", datetime.now().strftime("%Y%m%d-%H%M%S"))
# Cache key prefixes are unique to this process too: a resumed stage must not find the cache
# (cached session users, cached reads) its earlier run left under the same label.
CACHE_RUN = f"bench_{INVOCATION}_{secrets.token_hex(3)}".replace("-", "_")
OUT = TMP / INVOCATION
LATENCY_ENDPOINTS = env("BENCH_LATENCY_ENDPOINTS", "stats scans lookup child").split()
LATENCY_DURATION = seconds(env("BENCH_LATENCY_DURATION", "20s"))
LATENCY_WORKERS = env("BENCH_LATENCY_WORKERS", DEPLOYED_WORKERS)


def locust_run(*, label: str, stage: str, config: dict, size: str, classes: list[str], users: int, duration: int,
               extra_env: dict | None = None, locust_env: dict | None = None, spawn_rate: float | None = None,
               root: Path = BASE, db: str | None = None, build: str | None = None, servers: int = 0,
               meta: dict | None = None) -> dict:
    """prepare → gunicorn → locust (+ samplers) → stop; the run's figures. `root` is the
    checkout whose code serves (and prepares) the run, on database `db`. With `servers`,
    that many app servers run behind nginx (Debian's), which locust talks to."""
    rundir = OUT / label
    rundir.mkdir(parents=True, exist_ok=True)
    db = db or db_name(size)
    prefix = f"{CACHE_RUN}_{label}".replace("-", "_")
    appname = f"ttbench-{label}"[:60]
    extra_env = extra_env or {}
    spawn_rate = spawn_rate or SPAWN_RATE
    log(f"{label}: {config['label']} on {db}, {users} users × {duration}s ({' '.join(classes)})")

    prep_env = django_env(db, prefix)
    prep_env.update(extra_env)
    # Uncached bag reads name bags not read before in the run: a larger sample of codes.
    sample = ["--sample", "50000"] if (locust_env or {}).get("BENCH_UNCACHED") == "1" and root == BASE else []
    subprocess.run([venv_bin(root, "python"), str(root / "bench" / "prepare.py"), "--out", str(rundir / "data.json"),
                    "--users", str(max(USERS + [COMPARE_USERS, PACE_OPERATORS, BATCH_USERS, LOGINS_OPERATORS + LOGINS,
                                                10])),
                    "--admins", str(max(64, CAPACITY_USERS, SCALE_USERS, BUILDS_USERS)), *sample],
                   cwd=root, env=prep_env, check=True, stdout=open(rundir / "prepare.log", "w"),  # noqa: SIM115
                   stderr=subprocess.STDOUT)
    data = json.loads((rundir / "data.json").read_text())

    app_servers = [Server(config, db, rundir / f"server{n}" if servers else rundir, prefix, appname, extra_env,
                          root=root) for n in range(max(servers, 1))]
    server = app_servers[0]
    proxy = NginxProxy([s.port for s in app_servers], rundir) if servers else None
    target = proxy.url if proxy else server.url
    sampler = Sampler(db, appname, [s.proc.pid for s in app_servers])
    sampler.start()
    proc = None
    result: dict = {"label": label, "stage": stage, "config": config["label"],
                    "commit": build or SETTINGS["commit"], "build": build or "this",
                    "db": db, "size": size,
                    "bags": data.get("bags"), "users": users, "classes": classes, "duration": duration,
                    "env": {**extra_env, **(locust_env or {})}, **(meta or {})}
    try:
        ramp = math.ceil(users / spawn_rate)
        total = ramp + WARMUP + duration + 1
        lenv = dict(os.environ)
        lenv.update({"BENCH_DATA": str(rundir / "data.json"), "BENCH_MARKS": str(rundir / "marks.json"),
                     "BENCH_WARMUP": str(WARMUP), "BENCH_CACHE_PREFIX": prefix, "REDIS_URL": REDIS,
                     "BENCH_BILL_SIZE": BILL_SIZE, **(locust_env or {})})
        command = [LOCUST, "-f", LOCUSTFILE, "--headless", "--host", target, "-u", str(users),
                   "-r", str(spawn_rate), "-t", f"{int(total)}s", "--csv", str(rundir / "locust"),
                   "--csv-full-history", "--only-summary", "--exit-code-on-error", "0",
                   "--logfile", str(rundir / "locust.log"), "--loglevel", "WARNING", *classes]
        with open(rundir / "locust.out", "w") as out:
            proc = subprocess.Popen(command, cwd=BASE, env=lenv, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            sampler.locust_pid = proc.pid
            try:
                proc.wait(timeout=total + 120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait()
                raise RuntimeError(f"locust did not finish; see {rundir}") from None
    finally:
        if proc is not None and proc.poll() is None:  # interrupted: stop our locust too
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait()
        sampler.done.set()
        sampler.join(timeout=5)
        if proxy is not None:
            proxy.stop()
        for app_server in app_servers:
            app_server.stop()

    if not (rundir / "marks.json").exists():
        raise RuntimeError(f"locust produced no results; see {rundir / 'locust.out'}")
    marks = json.loads((rundir / "marks.json").read_text())
    start = marks.get("marks", {}).get("measure_start") or marks.get("marks", {}).get("spawned") or 0
    end = marks.get("marks", {}).get("measure_end") or time.time()
    rows = read_csv(rundir / "locust_stats.csv")
    result["endpoints"] = [endpoint_row(r) for r in rows if r["Name"] != "Aggregated"]
    result["aggregate"] = next((endpoint_row(r) for r in rows if r["Name"] == "Aggregated"), {})
    result["failures"] = [{"method": r["Method"], "name": r["Name"], "error": r["Error"],
                           "count": int(number(r["Occurrences"]))} for r in read_csv(rundir / "locust_failures.csv")]
    result["all_failures"] = marks.get("all_failures", [])
    result["tally"] = marks.get("tally", {})
    result["users_started"] = marks.get("users", {})
    result["parents_left"] = marks.get("parents_left")
    result["viewer_ms"] = marks.get("viewer_ms")
    result["billable_listed"] = marks.get("marks", {}).get("billable_listed")
    # With several servers behind nginx /metrics answers for one of them: not the run's.
    result["cache_reads"] = cache_reads_delta(marks.get("cache_reads", {})) if not servers or servers == 1 else None
    result["window"] = [start, end]
    result["measured_s"] = round(end - start, 1) if start else None
    scan_rows = [e for e in result["endpoints"] if e["method"] == "POST" and e["name"] in SCAN_NAMES]
    result["scans_per_s"] = round(sum(e["rps"] for e in scan_rows), 1)
    if "BatchUser" in classes:  # scans/s: the successful child items of the batches
        batch_items = result["tally"].get("batch child items ok", 0)
        result["batch_child_scans_per_s"] = round(batch_items / result["measured_s"], 1) if result["measured_s"] else None
        result["scans_per_s"] = result["batch_child_scans_per_s"] or 0
    result["scans_per_s_min10"] = sustained(read_csv(rundir / "locust_stats_history.csv"), SCAN_NAMES, start)
    result.update(sampler.summary(start, end))
    result["server"] = {key: sum(s.problems()[key] for s in app_servers) for key in server.problems()}
    result["app_servers"] = max(servers, 1)
    result["through_nginx"] = bool(servers)
    agg = result["aggregate"]
    log(f"{label}: {agg.get('rps', 0):.0f} req/s, p50/p95/p99 {agg.get('p50', 0):.0f}/{agg.get('p95', 0):.0f}/"
        f"{agg.get('p99', 0):.0f} ms, {agg.get('failures', 0)} failures, {result['scans_per_s']} scans/s, "
        f"pg max {result.get('pg_max_ours')}, cpu {result.get('cpu_pct', {})}")
    RUNS[:] = [run for run in RUNS if run["label"] != label]  # a resumed stage run again replaces its runs
    RUNS.append(result)
    RESULTS_FILE.write_text(json.dumps({"invocation": INVOCATION, "settings": SETTINGS, "runs": RUNS}, indent=1))
    return result


# --- Stages ----------------------------------------------------------------------------


def baseline_checkout() -> tuple[Path, str]:
    """BENCH_BASELINE checked out beside this tree (a git worktree under bench/tmp). It runs
    with this tree's virtualenv when its requirements.txt is the same, else with its own,
    made once from its requirements (`make venv` in the worktree; pip's cache makes it quick)."""
    sha = subprocess.run(["git", "rev-parse", "--short", f"{BASELINE}^{{commit}}"], cwd=BASE, check=True,
                         capture_output=True, text=True).stdout.strip()
    root = TMP / f"build-{sha}"
    if not (root / "manage.py").exists():
        subprocess.run(["git", "worktree", "prune"], cwd=BASE, check=True)
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(root), sha], cwd=BASE, check=True,
                       capture_output=True)
    if (root / "requirements.txt").read_text() != (BASE / "requirements.txt").read_text() \
            and not (root / ".venv" / ".installed").exists():
        log(f"builds: {sha} has other requirements: its own virtualenv in {root.relative_to(BASE)}/.venv")
        subprocess.run(["make", "venv"], cwd=root, check=True, stdout=subprocess.DEVNULL)
    return root, sha


class OtlpSink(threading.Thread):
    """A stand-in OpenTelemetry collector: accepts every OTLP/HTTP export and drops it, so
    the run with tracing on pays for making and sending the spans, not for storing them."""

    def __init__(self):
        super().__init__(daemon=True)
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def run(self):
        self.server.serve_forever()


def builds_stage(config: dict) -> None:
    root, sha = baseline_checkout()
    base_db = f"{db_name(MAIN)}_{sha}"
    log(f"builds: {BASELINE} ({sha}) in {root.relative_to(BASE)} on {base_db}, against this build")
    ensure_database(MAIN, name=base_db, root=root, build=sha)
    # Logging as deployed (INFO: a request line and an access line per request), not the
    # other stages' WARNING: what logging costs is part of what is compared.
    deployed_logs = {**UNLIMITED, "LOG_LEVEL": "INFO"}
    sink = OtlpSink()
    sink.start()
    try:
        for endpoint in BUILDS_ENDPOINTS:
            for n in range(1, BUILDS_REPEAT + 1):
                variants = [("before", sha, {"root": root, "db": base_db}, {}), ("after", None, {}, {})]
                if endpoint in BUILDS_TRACED:
                    variants.append(("after-traced", None, {}, {"OTEL_EXPORTER_OTLP_ENDPOINT": sink.url}))
                for name, build, kwargs, extra in variants:
                    locust_run(label=f"builds-{endpoint}-{name}-{n}", stage="builds", config=config, size=MAIN,
                               classes=["CapacityUser"], users=BUILDS_USERS, duration=BUILDS_DURATION,
                               extra_env={**deployed_logs, **extra}, build=build,
                               locust_env={"BENCH_ENDPOINT": endpoint, "BENCH_UNCACHED": "1"},
                               meta={"endpoint": endpoint, "variant": name, "repeat": n}, **kwargs)
    finally:
        sink.server.shutdown()


def pace_stage() -> None:
    """Operators at human pace and people reading, on the deployed configuration; when scan
    p95 misses 50 ms, again with fewer operators (BENCH_PACE_STEPS) until one count meets it."""
    config = parse_config(PACE_WORKERS)
    counts = [PACE_OPERATORS] + sorted((n for n in PACE_STEPS if 0 < n < PACE_OPERATORS), reverse=True)
    for operators in counts:
        result = locust_run(label=f"pace-{operators}", stage="pace", config=config, size=MAIN,
                            classes=["PaceOperatorUser", "ViewerUser"], users=operators + PACE_VIEWERS,
                            duration=PACE_DURATION,
                            locust_env={"BENCH_PACE_OPERATORS": str(operators), "BENCH_PACE_VIEWERS": str(PACE_VIEWERS),
                                        "BENCH_SCAN_WAIT": PACE_SCAN_WAIT, "BENCH_VIEW_WAIT": VIEW_WAIT},
                            meta={"operators": operators, "viewers": PACE_VIEWERS, "scan_wait": PACE_SCAN_WAIT})
        p95 = scan_p(result, "p95")
        log(f"pace-{operators}: scan p95 {p95:.0f} ms, p99 {scan_p(result, 'p99'):.0f} ms, "
            f"viewer p95 {(result.get('viewer_ms') or {}).get('p95', '–')} ms")
        if p95 < 50:
            break


def batch_stage() -> None:
    result = locust_run(label="batch", stage="batch", config=parse_config(BATCH_WORKERS), size=MAIN,
                        classes=["BatchUser"], users=BATCH_USERS, duration=BATCH_DURATION, extra_env=UNLIMITED,
                        locust_env={"BENCH_BATCH_PARENT": BATCH_PARENT}, meta={"batch_parent": BATCH_PARENT})
    missing = {k: v for k, v in result.get("tally", {}).items() if k.startswith("batch endpoint answered")}
    if missing:
        log(f"batch: POST /api/v1/scans/batch/ is not on this build ({', '.join(missing)})")
    else:
        log(f"batch: {result.get('batch_child_scans_per_s')} child scans/s")


def logins_stage() -> None:
    """Operators logging in at shift start while others scan (settings: LOGINS_*)."""
    config = parse_config(PACE_WORKERS)
    for hasher in LOGINS_HASHERS:
        result = locust_run(
            label=f"logins-{hasher}", stage="logins", config=config, size=MAIN,
            classes=["PaceOperatorUser", "LoginStormUser"], users=LOGINS_OPERATORS + LOGINS,
            duration=LOGINS_SECONDS + 10, extra_env={"BENCH_PASSWORD_HASHER": hasher},
            locust_env={"BENCH_PACE_OPERATORS": str(LOGINS_OPERATORS), "BENCH_LOGINS": str(LOGINS),
                        "BENCH_LOGINS_SECONDS": str(LOGINS_SECONDS), "BENCH_SCAN_WAIT": PACE_SCAN_WAIT},
            meta={"hasher": hasher, "logins": LOGINS, "operators": LOGINS_OPERATORS, "seconds": LOGINS_SECONDS})
        tally = result.get("tally", {})
        log(f"logins-{hasher}: {tally.get('storm logins', 0)} of {LOGINS} logged in, "
            f"{tally.get('storm logins refused', 0)} refused; scan p95 {scan_p(result, 'p95'):.0f} ms")


def cache_reads_delta(scrapes: dict) -> dict:
    """The app's cached-read counters over the measured part of a run, per read name:
    {"reads": {read: {"hit": n, "miss": n}}}, or {"error": why}."""
    start, end = scrapes.get("start") or {}, scrapes.get("end") or {}
    if "error" in end or "error" in start or not end:
        return {"error": end.get("error") or start.get("error") or "not read"}
    reads = {}
    for name, outcomes in end.get("reads", {}).items():
        before = start.get("reads", {}).get(name, {})
        reads[name] = {outcome: round(value - before.get(outcome, 0.0)) for outcome, value in outcomes.items()}
    return {"reads": reads}


def scan_p(result: dict, key: str) -> float:
    names = SCAN_NAMES + ["/api/v1/scans/undo/", "/api/v1/bills/[id]/parents/"]
    return max((e[key] for e in result["endpoints"] if e["method"] == "POST" and e["name"] in names), default=0)


def choose(results: list[dict]) -> dict:
    """No failures first, then the lowest scan p95, then p99, then the most requests."""
    def key(r):
        return (r["aggregate"].get("failures", 1) > 0 or r["server"]["5xx logged"] > 0,
                scan_p(r, "p95"), scan_p(r, "p99"), -r["aggregate"].get("rps", 0))
    return min(results, key=key)


SETTINGS: dict = {}
# Settings of one stage: a resumed bench keeps the earlier run's unless this one runs the stage.
STAGE_SETTINGS = {"builds_endpoints": "builds", "builds_traced": "builds", "bill_size": "builds", "pace": "pace",
                  "batch": "batch", "logins": "logins"}
OUTPUTS = ("REPORT.md", "EXPLAIN.md", "PROFILE.md", "chart.png")  # what a run writes into bench/


def main() -> None:
    global RESULTS_FILE
    OUT.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE = OUT / "results.json"
    resumed = {}
    if os.environ.get("BENCH_RESUME") and RESULTS_FILE.exists():
        resumed = json.loads(RESULTS_FILE.read_text())
        RUNS.extend(resumed.get("runs", []))
    SETTINGS.update({
        "sizes": SIZES, "main": MAIN, "users": USERS, "duration": DURATION, "spawn_rate": SPAWN_RATE,
        "warmup": WARMUP, "classes": CLASSES, "compare_users": COMPARE_USERS, "compare_duration": COMPARE_DURATION,
        "capacity_endpoints": CAPACITY_ENDPOINTS, "capacity_users": CAPACITY_USERS,
        "capacity_duration": CAPACITY_DURATION, "scale_users": SCALE_USERS, "scale_duration": SCALE_DURATION,
        "stages": STAGES, "login_rate": LOGIN_RATE, "baseline": BASELINE, "gevent_pool": GEVENT_POOL,
        "builds_endpoints": BUILDS_ENDPOINTS, "builds_traced": BUILDS_TRACED, "builds_workers": BUILDS_WORKERS,
        "bill_size": int(BILL_SIZE),
        "pace": {"operators": PACE_OPERATORS, "viewers": PACE_VIEWERS, "duration": PACE_DURATION,
                 "scan_wait": PACE_SCAN_WAIT, "view_wait": VIEW_WAIT, "steps": PACE_STEPS, "workers": PACE_WORKERS},
        "batch": {"users": BATCH_USERS, "duration": BATCH_DURATION, "parent": BATCH_PARENT, "workers": BATCH_WORKERS},
        "logins": {"logins": LOGINS, "seconds": LOGINS_SECONDS, "operators": LOGINS_OPERATORS,
                   "hashers": LOGINS_HASHERS, "workers": PACE_WORKERS},
        "unlimited": UNLIMITED, "started": datetime.now().isoformat(timespec="seconds"),
        "cores": os.cpu_count(), "loadavg_before": os.getloadavg(),
        "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BASE, capture_output=True,
                                 text=True).stdout.strip(),
        # Uncommitted changes to the code measured; the bench's own outputs do not count.
        "dirty": bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                      *(f":!bench/{name}" for name in OUTPUTS)], cwd=BASE,
                                     capture_output=True, text=True).stdout.strip()),
    })
    if resumed:
        SETTINGS.update({key: value for key, value in resumed.get("settings", {}).items()
                         if key in ("chosen", "classes", "compare_users", "compare_duration", "capacity_endpoints",
                                    "capacity_users", "capacity_duration", "users", "duration", "sizes",
                                    "scale_users", "scale_duration", "loadavg_before", "elapsed_s")
                         or (key in STAGE_SETTINGS and STAGE_SETTINGS[key] not in STAGES)})
    log(f"output in {OUT.relative_to(BASE)}")
    started = time.monotonic()
    if "setup" in STAGES:
        for label in dict.fromkeys([MAIN, *SIZES]):
            ensure_database(label)
        collect_static()

    chosen = env("BENCH_WORKERS", "") or (SETTINGS.get("chosen", "") if resumed else "")
    if "compare" in STAGES and not chosen and len(CLASSES) > 1:
        compared = [locust_run(label=f"compare-{c.replace(':', '-')}", stage="compare", config=parse_config(c),
                               size=MAIN, classes=MIXED, users=COMPARE_USERS, duration=COMPARE_DURATION)
                    for c in CLASSES]
        chosen = choose(compared)["config"]
        log(f"chosen worker configuration: {chosen}")
    chosen = chosen or CLASSES[0]
    SETTINGS["chosen"] = chosen
    config = parse_config(chosen)

    if "capacity" in STAGES:
        unlimited = UNLIMITED
        for endpoint in CAPACITY_ENDPOINTS:
            locust_run(label=f"capacity-{endpoint}", stage="capacity", config=config, size=MAIN,
                       classes=["CapacityUser"], users=CAPACITY_USERS, duration=CAPACITY_DURATION,
                       extra_env=unlimited, locust_env={"BENCH_ENDPOINT": endpoint, "BENCH_UNCACHED": "1"})
    if "steps" in STAGES:
        for users in USERS:
            locust_run(label=f"steps-{users}", stage="steps", config=config, size=MAIN, classes=MIXED, users=users,
                       duration=DURATION)
    if "scale" in STAGES:
        for size in SIZES:
            locust_run(label=f"scale-{size}", stage="scale", config=config, size=size, classes=["ScaleUser"],
                       users=SCALE_USERS, duration=SCALE_DURATION, locust_env={"BENCH_UNCACHED": "1"})
    if "latency" in STAGES:
        # One client, closed loop, reads uncached: how long one request takes when the server
        # is not queueing (what "answers in under 10 ms" means), at the main size, on the
        # configuration deployed by default.
        unlimited = UNLIMITED
        for endpoint in LATENCY_ENDPOINTS:
            locust_run(label=f"latency-{endpoint}", stage="latency", config=parse_config(LATENCY_WORKERS), size=MAIN,
                       classes=["CapacityUser"], users=1, duration=LATENCY_DURATION,
                       extra_env=unlimited, locust_env={"BENCH_ENDPOINT": endpoint, "BENCH_UNCACHED": "1"})
    if "builds" in STAGES:
        builds_stage(parse_config(BUILDS_WORKERS))
    if "pace" in STAGES:
        pace_stage()
    if "batch" in STAGES:
        batch_stage()
    if "logins" in STAGES:
        logins_stage()
    if "servers" in STAGES:
        # Horizontal scaling: the same mixed load through nginx to one app server, then two.
        for count in (1, 2):
            locust_run(label=f"servers-{count}", stage="servers", config=parse_config(SERVERS_WORKERS), size=MAIN,
                       classes=MIXED, users=SERVERS_USERS, duration=SERVERS_DURATION, servers=count)
    if "import" in STAGES:
        log(f"import: {IMPORT_ROWS:,} rows through the background-job path on {db_name(MAIN)}")
        rundir = OUT / "import"
        rundir.mkdir(parents=True, exist_ok=True)
        import_env = django_env(db_name(MAIN), f"{CACHE_RUN}_import")
        import_env["LOG_LEVEL"] = "INFO"
        subprocess.run([PY, str(BENCH / "import_job.py"), "--rows", str(IMPORT_ROWS), "--out",
                        str(rundir / "import.json"), "--workdir", str(rundir)], cwd=BASE, env=import_env, check=True,
                       stdout=open(rundir / "import.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        imported = json.loads((rundir / "import.json").read_text())
        SETTINGS["import"] = imported
        log(f"import: checked in {imported['check_s']} s, committed in {imported['commit_s']} s")
        subprocess.run([PY, str(BENCH / "prepare.py"), "--out", str(rundir / "cleanup.json"), "--users", "1",
                        "--admins", "1"], cwd=BASE, env=import_env, check=True,
                       stdout=open(rundir / "cleanup.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    if "explain" in STAGES:
        # EXPLAIN (ANALYZE, BUFFERS) of every hot query at the main size; kept whole next to
        # the report (bench/EXPLAIN.md), summarised in it.
        log(f"explain: every hot query on {db_name(MAIN)}")
        subprocess.run([PY, str(BENCH / "explain.py"), "--database-url", f"{PG}/{db_name(MAIN)}",
                        "--out", str(OUT / "explain.md")], cwd=BASE, check=True,
                       stdout=open(OUT / "explain.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    if "profile" in STAGES:
        # pyinstrument call trees of the hot endpoints: where a request's time goes.
        log(f"profile: pyinstrument on {db_name(MAIN)}")
        prof_env = django_env(db_name(MAIN), f"{CACHE_RUN}_profile")
        subprocess.run([PY, str(BENCH / "profile.py"), "--database-url", f"{PG}/{db_name(MAIN)}",
                        "--out", str(OUT / "profile.md")], cwd=BASE, env=prof_env, check=True,
                       stdout=open(OUT / "profile.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
    if "pages" in STAGES:
        # Admin changelists and operator pages, timed one request at a time on the chosen
        # configuration at the main size.
        rundir = OUT / "pages"
        rundir.mkdir(parents=True, exist_ok=True)
        log(f"pages: admin and operator pages on {db_name(MAIN)}")
        server = Server(config, db_name(MAIN), rundir, f"{CACHE_RUN}_pages", "ttbench-pages", {})
        try:
            subprocess.run([PY, str(BENCH / "pages.py"), "--base-url", server.url, "--database-url",
                            f"{PG}/{db_name(MAIN)}", "--out", str(OUT / "pages.md")], cwd=BASE, check=True,
                           stdout=open(rundir / "pages.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        finally:
            server.stop()
    SETTINGS["elapsed_s"] = SETTINGS.get("elapsed_s", 0) * bool(resumed) + round(time.monotonic() - started)
    RESULTS_FILE.write_text(json.dumps({"invocation": INVOCATION, "settings": SETTINGS, "runs": RUNS}, indent=1))
    if "report" in STAGES:
        subprocess.run([PY, str(BENCH / "report.py"), str(RESULTS_FILE)], cwd=BASE, check=True)
    log(f"done in {SETTINGS['elapsed_s']}s; raw results {RESULTS_FILE.relative_to(BASE)}")


def interrupted(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # Ctrl-C or a kill: unwind, so that the finally blocks stop our gunicorn and locust
    # (they run in their own sessions and do not get the terminal's signals).
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        main()
    except KeyboardInterrupt:
        log("interrupted; servers and locust stopped")
        sys.exit(130)
