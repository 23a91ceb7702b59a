"""TraceTrack load: the people who use it, in realistic proportions (`make bench` runs it).

Mixed load (the classes `bench/run.py` passes for its steps and worker-class comparison):

- OperatorUser (72%): a dispatcher on the scan page. Scans a new parent, then 30 children
  one by one (a wedge scanner: ~0.6 s apart), now and then a duplicate (a child rescanned,
  200 `duplicate`), an undo followed by the right bag, a network retry with the same
  `scan_id` (idempotent replay), a resumed parent (200) and a reload of /scan/<parent>/.
  Then a pause while the next sack is fetched; rarely logs out and in again.
- LookupUser (10%): a dispatcher looking bags of their area up: /lookup/?q=, the bag API,
  prefix suggestions; a few unknown codes (404 expected).
- BillerUser (6%): lists completed parents that are on no bill, creates a bill for some of
  them, opens its page, scans the parents onto it and completes it.
- IntegratorUser (6%): a program with a Bearer token polling new scans (`since`) and paging
  scans and bags with the `next` cursors.
- DashboardUser (6%): an admin with /dashboard/ open (the fragment every 5 s) and the stats.

Other classes, run alone by `bench/run.py`:

- ScaleUser: lookup, child scan, stats and scans list, for the scale check across data sizes.
- CapacityUser: one endpoint (BENCH_ENDPOINT) as fast as possible, to compare its
  throughput with the framework floor (/health/). Endpoints: health, lookup, child,
  parent (a new parent each time), undo (a child scan, then its undo: both requests are
  made, the undo is the one measured), bill_parents (an admin puts parents on a bill of
  BENCH_BILL_SIZE, then deletes the bill, which frees them again: one bill create and one
  bill delete per BENCH_BILL_SIZE parents), stats, scans, lookup_page, dashboard, billable.
- PaceOperatorUser + ViewerUser (the `pace` stage): BENCH_PACE_OPERATORS operators exactly
  as OperatorUser (BENCH_SCAN_WAIT between scans, 1-3 s there) and BENCH_PACE_VIEWERS
  dispatchers reading (bag lookups, stats, pages of scans; BENCH_VIEW_WAIT s between).
- BatchUser (the `batch` stage): an operator's offline queue, closed loop: one
  `POST /api/v1/scans/batch/` per fresh parent (BENCH_BATCH_PARENT=item: the parent as the
  first item and 29 children; =separate: the parent scanned alone first, then 30 children).

Users come pre-logged-in (sessions and tokens made by `bench/prepare.py`, file in
BENCH_DATA): operators log in once per shift, and hashing hundreds of passwords at start
would measure PBKDF2. A small share still logs in for real (BENCH_LOGIN_SHARE).

Expected refusals (404 for an unknown code, 200 `duplicate`) count as successes only
where they are the intended outcome; anything else is a failure named `<status> <code>`.
Requests are named by endpoint template, so the statistics aggregate per endpoint.

Cached reads: with BENCH_UNCACHED=1 every bag read (lookup, lookup page) names a bag not
read before in this run, so that no build answers it from a cache (this one caches no API
read; builds before issue 16 cached them per bag until the next write); the other reads are
served as the build serves them. The app's cache counters
(`tracetrack_cache_reads_total{read, outcome}` at /metrics) are read when the statistics
are reset and when the run stops, into BENCH_MARKS (`cache_reads`): the hit ratio of the
measured part of the run.

Knobs (environment): BENCH_DATA, BENCH_MARKS, BENCH_WARMUP (s after spawning before the
statistics are reset), BENCH_SCAN_WAIT ("0.4-0.8" s between scans), BENCH_LOGIN_SHARE,
BENCH_UNCACHED (1: bag reads name bags not read before), BENCH_ENDPOINT, BENCH_CAPACITY,
BENCH_BILL_SIZE (40), BENCH_PACE_OPERATORS (200), BENCH_PACE_VIEWERS (40), BENCH_VIEW_WAIT
("2-5"), BENCH_BATCH_PARENT (item), BENCH_METRICS_TOKEN (sent to /metrics when set).
"""

import collections
import http.cookiejar
import itertools
import json
import os
import random
import re
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode, urlparse

import gevent
import gevent.lock
from locust import FastHttpUser, between, constant, events, task


def _env_range(name: str, default: str) -> tuple[float, float]:
    low, _, high = os.environ.get(name, default).partition("-")
    return float(low), float(high or low)


DATA_PATH = os.environ.get("BENCH_DATA", "")
DATA = None
if DATA_PATH:
    with open(DATA_PATH) as _file:
        DATA = json.load(_file)
CAPACITY = int(os.environ.get("BENCH_CAPACITY", "30"))
SCAN_WAIT = _env_range("BENCH_SCAN_WAIT", "0.4-0.8")
NEXT_PARENT_WAIT = _env_range("BENCH_NEXT_PARENT_WAIT", "2-5")
LOGIN_SHARE = float(os.environ.get("BENCH_LOGIN_SHARE", "0.02"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "5"))
UNCACHED = os.environ.get("BENCH_UNCACHED", "0") == "1"
ENDPOINT = os.environ.get("BENCH_ENDPOINT", "health")
BILL_SIZE = int(os.environ.get("BENCH_BILL_SIZE", "40"))
PACE_OPERATORS = int(os.environ.get("BENCH_PACE_OPERATORS", "200"))
PACE_VIEWERS = int(os.environ.get("BENCH_PACE_VIEWERS", "40"))
VIEW_WAIT = _env_range("BENCH_VIEW_WAIT", "2-5")
BATCH_PARENT = os.environ.get("BENCH_BATCH_PARENT", "item")
BATCH_MAX = 30  # items per batch (API.md)
P_DUPLICATE, P_UNDO, P_RETRY, P_RESUME, P_PAGE, P_RELOGIN = 0.03, 0.02, 0.01, 0.05, 0.10, 0.01

# Shared by all users of this (single) locust process.
PARENTS = collections.deque(DATA["parent_codes"] if DATA else [])
CLAIMED: set[str] = set()  # parents a biller has picked for a bill
INDEXES: dict[str, itertools.count] = collections.defaultdict(itertools.count)
TALLY: collections.Counter = collections.Counter()
MARKS: dict[str, float] = {}
STARTED: collections.Counter = collections.Counter()  # users started, per class
ALL_FAILURES: collections.Counter = collections.Counter()  # (method, name, error), warm-up included
CACHE_READS: dict[str, dict] = {}  # "start"/"end" → the app's cache counters at /metrics then
BILLABLE: collections.deque = collections.deque()  # existing parents on no bill (bill_parents)
BILLABLE_LOCK = gevent.lock.Semaphore()
FRESH: collections.deque = collections.deque()  # bag codes not read yet in this run (BENCH_UNCACHED)
FRESH_ROUNDS = itertools.count()
VIEWER_MS: list[float] = []  # response times of ViewerUser requests while measured


def all_codes() -> list[str]:
    return [code for codes in (DATA["codes"].values() if DATA else []) for code in codes] or ["SB00001"]


def fresh_code() -> str:
    """A bag not read before in this run, so that no build answers it from a cache. When
    the sample is used up it is read again, counted in the tally."""
    if not FRESH:
        codes = all_codes()
        random.shuffle(codes)
        FRESH.extend(codes)
        if next(FRESH_ROUNDS):
            TALLY["bag sample read again (used up)"] += 1
    return FRESH.popleft()


_METRIC_LINE = re.compile(r"^tracetrack_cache_reads(?:_total)?\{([^}]*)\}\s+(\S+)")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def cache_reads() -> dict:
    """The app's cached-read counters at /metrics: {"reads": {read: {outcome: count}}} (empty
    when the app has no such counter, or counted nothing yet), or {"error": why}."""
    if ENVIRONMENT is None or not ENVIRONMENT.host:
        return {"error": "no host"}
    request = urllib.request.Request(ENVIRONMENT.host.rstrip("/") + "/metrics")
    token = os.environ.get("BENCH_METRICS_TOKEN", "")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            text = answer.read().decode("utf-8", "replace")
    except Exception as exc:  # noqa: BLE001 - reported in the results, never fatal
        return {"error": f"{type(exc).__name__}: {exc}"}
    reads: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        match = _METRIC_LINE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match.group(1)))
        try:
            value = float(match.group(2))
        except ValueError:
            continue
        slot = reads.setdefault(labels.get("read", "?"), {})
        outcome = labels.get("outcome", "?")
        slot[outcome] = slot.get(outcome, 0.0) + value
    return {"reads": reads, "at": time.time()}


def take_parent() -> str | None:
    if PARENTS:
        TALLY["parents taken"] += 1
        return PARENTS.popleft()
    TALLY["parent pool empty"] += 1
    return None


ENVIRONMENT = None


@events.init.add_listener
def _remember_environment(environment, **kwargs):
    global ENVIRONMENT
    ENVIRONMENT = environment


@events.spawning_complete.add_listener
def _start_measuring(user_count, **kwargs):
    """Statistics cover the steady state: reset them BENCH_WARMUP s after the last user
    started (page loads, the few real logins and the pools filling happen before)."""

    def reset():
        CACHE_READS["start"] = cache_reads()
        ENVIRONMENT.runner.stats.reset_all()
        MARKS["measure_start"] = time.time()
        TALLY.clear()

    MARKS["spawned"] = time.time()
    gevent.spawn_later(WARMUP, reset)


@events.request.add_listener
def _count_failure(request_type, name, response_time=None, exception=None, context=None, **kwargs):
    if exception is not None:
        ALL_FAILURES[(request_type, name, str(exception))] += 1
    if context and context.get("viewer") and "measure_start" in MARKS and response_time is not None:
        VIEWER_MS.append(response_time)


def percentiles(values: list[float]) -> dict:
    """Nearest-rank p50/p95/p99 (ms) of all the values, whatever their endpoint."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, max(0, int(q * len(ordered) + 0.999999) - 1))], 1)

    return {"count": len(ordered), "p50": rank(0.50), "p95": rank(0.95), "p99": rank(0.99),
            "max": round(ordered[-1], 1)}


@events.test_stop.add_listener
def _write_marks(**kwargs):
    MARKS["measure_end"] = time.time()
    CACHE_READS["end"] = cache_reads()
    path = os.environ.get("BENCH_MARKS")
    if path:
        with open(path, "w") as fh:
            json.dump({
                "marks": MARKS, "tally": dict(TALLY), "parents_left": len(PARENTS), "users": dict(STARTED),
                "all_failures": [{"method": m, "name": n, "error": e, "count": c}
                                 for (m, n, e), c in ALL_FAILURES.most_common()],
                "cache_reads": CACHE_READS, "viewer_ms": percentiles(VIEWER_MS),
            }, fh)


def describe(response) -> str:
    """A failure's kind: status and the API error code (or the connection error)."""
    if not response.status_code:
        return f"connection error: {type(response.error).__name__ if response.error else 'none'}"
    code = ""
    try:
        body = json.loads(response.text or "")
        if isinstance(body, dict):
            code = body.get("code", "")
    except ValueError:
        pass
    return f"{response.status_code} {code}".strip()


def child_count_is(count: int):
    return lambda response: response.json()["parent"]["child_count"] == count


def removed_is(code: str):
    return lambda response: response.json()["removed"] == code


class BenchUser(FastHttpUser):
    abstract = True
    kind = ""  # bench user group in BENCH_DATA: op, lk, bill, adm, int
    page = ""  # the page this user opens first (and takes its CSRF cookie from)
    wait_time = constant(0)

    def take_account(self) -> None:
        """The next bench account of this user's kind."""
        if DATA is None:
            raise RuntimeError("BENCH_DATA is not set: run `make bench` (bench/run.py) or bench/prepare.py first")
        group = DATA["users"][self.kind]
        STARTED[type(self).__name__] += 1
        self.index = next(INDEXES[self.kind])
        self.account = group[self.index % len(group)]
        self.uid = self.index
        self.seq = itertools.count(1)
        self.csrf = ""
        self.headers = {}

    def on_start(self):
        self.take_account()
        if "token" in self.account:
            self.headers = {"Authorization": f"Bearer {self.account['token']}"}
        elif random.random() < LOGIN_SHARE:
            self.login()
        else:
            self.set_cookie(DATA["session_cookie"], self.account["session"])
        if self.page:
            self.open(self.page, self.page)

    # -- helpers ---------------------------------------------------------------------------

    def pause(self, bounds: tuple[float, float]) -> None:
        gevent.sleep(random.uniform(*bounds))

    def set_cookie(self, name: str, value: str) -> None:
        host = urlparse(self.host).hostname or "127.0.0.1"
        domain = host if "." in host else host + ".local"
        self.client.cookiejar.set_cookie(http.cookiejar.Cookie(
            0, name, value, None, False, domain, False, False, "/", True, False, None, True, None, None, {}))

    def cookie(self, name: str) -> str:
        for item in self.client.cookiejar:
            if item.name == name:
                return item.value
        return ""

    def call(self, method: str, path: str, name: str, *, expect=(200,), json_body=None, form=None, check=None,
             headers=None):
        """One request; a success when the status is one of `expect` and `check(response)`
        (if given) holds. Returns the response."""
        all_headers = dict(self.headers)
        if method != "GET" and "Authorization" not in all_headers:
            all_headers["X-CSRFToken"] = self.csrf
        if headers:
            all_headers.update(headers)
        data = None
        if form is not None:
            data = urlencode(form)
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        with self.client.request(method, path, name=name, json=json_body, data=data, headers=all_headers,
                                 catch_response=True, allow_redirects=False) as response:
            ok = response.status_code in expect
            if ok and check is not None:
                try:
                    ok = bool(check(response))
                except (ValueError, KeyError, TypeError):
                    ok = False
                if not ok:
                    response.failure(f"{response.status_code} unexpected body")
                    return response
            if ok:
                response.success()
            else:
                response.failure(describe(response))
            return response

    def open(self, path: str, name: str) -> None:
        """A page load; the page sets the CSRF cookie its JavaScript sends back."""
        self.call("GET", path, name)
        self.csrf = self.cookie(DATA["csrf_cookie"]) or self.csrf

    def login(self, name: str = "/login/") -> bool:
        """A real login through the login page (CSRF, password hash, axes, session); True
        when it let the user in."""
        self.client.cookiejar.clear()
        self.call("GET", "/login/", name)
        token = self.cookie(DATA["csrf_cookie"])
        self.csrf = token
        response = self.call("POST", "/login/", f"{name} [POST]", expect=(302,),
                             form={"username": self.account["username"], "password": DATA["password"],
                                   "csrfmiddlewaretoken": token},
                             check=lambda r: "/login" not in (r.headers.get("Location") or ""))
        TALLY["logins"] += 1
        return response.status_code == 302 and "/login" not in (response.headers.get("Location") or "")

    def logout(self) -> None:
        self.call("POST", "/logout/", "/logout/", expect=(302,), form={"csrfmiddlewaretoken": self.csrf})
        TALLY["logouts"] += 1

    def follow(self, first: str, name: str, pages: int, pause=lambda: 0.2) -> None:
        """Up to `pages` pages of a cursor-paginated list, `pause()` seconds apart."""
        url, label = first, name
        for _ in range(pages):
            response = self.call("GET", url, label)
            try:
                url = response.json()["next"]
            except (ValueError, KeyError, TypeError):
                return
            if not url:
                return
            label = name.split("?")[0] + "?cursor=[c]"
            gevent.sleep(pause())

    def api_url(self, path: str) -> str:
        return f"/api/v1/{path}"


class ScanningMixin:
    """Parent and child scans as the scan page sends them."""

    def new_child_code(self) -> str:
        return f"BN{DATA['run_id']}-{self.uid}-{next(self.seq)}"

    def scan_parent(self, code: str, *, expect_new: bool, area: str | None = None) -> bool:
        body = {"qr_id": code, "scan_id": str(uuid.uuid4())}
        if area:
            body["dispatch_area"] = area
        response = self.call("POST", "/api/v1/scans/parent/", "/api/v1/scans/parent/",
                             expect=(201,) if expect_new else (200,), json_body=body)
        TALLY["scans"] += 1
        return 200 <= response.status_code < 300

    def scan_child(self, parent: str, code: str, count_after: int, *, scan_id: str | None = None):
        body = {"parent": parent, "qr_id": code, "scan_id": scan_id or str(uuid.uuid4())}
        response = self.call("POST", "/api/v1/scans/child/", "/api/v1/scans/child/", expect=(201,), json_body=body,
                             check=child_count_is(count_after))
        TALLY["scans"] += 1
        return response, body


class OperatorUser(ScanningMixin, BenchUser):
    weight = 72
    kind = "op"
    page = "/scan/"

    @task
    def fill_parent(self):
        parent = take_parent()
        if parent is None:  # out of free parent codes: look something up instead
            self.call("GET", "/api/v1/stats/", "/api/v1/stats/")
            self.pause((5, 10))
            return
        if not self.scan_parent(parent, expect_new=True):
            self.pause(NEXT_PARENT_WAIT)
            return
        if random.random() < P_PAGE:
            self.open(f"/scan/{parent}/", "/scan/[parent]/")
        children: list[str] = []
        while len(children) < CAPACITY:
            self.pause(SCAN_WAIT)
            code = self.new_child_code()
            response, body = self.scan_child(parent, code, len(children) + 1)
            if response.status_code != 201:
                break  # the failure is recorded; a real operator would call someone
            children.append(code)
            roll = random.random()
            if roll < P_DUPLICATE:
                self.pause(SCAN_WAIT)
                again = random.choice(children)
                self.call("POST", "/api/v1/scans/child/", "/api/v1/scans/child/", expect=(200,),
                          json_body={"parent": parent, "qr_id": again, "scan_id": str(uuid.uuid4())},
                          check=lambda r: r.json()["duplicate"] is True)
                TALLY["duplicates"] += 1
            elif roll < P_DUPLICATE + P_UNDO and len(children) < CAPACITY:
                self.pause(SCAN_WAIT)
                last = children[-1]
                self.call("POST", "/api/v1/scans/undo/", "/api/v1/scans/undo/", json_body={"parent": parent},
                          check=removed_is(last))
                children.pop()
                TALLY["undos"] += 1
            elif roll < P_DUPLICATE + P_UNDO + P_RETRY:
                # The answer was lost on the way back; the page sends the same scan again.
                self.call("POST", "/api/v1/scans/child/", "/api/v1/scans/child/", expect=(201,), json_body=body,
                          check=child_count_is(len(children)))
                TALLY["retries"] += 1
            if len(children) == CAPACITY // 2 and random.random() < P_RESUME:
                # Back from a break: the operator scans the parent again and the page reloads.
                self.scan_parent(parent, expect_new=False)
                self.open(f"/scan/{parent}/", "/scan/[parent]/")
        TALLY["parents filled"] += len(children) == CAPACITY
        if random.random() < P_RELOGIN:
            self.logout()
            self.login()
            self.open(self.page, self.page)
        self.pause(NEXT_PARENT_WAIT)


class LookupUser(BenchUser):
    weight = 10
    kind = "lk"
    page = "/lookup/"

    def on_start(self):
        super().on_start()
        self.codes = DATA["codes"].get(self.account["area"]) or ["SB00001"]

    @task
    def look_up(self):
        if random.random() < 0.03:
            code, found = f"NX{random.randrange(10**8):08d}", False
        else:
            code, found = random.choice(self.codes), True
        self.call("GET", f"/lookup/?q={quote(code)}", "/lookup/?q=[code]")
        self.call("GET", f"/api/v1/bags/{quote(code)}/", "/api/v1/bags/[qr]/", expect=(200,) if found else (404,))
        if random.random() < 0.2:
            self.call("GET", f"/api/v1/bags/?search={quote(code[:5])}&page_size=10", "/api/v1/bags/?search=[prefix]")
        self.pause((3, 8))


class BillerUser(BenchUser):
    weight = 6
    kind = "bill"
    page = "/bills/"

    @task
    def load_truck(self):
        response = self.call("GET", "/api/v1/bags/?kind=parent&status=completed&billed=false&page_size=50",
                             "/api/v1/bags/?kind=parent&status=completed&billed=false")
        try:
            listed = [bag["qr_id"] for bag in response.json()["results"] if bag.get("bill") is None]
        except (ValueError, KeyError, TypeError):
            listed = []
        free = [code for code in listed if code not in CLAIMED]
        if not free:
            TALLY["biller found no parent"] += 1
            self.pause((5, 10))
            return
        chosen = free[: random.randint(3, 10)]
        CLAIMED.update(chosen)
        bill_id = f"BN-{DATA['run_id']}-{self.uid}-{next(self.seq)}"
        created = self.call("POST", "/api/v1/bills/", "/api/v1/bills/", expect=(201,), json_body={
            "bill_id": bill_id, "capacity": len(chosen), "destination": "Bench",
            "vehicle_number": f"RJ14-{random.randrange(10000):04d}"})
        if created.status_code != 201:
            self.pause((5, 10))
            return
        self.open(f"/bills/{bill_id}/", "/bills/[id]/")
        for code in chosen:
            self.pause((1, 3))
            self.call("POST", f"/api/v1/bills/{bill_id}/parents/", "/api/v1/bills/[id]/parents/", expect=(201,),
                      json_body={"qr_id": code, "scan_id": str(uuid.uuid4())})
        self.pause((1, 3))
        self.call("POST", f"/api/v1/bills/{bill_id}/complete/", "/api/v1/bills/[id]/complete/",
                  check=lambda r: r.json()["status"] == "completed")
        TALLY["bills completed"] += 1
        if random.random() < 0.2:
            self.call("GET", "/api/v1/bills/summary/", "/api/v1/bills/summary/")
        if random.random() < 0.2:
            self.open("/bills/", "/bills/")
        self.pause((5, 15))


class IntegratorUser(BenchUser):
    weight = 6
    kind = "int"


    @task(3)
    def poll_new_scans(self):
        since = (datetime.now(UTC) - timedelta(minutes=15)).isoformat()
        self.follow(f"/api/v1/scans/?page_size=100&since={quote(since)}", "/api/v1/scans/?since=[t]",
                    random.randint(1, 3))
        self.pause((5, 15))

    @task(1)
    def page_everything(self):
        self.follow("/api/v1/scans/", "/api/v1/scans/", random.randint(2, 4))
        self.follow("/api/v1/bags/?page_size=100", "/api/v1/bags/", random.randint(2, 4))
        if random.random() < 0.3:
            self.call("GET", "/api/v1/bills/?status=completed", "/api/v1/bills/?status=[s]")
        self.pause((5, 15))


class DashboardUser(BenchUser):
    weight = 6
    kind = "adm"
    page = "/dashboard/"

    @task
    def refresh(self):
        gevent.sleep(5)  # static/js/dashboard.js refreshes every 5 s
        self.call("GET", "/dashboard/?fragment=1", "/dashboard/?fragment=1")
        if random.random() < 0.5:
            self.call("GET", "/api/v1/stats/", "/api/v1/stats/")


class ReadsAndScans(ScanningMixin, BenchUser):
    """What the scale check and the capacity runs send. An admin, so that lookups reach
    every area and the stats cover all of them; with BENCH_UNCACHED=1 each bag read names a
    bag not read before in the run (`fresh_code`), so that it misses the cache."""

    abstract = True
    kind = "adm"
    page = "/lookup/"  # for the CSRF cookie

    def on_start(self):
        super().on_start()
        self.codes = all_codes()
        self.parent, self.children = None, 0
        self.bill, self.bill_todo, self.bill_done = None, [], []

    def read(self, path: str, name: str, expect=(200,)):
        self.call("GET", path, name, expect=expect)

    def bag_code(self) -> str:
        return fresh_code() if UNCACHED else random.choice(self.codes)

    def lookup(self):
        self.read(f"/api/v1/bags/{quote(self.bag_code())}/", "/api/v1/bags/[qr]/")

    def fresh_parent(self) -> bool:
        """A new parent of a random area, scanned; False (after a pause) when none is left."""
        self.parent = take_parent()
        self.children = 0
        if self.parent is None or not self.scan_parent(self.parent, expect_new=True,
                                                       area=random.choice(DATA["areas"])):
            self.parent = None
            gevent.sleep(1)
            return False
        return True

    def child_scan(self):
        if (self.parent is None or self.children >= CAPACITY) and not self.fresh_parent():
            return
        response, _ = self.scan_child(self.parent, self.new_child_code(), self.children + 1)
        self.children += 1 if response.status_code == 201 else CAPACITY

    def parent_scan(self):
        """A new parent each time (201): what the first scan of every sack costs."""
        parent = take_parent()
        if parent is None:
            gevent.sleep(1)
            return
        self.scan_parent(parent, expect_new=True, area=random.choice(DATA["areas"]))

    def undo(self):
        """A child scan, then its undo (the parent is empty again); a fresh parent every
        CAPACITY undos. The undo is what is measured; the child scan is made all the same."""
        if (self.parent is None or self.children >= CAPACITY) and not self.fresh_parent():
            return
        code = self.new_child_code()
        response, _ = self.scan_child(self.parent, code, 1)
        if response.status_code != 201:
            self.parent = None
            return
        self.call("POST", "/api/v1/scans/undo/", "/api/v1/scans/undo/", json_body={"parent": self.parent},
                  check=removed_is(code))
        TALLY["undos"] += 1
        self.children += 1  # counts undos on this parent

    def fill_billable(self) -> None:
        """Existing parents on no bill (the seed leaves ~4 % of parents off bills), listed
        once through the API by the first user that needs them (in the warm-up)."""
        with BILLABLE_LOCK:
            if BILLABLE or "billable_listed" in MARKS:
                return
            url, name = ("/api/v1/bags/?kind=parent&billed=false&page_size=200",
                         "/api/v1/bags/?kind=parent&billed=false [set-up]")
            for _ in range(50):
                response = self.call("GET", url, name)
                try:
                    body = response.json()
                except ValueError:
                    break
                BILLABLE.extend(bag["qr_id"] for bag in body.get("results", []) if bag.get("bill") is None)
                url = body.get("next")
                if not url:
                    break
            MARKS["billable_listed"] = len(BILLABLE)

    def bill_parent(self):
        """Put the next parent on this user's bill; a full bill is deleted (which frees its
        parents for the next bills) and a new one made. Per BENCH_BILL_SIZE parents added:
        one bill create and one bill delete."""
        if not self.bill_todo:
            if self.bill:
                self.call("DELETE", f"/api/v1/bills/{self.bill}/", "/api/v1/bills/[id]/", expect=(204,))
                BILLABLE.extend(self.bill_done)
                self.bill, self.bill_done = None, []
            if not BILLABLE:
                self.fill_billable()
            take = min(BILL_SIZE, len(BILLABLE))
            if take == 0:
                TALLY["no parent free for a bill"] += 1
                gevent.sleep(0.2)
                return
            codes = [BILLABLE.popleft() for _ in range(take)]
            bill_id = f"BN-{DATA['run_id']}-{self.uid}-{next(self.seq)}"
            created = self.call("POST", "/api/v1/bills/", "/api/v1/bills/", expect=(201,), json_body={
                "bill_id": bill_id, "capacity": take, "destination": "Bench", "vehicle_number": "RJ14-0001"})
            if created.status_code != 201:
                BILLABLE.extend(codes)
                gevent.sleep(1)
                return
            self.bill, self.bill_todo = bill_id, codes
        code = self.bill_todo.pop()
        response = self.call("POST", f"/api/v1/bills/{self.bill}/parents/", "/api/v1/bills/[id]/parents/",
                             expect=(201,), json_body={"qr_id": code, "scan_id": str(uuid.uuid4())})
        if response.status_code == 201:
            self.bill_done.append(code)
        else:
            BILLABLE.append(code)

    def stats(self):
        self.read("/api/v1/stats/", "/api/v1/stats/")

    def scans(self):
        self.read("/api/v1/scans/", "/api/v1/scans/")


class ScaleUser(ReadsAndScans):
    """The scale check: lookup, child scan, stats and the scans list, alike at every size.
    Not part of the mixed load: bench/run.py names the classes of each run."""

    weight = 1
    wait_time = between(0.05, 0.15)

    @task
    def lookup_task(self):
        self.lookup()

    @task
    def child_task(self):
        self.child_scan()

    @task
    def stats_task(self):
        self.stats()

    @task
    def scans_task(self):
        self.scans()


class CapacityUser(ReadsAndScans):
    """One endpoint (BENCH_ENDPOINT) in a closed loop, no think time: its throughput
    against the framework floor, /health/, measured the same way. Run alone (see ScaleUser)."""

    weight = 1

    @task
    def hit(self):
        if ENDPOINT == "health":
            self.call("GET", "/health/", "/health/")
        elif ENDPOINT == "lookup":
            self.lookup()
        elif ENDPOINT == "child":
            self.child_scan()
        elif ENDPOINT == "parent":
            self.parent_scan()
        elif ENDPOINT == "undo":
            self.undo()
        elif ENDPOINT == "bill_parents":
            self.bill_parent()
        elif ENDPOINT == "stats":
            self.stats()
        elif ENDPOINT == "scans":
            self.scans()
        elif ENDPOINT == "lookup_page":
            self.read(f"/lookup/?q={quote(self.bag_code())}", "/lookup/?q=[code]")
        elif ENDPOINT == "dashboard":
            self.read("/dashboard/?fragment=1", "/dashboard/?fragment=1")
        elif ENDPOINT == "billable":
            self.read("/api/v1/bags/?kind=parent&status=completed&billed=false&page_size=50",
                      "/api/v1/bags/?kind=parent&status=completed&billed=false")
        else:
            raise RuntimeError(f"unknown BENCH_ENDPOINT {ENDPOINT!r}")


# --- The pace stage: operators at human pace, and people reading ------------------------


class PaceOperatorUser(OperatorUser):
    """OperatorUser, exactly BENCH_PACE_OPERATORS of them (BENCH_SCAN_WAIT apart: 1-3 s)."""

    fixed_count = PACE_OPERATORS


class ViewerUser(BenchUser):
    """A dispatcher with the lookup page, the stats and the scan list open: a bag of their
    area looked up, the stats, or one to three pages of scans, BENCH_VIEW_WAIT s apart."""

    fixed_count = PACE_VIEWERS
    kind = "lk"
    page = "/lookup/"
    wait_time = between(*VIEW_WAIT)

    def context(self):
        return {"viewer": True}  # their response times are gathered apart (VIEWER_MS)

    def on_start(self):
        super().on_start()
        self.codes = DATA["codes"].get(self.account["area"]) or ["SB00001"]

    @task(3)
    def look_up(self):
        self.call("GET", f"/api/v1/bags/{quote(random.choice(self.codes))}/", "/api/v1/bags/[qr]/")

    @task(1)
    def stats(self):
        self.call("GET", "/api/v1/stats/", "/api/v1/stats/")

    @task(1)
    def scan_pages(self):
        self.follow("/api/v1/scans/", "/api/v1/scans/", random.randint(1, 3), lambda: random.uniform(0.5, 1.5))


# --- The logins stage: shift start ----------------------------------------------------------

LOGINS = int(os.environ.get("BENCH_LOGINS", "200"))
LOGINS_SECONDS = float(os.environ.get("BENCH_LOGINS_SECONDS", "60"))


class LoginStormUser(BenchUser):
    """An operator arriving at shift start: once the measured part has begun, at a random
    moment of its first BENCH_LOGINS_SECONDS, a login through the login page (a fresh
    account each: no session of theirs exists), then the scan page; nothing more."""

    fixed_count = LOGINS
    kind = "op"
    wait_time = constant(3600)

    def on_start(self):
        self.take_account()
        self.arrival = random.uniform(0, LOGINS_SECONDS)

    @task
    def arrive(self):
        while "measure_start" not in MARKS:
            gevent.sleep(0.1)
        gevent.sleep(max(0.0, MARKS["measure_start"] + self.arrival - time.time()))
        if self.login("/login/ [storm]"):
            TALLY["storm logins"] += 1
            self.open("/scan/", "/scan/ [storm]")
        else:
            TALLY["storm logins refused"] += 1


# --- The batch stage: the offline queue sending a sack at a time -------------------------


class BatchUser(ScanningMixin, BenchUser):
    """An operator's phone sending its queue: per fresh parent, one POST /api/v1/scans/batch/
    that fills it (BENCH_BATCH_PARENT=item: the parent scan as the first item and 29
    children; =separate: the parent scanned alone first, then 30 children), closed loop.
    The batch succeeds when it answers 200 with one result per item, the parent 201 and
    every child 201 (or 200 `duplicate`); successful child items are tallied."""

    kind = "op"
    page = "/scan/"

    @task
    def send_batch(self):
        parent = take_parent()
        if parent is None:
            gevent.sleep(1)
            return
        items: list[dict] = []
        if BATCH_PARENT == "separate":
            if not self.scan_parent(parent, expect_new=True):
                return
        else:
            items.append({"kind": "parent", "qr_id": parent, "scan_id": str(uuid.uuid4())})
        items += [{"kind": "child", "parent": parent, "qr_id": self.new_child_code(), "scan_id": str(uuid.uuid4())}
                  for _ in range(min(CAPACITY, BATCH_MAX - len(items)))]
        headers = dict(self.headers)
        if "Authorization" not in headers:
            headers["X-CSRFToken"] = self.csrf
        with self.client.request("POST", "/api/v1/scans/batch/", name="/api/v1/scans/batch/",
                                 json={"items": items}, headers=headers, catch_response=True,
                                 allow_redirects=False) as response:
            TALLY["batches sent"] += 1
            if response.status_code in (404, 405):
                TALLY[f"batch endpoint answered {response.status_code}"] += 1
                response.failure(describe(response))
                gevent.sleep(1)  # not on this build: do not spin
                return
            if response.status_code != 200:
                response.failure(describe(response))
                return
            try:
                results = response.json()["results"]
            except (ValueError, KeyError, TypeError):
                response.failure("200 unexpected body")
                return
            if len(results) != len(items):
                response.failure(f"200 {len(results)} results for {len(items)} items")
                return
            bad = []
            for item, result in zip(items, results, strict=True):
                status, body = result.get("status"), result.get("body") or {}
                if item["kind"] == "parent":
                    ok = status == 201
                else:
                    ok = status == 201 or (status == 200 and body.get("duplicate") is True)
                    TALLY["batch child items ok" if ok else "batch child items refused"] += 1
                if not ok:
                    bad.append(f"{item['kind']} {status} {body.get('code', '')}".strip())
            TALLY["scans"] += len(items)
            if bad:
                TALLY.update(f"batch item {b}" for b in bad)
                response.failure(f"200 with item {bad[0]}")
            else:
                response.success()
