"""bench/REPORT.md and bench/chart.png from a `bench/run.py` results file.

`python bench/report.py [bench/tmp/<run>/results.json]` (default: the newest one).
"""

import json
import sys
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCAN_ENDPOINTS = ["/api/v1/scans/parent/", "/api/v1/scans/child/", "/api/v1/scans/undo/",
                  "/api/v1/bills/[id]/parents/"]
TARGET_SCANS = 400
TARGET_USERS = 200


def ms(value) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")


def num(value, digits: int = 0) -> str:
    if value is None:
        return "–"
    return f"{value:,.{digits}f}"


def endpoint(run: dict, name: str, method: str | None = None) -> dict | None:
    for row in run.get("endpoints", []):
        if row["name"] == name and (method is None or row["method"] == method):
            return row
    return None


def scan_rows(run: dict) -> list[dict]:
    return [e for e in run.get("endpoints", []) if e["method"] == "POST" and e["name"] in SCAN_ENDPOINTS]


def worst(run: dict, key: str) -> tuple[float, str]:
    rows = scan_rows(run)
    if not rows:
        return 0.0, "–"
    row = max(rows, key=lambda e: e[key])
    return row[key], row["name"]


def failures(run: dict) -> int:
    return run.get("aggregate", {}).get("failures", 0)


def warmup_failures(run: dict) -> int:
    return sum(f["count"] for f in run.get("all_failures", []))


def server_errors(run: dict) -> int:
    problems = run.get("server", {})
    return problems.get("5xx logged", 0) + problems.get("worker timeouts", 0)


def cpu(run: dict) -> str:
    c = run.get("cpu_pct") or {}
    if not c:
        return "–"
    return (f"{c.get('gunicorn', 0)} / {c.get('postgres', 0)} / {c.get('redis', 0)} / {c.get('locust', 0)} / "
            f"{c.get('other', 0)} (busy {c.get('machine_busy', 0)} of {c.get('cores', 0) * 100}"
            + (f", steal {c['steal']}" if c.get("steal") else "") + ")")


def cpu_per_request(run: dict) -> str:
    """gunicorn and PostgreSQL CPU milliseconds per request: steadier than latency on a
    shared machine (PostgreSQL's includes other clients of the server, if any)."""
    c, rps = run.get("cpu_pct") or {}, run.get("aggregate", {}).get("rps", 0)
    if not c or not rps:
        return "–"
    return f"{c.get('gunicorn', 0) * 10 / rps:.1f} + {c.get('postgres', 0) * 10 / rps:.1f}"


def cpu_ms(run: dict) -> tuple[float, float] | None:
    c, rps = run.get("cpu_pct") or {}, run.get("aggregate", {}).get("rps", 0)
    if not c or not rps:
        return None
    return c.get("gunicorn", 0) * 10 / rps, c.get("postgres", 0) * 10 / rps


# The request row that each BENCH_ENDPOINT of CapacityUser measures (tests/load/locustfile.py).
CAPACITY_ROWS = {
    "health": "/health/", "lookup": "/api/v1/bags/[qr]/", "child": "/api/v1/scans/child/",
    "parent": "/api/v1/scans/parent/", "undo": "/api/v1/scans/undo/", "bill_parents": "/api/v1/bills/[id]/parents/",
    "stats": "/api/v1/stats/", "scans": "/api/v1/scans/", "lookup_page": "/lookup/?q=[code]",
    "dashboard": "/dashboard/?fragment=1", "billable": "/api/v1/bags/?kind=parent&status=completed&billed=false",
}
# Issue 16's targets.
TARGET_CHILD_RATIO = 0.30  # child scans/s ≥ this × the /health/ floor
TARGET_CHILD_CPU_MS = 5.5  # gunicorn + PostgreSQL CPU ms per child scan
TARGET_BATCH_CHILDREN = 2000  # child scans/s through POST /api/v1/scans/batch/
TARGET_PACE_OPERATORS = 200


def run_endpoint(run: dict) -> str:
    return run.get("endpoint") or run.get("env", {}).get("BENCH_ENDPOINT") or run["label"].split("-")[1]


def main_row(run: dict) -> dict | None:
    """The row of the request a closed-loop run measures (its BENCH_ENDPOINT), else the
    most frequent one that is not a parent scan."""
    name = CAPACITY_ROWS.get(run_endpoint(run))
    row = endpoint(run, name) if name else None
    if row:
        return row
    rows = [e for e in run.get("endpoints", []) if e["name"] != "/api/v1/scans/parent/"] or run.get("endpoints", [])
    return max(rows, key=lambda e: e["count"], default=None)


def cpu_ms_per(run: dict, rps: float) -> tuple[float, float] | None:
    """gunicorn and PostgreSQL CPU ms per one of `rps` requests a second (CPU % of a core × 10
    is CPU ms a second)."""
    c = run.get("cpu_pct") or {}
    if not c or not rps:
        return None
    return c.get("gunicorn", 0) * 10 / rps, c.get("postgres", 0) * 10 / rps


def cache_summary(run: dict) -> tuple[int, int] | None:
    """(hits, misses) over every cached read of the run, or None when /metrics had none."""
    reads = (run.get("cache_reads") or {}).get("reads") or {}
    hits = sum(v.get("hit", 0) for v in reads.values())
    misses = sum(v.get("miss", 0) for v in reads.values())
    return (hits, misses) if hits + misses else None


def hit_ratio(run: dict) -> str:
    """Hit ratio per cached read of the run, e.g. "bag 0 %, session_user 100 %"."""
    data = run.get("cache_reads")
    if not data or data.get("error"):
        return "–"
    reads = {name: v for name, v in (data.get("reads") or {}).items() if v.get("hit", 0) + v.get("miss", 0)}
    if not reads:
        return "no cached reads"
    return ", ".join(f"{name} {v.get('hit', 0) / (v.get('hit', 0) + v.get('miss', 0)) * 100:.0f} %"
                     for name, v in sorted(reads.items()))


def cache_lines(runs: list[dict]) -> list[str]:
    """Hit ratio per cached read (`read` label of tracetrack_cache_reads_total), per run."""
    lines = ["| run | cached read | hits | misses | hit ratio |", "|---|---|---:|---:|---:|"]
    for run in runs:
        data = run.get("cache_reads")
        if data is None:
            continue
        if data.get("error"):
            lines.append(f"| `{run['label']}` | /metrics not read: {data['error']} | – | – | – |")
            continue
        reads = {name: v for name, v in (data.get("reads") or {}).items() if v.get("hit", 0) + v.get("miss", 0)}
        if not reads:
            lines.append(f"| `{run['label']}` | no cached reads | – | – | – |")
            continue
        for name, v in sorted(reads.items()):
            hits, misses = v.get("hit", 0), v.get("miss", 0)
            lines.append(f"| `{run['label']}` | `{name}` | {hits:,} | {misses:,} | "
                         f"{hits / (hits + misses) * 100:.1f} % |")
        hits, misses = cache_summary(run)
        if len(reads) > 1:
            lines.append(f"| `{run['label']}` | all | {hits:,} | {misses:,} | {hits / (hits + misses) * 100:.1f} % |")
    return lines


CACHE_TEXT = ("What is cached (issue 16): no API read any more — stats, scan pages, bag lookups and searches "
              "come from PostgreSQL every time; before, they were cached under one global data generation that "
              "every write bumped, so under scanning they almost never hit. What stays cached is what every "
              "request reads and almost never changes: the session's user and an API token with its user "
              "(README, \"What stays cached\"). The app counts its cached reads "
              "(`tracetrack_cache_reads_total{read, outcome}` at /metrics, read when locust's statistics are reset "
              "and when it stops: the measured part of the run); \"no cached reads\" is a build that counts none.")


def builds_section(builds: list[dict], settings: dict, floor_run: dict | None, floor: float | None) -> str:
    """Before (an older build), after (this one) and after with tracing on, per endpoint:
    the mean over the interleaved repeats; each build's ratio is to its own /health/ floor."""
    lines = []
    w = lines.append
    before = next((r["commit"] for r in builds if r.get("build") not in (None, "this")), settings.get("baseline"))
    groups: dict[tuple[str, str], list[dict]] = {}
    for run in builds:
        variant = run.get("variant") or "-".join(run["label"].split("-")[2:-1])
        groups.setdefault((run_endpoint(run), variant), []).append(run)

    def mean(values: list[float]) -> float | None:
        return sum(values) / len(values) if values else None

    figures: dict[tuple[str, str], dict] = {}
    for (name, variant), runs in groups.items():
        rows = [(r, main_row(r)) for r in runs]
        rows = [(r, row) for r, row in rows if row and row["count"]]
        if not rows:
            continue
        costs = [c for c in (cpu_ms_per(r, row["rps"]) for r, row in rows) if c]
        figures[(name, variant)] = {
            "name": rows[0][1]["name"], "method": rows[0][1]["method"], "runs": len(rows),
            "rps": mean([row["rps"] for _, row in rows]), "p50": mean([row["p50"] for _, row in rows]),
            "p95": mean([row["p95"] for _, row in rows]), "p99": mean([row["p99"] for _, row in rows]),
            "app": mean([c[0] for c in costs]), "db": mean([c[1] for c in costs]),
            "failures": sum(failures(r) + server_errors(r) for r, _ in rows),
            "commit": runs[0]["commit"],
        }
    # An undo run also scans the child it undoes: per undo, less one child scan's cost.
    for variant in ("before", "after", "after-traced"):
        undo, child = figures.get(("undo", variant)), figures.get(("child", variant))
        if undo and child and undo["app"] is not None and child["app"] is not None:
            undo["app"], undo["db"] = max(0.0, undo["app"] - child["app"]), max(0.0, undo["db"] - child["db"])
            undo["net"] = True

    def floor_of(variant: str) -> float | None:
        health = figures.get(("health", variant)) or figures.get(("health", "after" if variant != "before" else variant))
        return health["rps"] if health else None

    w(f"## Builds compared: `{before}` (before) and this build (after), same run (`{builds[0]['config']}`)")
    w("")
    w(f"Each endpoint alone in a closed loop ({builds[0]['users']} users, {builds[0]['duration']} s per run, "
      f"on `{builds[0]['config']}`, the configuration gunicorn_production.py deploys unless BENCH_BUILDS_WORKERS "
      "says otherwise; "
      "no think time), on the older build — checked out with `git worktree`, on a database its own code seeded "
      "— and on this one, interleaved so that a drift of the machine touches both alike; logging as deployed "
      "(INFO, with each build's own gunicorn_production.py: gunicorn's access log on in builds before "
      "issue 16's last step, off after it, where the request line carries its fields), scan and API rate limits raised. *after, traced* has OpenTelemetry on, exporting every "
      "span over OTLP/HTTP to a local sink. The ratio is to the same build's `/health/` floor measured in this "
      "stage. CPU per request is gunicorn's (all workers) and PostgreSQL's, from /proc, divided by the requests "
      "of the endpoint answered: a child scan's includes the parent scan made every 30 children; an undo's is "
      "the run's cost per undo less a child scan's (each undo undoes a child scanned just before it); a bill "
      f"parent's includes one bill create and one bill delete per {settings.get('bill_size', 40)} parents. "
      "The bench's clients send a session cookie: builds before commit fd853f0 read that session and its user "
      "on `/health/` too (the idle-session and language middlewares), this one reads neither on a probe, so "
      "its floor is the framework alone and cheaper than theirs by those two cache reads.")
    w("")
    w("| endpoint | build | runs | req/s | ratio to floor | p50 | p95 | p99 | CPU ms/req gunicorn + postgres | "
      "failures | new/old req/s | new/old CPU |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in dict.fromkeys(key[0] for key in groups):
        old = figures.get((name, "before"))
        for variant in ("before", "after", "after-traced"):
            f = figures.get((name, variant))
            if not f:
                continue
            base = floor_of(variant)
            ratio = f"{f['rps'] / base:.2f}" if base and name != "health" else ("1" if name == "health" else "–")
            cost = f"{f['app']:.2f} + {f['db']:.2f}" if f["app"] is not None else "–"
            if f.get("net"):
                cost += " (net of the child scan)"
            if old and variant != "before":
                rps_change = f"{f['rps'] / old['rps']:.2f}×" if old["rps"] else "–"
                total, old_total = (f["app"] or 0) + (f["db"] or 0), (old["app"] or 0) + (old["db"] or 0)
                cpu_change = f"{total / old_total:.2f}×" if old_total and f["app"] is not None else "–"
            else:
                rps_change = cpu_change = "–"
            label = {"before": f"before (`{f['commit']}`)", "after": "after", "after-traced": "after, traced"}[variant]
            w(f"| {f['method']} `{f['name']}` | {label} | {f['runs']} | {f['rps']:.0f} | {ratio} | {ms(f['p50'])} | "
              f"{ms(f['p95'])} | {ms(f['p99'])} | {cost} | {f['failures']} | {rps_change} | {cpu_change} |")
    w("")
    child = figures.get(("child", "after"))
    old_child = figures.get(("child", "before"))
    if child:
        base = floor_of("after")
        ratio = child["rps"] / base if base else None
        total = (child["app"] or 0) + (child["db"] or 0) if child["app"] is not None else None
        was = ""
        if old_child and floor_of("before") and old_child["app"] is not None:
            was = (f" (before: {old_child['rps'] / floor_of('before'):.2f} × floor, "
                   f"{old_child['app'] + old_child['db']:.2f} ms)")
        w("Issue 16's targets, this build" + was + ":")
        w("")
        w(f"- child scan ≥ {TARGET_CHILD_RATIO:.2f} × the /health/ floor: **{num(ratio, 2)} ×** "
          f"({child['rps']:.0f} against {num(base)} req/s) — {verdict(None if ratio is None else ratio >= TARGET_CHILD_RATIO)}")
        if floor_of("before") and base and floor_of("before") != base:
            w(f"- the same child scans against the build before's floor ({floor_of('before'):.0f} req/s, which "
              f"read the session and its user, as the floor the issue's target was set against did): "
              f"**{child['rps'] / floor_of('before'):.2f} ×** (for information; the target is judged above)")
        w(f"- gunicorn + PostgreSQL CPU per child scan ≤ {TARGET_CHILD_CPU_MS} ms: **{num(total, 2)} ms** — "
          f"{verdict(None if total is None else total <= TARGET_CHILD_CPU_MS)}")
        w("")
    return "\n".join(lines)


def pace_section(runs: list[dict], settings: dict) -> str:
    lines = []
    w = lines.append
    r0 = runs[0]
    pace = settings.get("pace", {})
    w(f"## People at human pace (`{r0['config']}`, `{r0['size']}` data set, {r0['duration']} s measured)")
    w("")
    w(f"Operators exactly as in the mixed load (a parent, then its children one by one, "
      f"{r0.get('scan_wait') or pace.get('scan_wait', '1-3')} s apart, uniformly at random, with the mixed load's "
      "duplicates, undos, retries, resumed parents, page reloads and rare re-logins; session cookie and CSRF) and "
      f"{r0.get('viewers', pace.get('viewers', '?'))} dispatchers reading (a bag of their area looked up, the "
      f"stats, or one to three pages of scans; {pace.get('view_wait', '2-5')} s apart), against gunicorn on this "
      "machine with the load generator; rate limits as deployed. Targets: scan p95 < 50 ms, p99 < 100 ms, no "
      "errors; a count that misses p95 is followed by the next smaller one of BENCH_PACE_STEPS.")
    w("")
    w("| operators + viewers | scans/s | child scan p50 / p95 / p99 | every scan endpoint: worst p95 / p99 | "
      "viewer p50 / p95 / p99 (requests) | errors measured (incl. warm-up) | server errors | cache hits | "
      "CPU % gunicorn / postgres / redis / locust / other | result |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
    met = []
    for r in sorted(runs, key=lambda r: -(r.get("operators") or 0)):
        child = endpoint(r, "/api/v1/scans/child/", "POST") or {}
        p95, p99 = worst(r, "p95")[0], worst(r, "p99")[0]
        viewer = r.get("viewer_ms") or {}
        errors = failures(r) + warmup_failures(r) + server_errors(r)
        ok = p95 < 50 and p99 < 100 and errors == 0
        if p95 < 50:
            met.append(r.get("operators") or 0)
        w(f"| {r.get('operators')} + {r.get('viewers')} | {r.get('scans_per_s', 0):.0f} | {ms(child.get('p50'))} / "
          f"{ms(child.get('p95'))} / {ms(child.get('p99'))} | {ms(p95)} / {ms(p99)} | {ms(viewer.get('p50'))} / "
          f"{ms(viewer.get('p95'))} / {ms(viewer.get('p99'))} ({viewer.get('count', 0):,}) | {failures(r)} "
          f"({warmup_failures(r)}) | {server_errors(r)} | {hit_ratio(r)} | {cpu(r)} | {verdict(ok)} |")
    w("")
    if met:
        w(f"Highest operator count tried whose scan p95 was under 50 ms: **{max(met)}**.")
    else:
        w("No operator count tried (" + ", ".join(str(r.get("operators")) for r in runs) + ") had a scan p95 under "
          "50 ms.")
    w("")
    for r in sorted(runs, key=lambda r: -(r.get("operators") or 0)):
        tally = ", ".join(f"{k} {v}" for k, v in sorted(r.get("tally", {}).items()))
        w(f"### {r.get('operators')} operators + {r.get('viewers')} viewers")
        w("")
        w(f"Activity while measured: {tally or '–'}.")
        w("")
        out = endpoint_table(r)
        lines.extend(out)
        w("")
    w("Cache hit ratio while measured. " + CACHE_TEXT)
    w("")
    lines.extend(cache_lines(runs))
    w("")
    return "\n".join(lines)


def logins_section(runs: list[dict], settings: dict) -> str:
    lines = []
    w = lines.append
    r0 = runs[0]
    w(f"## Shift start: {r0.get('logins')} logins in {r0.get('seconds')} s beside {r0.get('operators')} operators "
      f"scanning (`{r0['config']}`, `{r0['size']}`)")
    w("")
    w(f"{r0.get('logins')} operators each log in once through the login page (its GET, then the POST: CSRF, the "
      f"password hash, django-axes, a new session) at a random moment of the first {r0.get('seconds')} s of the "
      f"measured part, then open the scan page, while {r0.get('operators')} others scan at human pace (the pace "
      "stage's operators). Passwords as Argon2id hashes (made now), and as PBKDF2 hashes (made before: each is "
      "verified, then rewritten as Argon2id at its login). Hashing runs in gevent's thread pool, at most "
      "PASSWORD_HASH_CONCURRENCY (2) at once per worker (accounts.hashers). Target: 0 refused.")
    w("")
    w("| password hashes | logged in / refused | login POST p50 / p95 / max | scan p50 / p95 / p99 (every scan "
      "endpoint, worst) | errors measured (incl. warm-up) | server errors | CPU % gunicorn / postgres / redis / "
      "locust / other | result |")
    w("|---|---:|---:|---:|---:|---:|---|---|")
    for r in runs:
        tally = r.get("tally", {})
        post = endpoint(r, "/login/ [storm] [POST]", "POST") or {}
        p50 = worst(r, "p50")[0]
        p95, p99 = worst(r, "p95")[0], worst(r, "p99")[0]
        done, refused = tally.get("storm logins", 0), tally.get("storm logins refused", 0)
        errors = failures(r) + warmup_failures(r) + server_errors(r)
        ok = refused == 0 and done == r0.get("logins") and errors == 0
        name = {"argon2": "Argon2id", "pbkdf2_sha256": "PBKDF2 (upgraded at login)"}.get(r.get("hasher"), r.get("hasher"))
        w(f"| {name} | {done} / {refused} | {ms(post.get('p50'))} / {ms(post.get('p95'))} / {ms(post.get('max'))} | "
          f"{ms(p50)} / {ms(p95)} / {ms(p99)} | {failures(r)} ({warmup_failures(r)}) | {server_errors(r)} | {cpu(r)} | "
          f"{verdict(ok)} |")
    w("")
    for r in runs:
        w(f"### Password hashes: {r.get('hasher')}")
        w("")
        lines.extend(endpoint_table(r))
        w("")
    return "\n".join(lines)


def batch_section(runs: list[dict], settings: dict) -> str:
    lines = []
    w = lines.append
    r0 = runs[0]
    mode = r0.get("batch_parent") or settings.get("batch", {}).get("parent", "item")
    w(f"## Batch scans: `POST /api/v1/scans/batch/` (`{r0['config']}`, {r0['users']} users in a closed loop, "
      f"{r0['duration']} s, `{r0['size']}`)")
    w("")
    how = ("the parent scan as the first item and 29 children" if mode == "item" else
           "after the parent scanned alone (`POST /api/v1/scans/parent/`), 30 children")
    w(f"Each user is an operator's offline queue (session cookie and CSRF): per fresh parent one batch that fills "
      f"it — {how}. A batch succeeds when it answers 200 with one result per item, the parent 201 and every child "
      "201 (or 200 `duplicate`). Child scans/s counts the successful child items. The scan and API rate limits "
      "are raised (a batch counts every item).")
    w("")
    for r in runs:
        missing = {k: v for k, v in r.get("tally", {}).items() if k.startswith("batch endpoint answered")}
        if missing:
            w(f"**`POST /api/v1/scans/batch/` is not on this build** (`{r['commit']}`): it "
              + ", ".join(k.replace("batch endpoint ", "") for k in missing) + ". No figures.")
            w("")
            continue
        row = endpoint(r, "/api/v1/scans/batch/", "POST") or {}
        children = r.get("batch_child_scans_per_s")
        refused = r.get("tally", {}).get("batch child items refused", 0)
        cost = cpu_ms_per(r, children or 0)
        w("| users | batches/s | child scans/s | p50 / p95 / p99 per batch | failed batches (incl. warm-up) | "
          "refused child items | server errors | CPU ms per child scan gunicorn + postgres | CPU % gunicorn / "
          "postgres / redis / locust / other |")
        w("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
        w(f"| {r['users']} | {row.get('rps', 0):.1f} | {num(children)} | {ms(row.get('p50'))} / {ms(row.get('p95'))} / "
          f"{ms(row.get('p99'))} | {row.get('failures', 0)} ({warmup_failures(r)}) | {refused} | {server_errors(r)} | "
          f"{f'{cost[0]:.2f} + {cost[1]:.2f}' if cost else '–'} | {cpu(r)} |")
        w("")
        ok = children is not None and children >= TARGET_BATCH_CHILDREN and failures(r) == 0
        w(f"Target ≥ {TARGET_BATCH_CHILDREN:,} child scans/s through batches, no errors: **{num(children)}** — "
          f"{verdict(ok if children is not None else None)}.")
        w("")
        out = endpoint_table(r)
        lines.extend(out)
        w("")
    return "\n".join(lines)


def issue16_targets(by_stage: dict[str, list[dict]], settings: dict) -> list[str]:
    """Rows of the targets table for issue 16 (builds, pace, batch stages)."""
    rows = []
    builds = by_stage.get("builds", [])

    def after(name: str) -> list[tuple[dict, dict]]:
        found = [(r, main_row(r)) for r in builds if run_endpoint(r) == name and (r.get("variant") or "") == "after"]
        return [(r, row) for r, row in found if row and row["count"]]

    child, health = after("child"), after("health")
    if child and health:
        rps = sum(row["rps"] for _, row in child) / len(child)
        base = sum(row["rps"] for _, row in health) / len(health)
        rows.append(f"| child scan ≥ {TARGET_CHILD_RATIO:.2f} × the /health/ floor (closed loop) | {rps / base:.2f} × "
                    f"({rps:.0f} against {base:.0f} req/s) | builds, after | "
                    f"{verdict(rps / base >= TARGET_CHILD_RATIO)} |")
    if child:
        costs = [c for c in (cpu_ms_per(r, row["rps"]) for r, row in child) if c]
        if costs:
            total = sum(a + b for a, b in costs) / len(costs)
            rows.append(f"| gunicorn + PostgreSQL CPU per child scan ≤ {TARGET_CHILD_CPU_MS} ms | {total:.2f} ms | "
                        f"builds, after | {verdict(total <= TARGET_CHILD_CPU_MS)} |")
    pace = by_stage.get("pace", [])
    full = max(pace, key=lambda r: r.get("operators") or 0, default=None)
    if full:
        p95, p99 = worst(full, "p95")[0], worst(full, "p99")[0]
        errors = failures(full) + warmup_failures(full) + server_errors(full)
        rows.append(f"| {full.get('operators')} operators at human pace (+ {full.get('viewers')} viewers): scan p95 < 50 "
                    f"ms, p99 < 100 ms, 0 errors | p95 {ms(p95)} ms, p99 {ms(p99)} ms, {errors} errors | "
                    f"`{full['label']}` | {verdict(p95 < 50 and p99 < 100 and errors == 0)} |")
        met = [r.get("operators") or 0 for r in pace if worst(r, "p95")[0] < 50]
        if (full.get("operators") or 0) < TARGET_PACE_OPERATORS or not met or max(met) != full.get("operators"):
            tried = ", ".join(str(r.get("operators")) for r in sorted(pace, key=lambda r: -(r.get("operators") or 0)))
            rows.append(f"| highest operator count with scan p95 < 50 ms | {max(met) if met else 'none'} (tried "
                        f"{tried}) | pace | {verdict(bool(met) and max(met) >= TARGET_PACE_OPERATORS)} |")
    for r in by_stage.get("batch", []):
        if any(k.startswith("batch endpoint answered") for k in r.get("tally", {})):
            rows.append(f"| ≥ {TARGET_BATCH_CHILDREN:,} child scans/s through batches | the endpoint is not on "
                        f"this build | `{r['label']}` | n/a |")
            continue
        children = r.get("batch_child_scans_per_s")
        rows.append(f"| ≥ {TARGET_BATCH_CHILDREN:,} child scans/s through batches, 0 errors | {num(children)} child "
                    f"scans/s, {failures(r)} failed batches | `{r['label']}` | "
                    f"{verdict(children is not None and children >= TARGET_BATCH_CHILDREN and failures(r) == 0)} |")
    return rows


def servers_section(runs: list[dict]) -> str:
    lines = []
    w = lines.append
    r0 = runs[0]
    w(f"## One app server, then two, behind nginx (`{r0['config']}` each, {r0['users']} users, {r0['duration']} s)")
    w("")
    w("The same mixed load through nginx (deploy/nginx's proxy settings) to one app server, then to two on other "
      "ports: the servers share PostgreSQL, Redis (sessions, cache, rate limits) and nothing else. On this "
      "machine both servers share its cores with PostgreSQL, Redis, nginx and locust, so a second server can add "
      "only what the first left idle.")
    w("")
    w("| app servers | req/s | scans/s | p50 | p95 | p99 | failures | CPU % gunicorn / postgres / nginx / locust "
      "| CPU ms/req gunicorn + postgres |")
    w("|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for r in runs:
        a = r["aggregate"]
        c = r.get("cpu_pct") or {}
        w(f"| {r.get('app_servers', 1)} | {a.get('rps', 0):.0f} | {r.get('scans_per_s', 0):.0f} | {ms(a.get('p50'))} | "
          f"{ms(a.get('p95'))} | {ms(a.get('p99'))} | {failures(r)} | {c.get('gunicorn', '–')} / "
          f"{c.get('postgres', '–')} / {c.get('nginx', '–')} / {c.get('locust', '–')} | {cpu_per_request(r)} |")
    if len(runs) >= 2 and runs[0]["aggregate"].get("rps"):
        w("")
        w(f"Two servers against one: **{runs[1]['aggregate']['rps'] / runs[0]['aggregate']['rps']:.2f}×** the "
          "requests per second.")
    w("")
    return "\n".join(lines)


def operators(run: dict) -> int:
    return run.get("users_started", {}).get("OperatorUser", 0)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def chart(steps: list[dict], scale: list[dict], floor: float | None, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = 3 if scale else 2
    fig, axes = plt.subplots(1, panels, figsize=(6 * panels, 4.6))
    users = [r["users"] for r in steps]
    ax = axes[0]
    for key, style in (("p50", "o-"), ("p95", "s-"), ("p99", "^-")):
        ax.plot(users, [r["aggregate"].get(key, 0) for r in steps], style, label=f"all requests {key}")
    child = [endpoint(r, "/api/v1/scans/child/", "POST") or {} for r in steps]
    for key, style in (("p95", "s--"), ("p99", "^--")):
        ax.plot(users, [c.get(key, 0) for c in child], style, label=f"child scan {key}")
    ax.axhline(50, color="grey", lw=0.8, ls=":")
    ax.axhline(100, color="grey", lw=0.8, ls=":")
    _finish(ax, "concurrent users (mixed load)", "response time, ms", "Latency against users", users)

    ax = axes[1]
    ax.plot(users, [r["aggregate"].get("rps", 0) for r in steps], "o-", label="requests/s (all)")
    ax.plot(users, [r.get("scans_per_s", 0) for r in steps], "s-", label="scans/s (parent + child)")
    ax.axhline(400, color="grey", lw=0.8, ls=":", label="400 scans/s target")
    title = f"Throughput against users (floor /health/: {floor:,.0f} req/s)" if floor else "Throughput against users"
    _finish(ax, "concurrent users (mixed load)", "per second", title, users)

    if scale:
        ax = axes[2]
        sizes = [r.get("bags") or 0 for r in scale]
        for name, label in (("/api/v1/bags/[qr]/", "lookup"), ("/api/v1/scans/child/", "child scan"),
                            ("/api/v1/stats/", "stats"), ("/api/v1/scans/", "scans list")):
            ax.plot(sizes, [(endpoint(r, name) or {}).get("p95", 0) for r in scale], "o-", label=f"{label} p95")
        ax.set_xscale("log")
        _finish(ax, "bags in the database", "p95, ms (uncached)", "Scale check")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _finish(ax, xlabel: str, ylabel: str, title: str, xticks: list | None = None) -> None:
    """Labels, title, ticks, legend and grid of one chart panel."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if xticks is not None:
        ax.set_xticks(xticks)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def endpoint_table(run: dict, floor: float | None = None) -> list[str]:
    lines = ["| endpoint | requests | req/s | p50 | p95 | p99 | max | failures |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for e in sorted((e for e in run.get("endpoints", []) if e["count"]), key=lambda e: -e["count"]):
        lines.append(f"| {e['method']} `{e['name']}` | {e['count']:,} | {e['rps']:.1f} | {ms(e['p50'])} | "
                     f"{ms(e['p95'])} | {ms(e['p99'])} | {ms(e['max'])} | {e['failures']} |")
    return lines


def main() -> None:
    if len(sys.argv) > 1:
        results = Path(sys.argv[1])
    else:
        candidates = sorted((BENCH / "tmp").glob("*/results.json"))
        if not candidates:
            sys.exit("no bench/tmp/*/results.json: run `make bench` first")
        results = candidates[-1]
    data = json.loads(results.read_text())
    settings, runs = data["settings"], data["runs"]
    by_stage: dict[str, list[dict]] = {}
    for run in runs:
        by_stage.setdefault(run["stage"], []).append(run)
    compare = by_stage.get("compare", [])
    capacity = by_stage.get("capacity", [])
    steps = sorted(by_stage.get("steps", []), key=lambda r: r["users"])
    scale = sorted(by_stage.get("scale", []), key=lambda r: r.get("bags") or 0)
    latency = by_stage.get("latency", [])
    floor_run = next((r for r in capacity if endpoint(r, "/health/")), None)
    floor = floor_run["aggregate"]["rps"] if floor_run else None
    chosen = settings.get("chosen", "?")

    out: list[str] = []
    w = out.append
    w("# TraceTrack load benchmark")
    w("")
    # A resumed bench can hold runs made on several commits: name each with its runs.
    by_commit: dict[str, list[str]] = {}
    for run in runs:
        by_commit.setdefault(run.get("commit", "?"), []).append(run["label"])
    if len(by_commit) <= 1:
        commits = f"commit `{next(iter(by_commit), settings.get('commit'))}`"
    else:
        commits = "commits " + "; ".join(f"`{commit}` ({', '.join(labels) if len(labels) <= 4 else f'{len(labels)} runs'})"
                                         for commit, labels in by_commit.items())
    if settings.get("commit") not in by_commit:  # a resumed bench: the last stages ran on another commit
        commits += f" (the stages resumed last, and this report: `{settings.get('commit')}`)"
    w(f"Generated by `make bench` ({datetime.now():%Y-%m-%d %H:%M}), {commits}"
      f"{' with uncommitted changes' if settings.get('dirty') else ''}; raw output `{results.parent.name}/` under "
      f"`bench/tmp/`. Machine: {settings.get('cores')} cores, load average before the run "
      f"{', '.join(f'{x:.2f}' for x in settings.get('loadavg_before', []))}; the whole bench took "
      f"{settings.get('elapsed_s', 0) // 60} min {settings.get('elapsed_s', 0) % 60} s.")
    w("")
    w("Server: `gunicorn -c gunicorn_production.py tracetrack.wsgi` (DEBUG off, HTTPS=0, access log off), "
      "PostgreSQL 15 + Redis on the same machine, Django's psycopg 3 pool. Locust (one process, FastHttpUser) "
      "runs on the same cores: its CPU use is in the tables. Response times are locust's, client side; "
      "locust keeps whole milliseconds below 100 ms and rounds to 10 ms above.")
    w("")
    w(f"**Bench-only setting:** `RATE_LIMIT_LOGIN={settings.get('login_rate')}` — every locust user comes from "
      "127.0.0.1, and the default 10/min per IP would refuse the few real logins in the mix. The scan and API "
      "rate limits keep their defaults (1000/min and 3000/min per user) in the mixed load and the pace stage, and "
      "are raised to 1,000,000/min in the closed-loop runs (capacity, latency, builds, batch), where one locust "
      "user stands for many clients and a batch counts every item (the limiter still runs).")
    w("")

    # --- targets -------------------------------------------------------------------------
    w("## Targets")
    w("")
    w("| target | measured | run | result |")
    w("|---|---|---|---|")
    target_run = next((r for r in steps if r["users"] == TARGET_USERS), None)
    if target_run is None:
        target_run = next((r for r in compare if r["config"] == chosen and r["users"] == TARGET_USERS), None)
    if target_run:
        p95, p95_name = worst(target_run, "p95")
        p99, p99_name = worst(target_run, "p99")
        where = f"`{target_run['label']}` ({operators(target_run)} operators of {target_run['users']} users)"
        w(f"| {TARGET_USERS} concurrent users: p95 < 50 ms on every scan endpoint | worst p95 {ms(p95)} ms "
          f"(`{p95_name}`) | {where} | {verdict(p95 < 50)} |")
        w(f"| {TARGET_USERS} concurrent users: p99 < 100 ms on every scan endpoint | worst p99 {ms(p99)} ms "
          f"(`{p99_name}`) | {where} | {verdict(p99 < 100)} |")
        errs = failures(target_run) + server_errors(target_run)
        w(f"| {TARGET_USERS} concurrent users: 0 errors | {failures(target_run)} failed requests measured "
          f"({warmup_failures(target_run)} including warm-up), {server_errors(target_run)} 5xx in the server log "
          f"| {where} | {verdict(errs == 0 and warmup_failures(target_run) == 0)} |")
        ops_run = next((r for r in steps if operators(r) >= TARGET_USERS), None)
        if ops_run and ops_run is not target_run:
            p95o, _ = worst(ops_run, "p95")
            p99o, _ = worst(ops_run, "p99")
            w(f"| same with ≥ {TARGET_USERS} *operators* (scan p95 < 50, p99 < 100, 0 errors) | p95 {ms(p95o)} ms, "
              f"p99 {ms(p99o)} ms, {failures(ops_run)} failures | `{ops_run['label']}` ({operators(ops_run)} "
              f"operators) | {verdict(p95o < 50 and p99o < 100 and failures(ops_run) == 0)} |")
    else:
        w(f"| {TARGET_USERS} concurrent users, scan p95/p99, errors | no {TARGET_USERS}-user run | – | n/a |")
    one_m = next((r for r in scale if r["size"].lower() == "1m"), None)
    for name in ("/api/v1/stats/", "/api/v1/scans/"):
        lat = next((r for r in latency if endpoint(r, name, "GET")), None)
        if lat:
            row = endpoint(lat, name, "GET")
            w(f"| `{name}` p95 < 10 ms uncached at {lat['size'].upper()} bags, one client | p95 {ms(row['p95'])} ms "
              f"(p50 {ms(row['p50'])}, p99 {ms(row['p99'])}) | `{lat['label']}` ({lat['config']}) | "
              f"{verdict(row['p95'] < 10)} |")
        row = endpoint(one_m, name, "GET") if one_m else None
        if row:
            w(f"| `{name}` p95 < 10 ms uncached at 1M bags, {one_m['users']} clients with the scale mix | p95 "
              f"{ms(row['p95'])} ms (p50 {ms(row['p50'])}, p99 {ms(row['p99'])}) | `{one_m['label']}` | "
              f"{verdict(row['p95'] < 10)} |")
        elif not lat:
            w(f"| `{name}` p95 < 10 ms uncached at 1M bags | no 1M scale run | – | n/a |")
    clean_steps = [r for r in steps if failures(r) == 0]
    best = max(clean_steps, key=lambda r: r.get("scans_per_s_min10") or r.get("scans_per_s") or 0, default=None)
    child_cap = next((r for r in capacity if endpoint(r, "/api/v1/scans/child/")), None)
    if best or child_cap:
        parts, ok = [], False
        if best:
            low = best.get("scans_per_s_min10")
            parts.append(f"mixed `{best['label']}`: {num(best.get('scans_per_s'))} scans/s average, lowest 10 s "
                         f"window {num(low)}")
            ok = (low if low is not None else best.get("scans_per_s", 0)) >= 400
        if child_cap:
            cap = child_cap.get("scans_per_s", 0)
            parts.append(f"closed loop `{child_cap['label']}`: {num(cap)} scans/s, lowest 10 s window "
                         f"{num(child_cap.get('scans_per_s_min10'))}, {failures(child_cap)} failures")
            ok = ok or ((child_cap.get("scans_per_s_min10") or cap) >= 400 and failures(child_cap) == 0)
        where = ", ".join(label for label, run in (("mixed steps", best), ("capacity", child_cap)) if run)
        w(f"| ≥ 400 scans/s sustained, 0 errors | {'; '.join(parts)} | {where} | {verdict(ok)} |")
    else:
        w("| ≥ 400 scans/s sustained | no run | – | n/a |")
    for line in issue16_targets(by_stage, settings):
        w(line)
    w("")
    w("A scan endpoint is `POST /api/v1/scans/parent/`, `/child/`, `/undo/` and `/api/v1/bills/<id>/parents/`. "
      "Scans/s counts parent and child scan requests (duplicates and retries included).")
    w("")

    # --- worker classes --------------------------------------------------------------------
    if compare:
        c0 = compare[0]
        w(f"## Worker class comparison ({c0['users']} users, mixed load, {c0['duration']} s each, "
          f"`{c0['size']}` data set)")
        w("")
        w("| configuration | req/s | scans/s | p50 | p95 | p99 | scan p95 | scan p99 | failures | server errors "
          "| PostgreSQL connections max (mean) | CPU % gunicorn / postgres / redis / locust / other | CPU ms/req "
          "gunicorn + postgres |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in compare:
            a = r["aggregate"]
            mark = " ✔" if r["config"] == chosen else ""
            w(f"| `{r['config']}`{mark} | {a.get('rps', 0):.0f} | {r.get('scans_per_s', 0):.0f} | {ms(a.get('p50'))} | "
              f"{ms(a.get('p95'))} | {ms(a.get('p99'))} | {ms(worst(r, 'p95')[0])} | {ms(worst(r, 'p99')[0])} | "
              f"{failures(r)} | {server_errors(r)} | {r.get('pg_max_ours', '–')} ({r.get('pg_mean_ours', '–')}) | "
              f"{cpu(r)} | {cpu_per_request(r)} |")
        w("")
        w(f"Chosen: **`{chosen}`** — the rule (bench/run.py `choose`): no failures and no server errors first, "
          "then the lowest p95 and p99 over the scan endpoints, then the most requests per second. "
          "`class:N` is N workers; `gthread:NxT` N workers of T threads (pool max = max(8, T)); `gevent:NxC` N "
          f"workers of C connections (pool max {settings.get('gevent_pool', 8)} per worker). PostgreSQL "
          "connections are this server's (application_name), sampled from pg_stat_activity every second; with "
          "the pool they stay at most workers × pool max.")
        w("")
    elif chosen and (capacity or steps or scale):
        # Only the stages that run on it name it; the others name their own configuration.
        w(f"## Worker configuration\n\n`{chosen}` (given by BENCH_WORKERS, or a single entry in BENCH_CLASSES).\n")

    # --- capacity / floor ------------------------------------------------------------------
    if capacity:
        c0 = capacity[0]
        w(f"## Framework floor and endpoint capacity (`{chosen}`, {c0['users']} users in a closed loop, "
          f"{c0['duration']} s each, `{c0['size']}`)")
        w("")
        w("`/health/` touches neither the database nor the cache: it is what the stack (gunicorn + Django "
          "middleware) costs. Every other endpoint alone, same loop. Reads of a bag (the bag API, the lookup page) "
          "name a bag not read before in the run, so that no build serves them from a cache; stats, the scans "
          "list and the other reads are served as the build serves them (this one caches no API read; builds "
          "before issue 16 cached them until the next write): the *cache hits* column gives the hit ratio of "
          "each read the app counts.")
        w("")
        w("| endpoint | req/s | ratio to floor | p50 | p95 | p99 | failures | cache hits | CPU % gunicorn / postgres / "
          "redis / locust / other | CPU ms/req gunicorn + postgres |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in capacity:
            e = main_row(r)
            if not e:
                continue
            ratio = f"{e['rps'] / floor:.2f}" if floor else "–"
            w(f"| {e['method']} `{e['name']}` | {e['rps']:.0f} | {ratio} | {ms(e['p50'])} | {ms(e['p95'])} | "
              f"{ms(e['p99'])} | {failures(r)} | {hit_ratio(r)} | {cpu(r)} | {cpu_per_request(r)} |")
        w("")

    # --- steps ----------------------------------------------------------------------------
    if steps:
        s0 = steps[0]
        w(f"## Mixed load (`{chosen}`, `{s0['size']}` data set, {s0['duration']} s measured per step)")
        w("")
        w("![latency and throughput against users](chart.png)")
        w("")
        w("| users (operators) | req/s | scans/s (lowest 10 s) | p50 | p95 | p99 | scan p95 | scan p99 | failures "
          "(incl. warm-up) | server errors | PostgreSQL conns max (mean) | CPU % gunicorn / postgres / redis / "
          "locust / other | CPU ms/req gunicorn + postgres |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in steps:
            a = r["aggregate"]
            w(f"| {r['users']} ({operators(r)}) | {a.get('rps', 0):.0f} | {r.get('scans_per_s', 0):.0f} "
              f"({num(r.get('scans_per_s_min10'))}) | {ms(a.get('p50'))} | {ms(a.get('p95'))} | {ms(a.get('p99'))} | "
              f"{ms(worst(r, 'p95')[0])} | {ms(worst(r, 'p99')[0])} | {failures(r)} ({warmup_failures(r)}) | "
              f"{server_errors(r)} | {r.get('pg_max_ours', '–')} ({r.get('pg_mean_ours', '–')}) | {cpu(r)} | "
              f"{cpu_per_request(r)} |")
        w("")
        if any(r.get("cache_reads") is not None for r in steps):
            w("Cache hit ratio while measured. " + CACHE_TEXT)
            w("")
            out.extend(cache_lines(steps))
            w("")
        for r in steps:
            mix = ", ".join(f"{k.replace('User', '').lower()} {v}" for k, v in sorted(r.get("users_started", {}).items()))
            tally = ", ".join(f"{k} {v}" for k, v in sorted(r.get("tally", {}).items()))
            w(f"### {r['users']} users ({mix})")
            w("")
            w(f"Activity while measured: {tally or '–'}.")
            w("")
            out.extend(endpoint_table(r))
            w("")

    # --- scale ----------------------------------------------------------------------------
    if scale:
        w(f"## Scale check ({scale[0]['users']} users, {scale[0]['duration']} s per size, uncached)")
        w("")
        w("The same requests at each data size (`ScaleUser`: bag lookup, child scan into a fresh parent, stats, "
          "newest scans); each lookup names a bag not read before in the run (uncached), the other reads are "
          "served as the app serves them while the child scans change the data. Cost should not grow with the "
          "number of bags.")
        w("")
        header = "| endpoint | " + " | ".join(f"{r['size']} ({num(r.get('bags'))} bags) p50 / p95 / p99" for r in scale)
        w(header + " | p95 largest ÷ smallest |")
        w("|---|" + "---:|" * len(scale) + "---:|")
        for name, method in (("/api/v1/bags/[qr]/", "GET"), ("/api/v1/scans/child/", "POST"),
                             ("/api/v1/stats/", "GET"), ("/api/v1/scans/", "GET"), ("/api/v1/scans/parent/", "POST")):
            cells, p95s = [], []
            for r in scale:
                e = endpoint(r, name, method)
                cells.append(f"{ms(e['p50'])} / {ms(e['p95'])} / {ms(e['p99'])}" if e else "–")
                if e:
                    p95s.append(e["p95"])
            growth = f"{p95s[-1] / p95s[0]:.2f}" if len(p95s) > 1 and p95s[0] else "–"
            w(f"| {method} `{name}` | " + " | ".join(cells) + f" | {growth} |")
        w("")
        w("| size | req/s | failures | server errors | CPU % gunicorn / postgres / redis / locust / other |")
        w("|---|---:|---:|---:|---|")
        for r in scale:
            w(f"| {r['size']} | {r['aggregate'].get('rps', 0):.0f} | {failures(r)} | {server_errors(r)} | {cpu(r)} |")
        w("")

    # --- builds -----------------------------------------------------------------------------
    builds = by_stage.get("builds", [])
    if builds:
        w(builds_section(builds, settings, floor_run, floor))
    pace = by_stage.get("pace", [])
    if pace:
        w(pace_section(pace, settings))
    batch = by_stage.get("batch", [])
    if batch:
        w(batch_section(batch, settings))
    logins = by_stage.get("logins", [])
    if logins:
        w(logins_section(logins, settings))
    # --- several app servers, the import job ------------------------------------------------
    servers = sorted(by_stage.get("servers", []), key=lambda r: r.get("app_servers", 1))
    if servers:
        w(servers_section(servers))
    if settings.get("import"):
        imp = settings["import"]
        w("## A big import through the background-job path")
        w("")
        w(f"{imp['rows']:,} rows (parents with 30 children each) uploaded as an admin would, through "
          "`backoffice.jobs` and a Celery worker (bench/import_job.py): the check (every row judged, nothing kept) "
          f"took **{imp['check_s']} s**, the commit (one transaction, all or nothing) **{imp['commit_s']} s** "
          f"({imp['rows_per_s_commit']:,} rows/s); it made "
          + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in sorted(imp.get("counts", {}).items())) + ".")
        w("")
    # --- failures ---------------------------------------------------------------------------
    w("## Failures by kind (all runs, warm-up included)")
    w("")
    rows = [(r["label"], f) for r in runs for f in r.get("all_failures", [])]
    if rows:
        w("| run | request | failure | count |")
        w("|---|---|---|---:|")
        for label, f in rows:
            w(f"| `{label}` | {f['method']} `{f['name']}` | {f['error']} | {f['count']} |")
    else:
        w("None: every request of every run got its intended answer.")
    problems = [(r["label"], r.get("server", {})) for r in runs]
    logged = [(label, p) for label, p in problems if any(p.values())]
    w("")
    if logged:
        w("Server log (gunicorn.log of each run):")
        w("")
        for label, p in logged:
            w(f"- `{label}`: " + ", ".join(f"{v} {k}" for k, v in p.items() if v))
    else:
        w("The server logs show no errors, tracebacks, worker timeouts or worker restarts.")
    w("")

    # --- method ----------------------------------------------------------------------------
    w("## How it is measured")
    w("")
    w("- **Mix** (tests/load/locustfile.py): operators 72 % (a parent, then 30 children ~0.6 s apart; 3 % "
      "duplicates, 2 % undo then the right bag, 1 % network retries with the same `scan_id`, 5 % resume the "
      "parent, 10 % reload the parent page; 2–5 s to the next sack), lookups 10 % (page, API, prefix "
      "suggestions, 3 % unknown codes → 404 expected), billers 6 % (list completed unbilled parents, create a "
      "bill, open it, scan 3–10 parents, complete), integrators 6 % (Bearer token: new scans since 15 min, "
      "pages of scans and bags by `next` cursor), dashboards 6 % (fragment every 5 s, stats).")
    w("- **Logins**: sessions and tokens are made by bench/prepare.py (one password hash for all bench users: "
      "PBKDF2 costs ~0.3 s of CPU per login, so logging hundreds of users in during a run would measure the "
      "hasher). 2 % of users still log in through /login/ at start and 1 % of operators log out and in again "
      "after a parent; the real logins counted are in the activity lines.")
    w("- **Steady state**: statistics are reset BENCH_WARMUP s after the last user started; failures are also "
      "counted over the whole run (the failures table). Expected refusals count as successes only where they "
      "are the intended outcome; anything else is a failure named by status and API error code.")
    w("- **Between runs**: bench/prepare.py deletes everything the bench users wrote (bags, links, scans, "
      "idempotency records, bills, bill places, audit rows, sessions, tokens), then rewrites the statistics "
      "counters (`recount_stats --repair`'s code): each run starts from the seeded data, and repeated runs "
      "never run out of the ~200k parent codes. Each run gets a fresh gunicorn and its own cache key prefix.")
    w("- **Uncached reads** (capacity, scale, latency and builds runs): each bag read names a bag not read "
      "before in the run (from a sample of 50,000 codes; a run that uses the sample up says so in its tally), so "
      "that no build answers it from a cache; stats and the scans list are served as the build serves them. "
      + CACHE_TEXT)
    w("- **Server errors**: 5xx answers logged by Django plus gunicorn worker timeouts, from each run's "
      "gunicorn.log (a 5xx is always a bug, API.md).")
    w("- **Samplers**: pg_stat_activity (connections of this server, by application_name, and of all clients to "
      "the bench database) and /proc CPU times every second; CPU is in % of one core (so the machine has "
      f"{settings.get('cores', 2) * 100}); *other* is the machine's busy time not spent by gunicorn, postgres, "
      "redis or locust — other work on a shared machine, including *steal* (shown when not 0: time the "
      "hypervisor gave to other machines, and processes this one cannot see).")
    w("")
    child_cap = next((r for r in capacity if endpoint(r, "/api/v1/scans/child/")), None)
    if child_cap and child_cap.get("cpu_pct") and child_cap.get("aggregate", {}).get("rps"):
        c, rps = child_cap["cpu_pct"], child_cap["aggregate"]["rps"]
        app_ms, pg_ms = c.get("gunicorn", 0) * 10 / rps, c.get("postgres", 0) * 10 / rps
        floor_ms = (floor_run["cpu_pct"].get("gunicorn", 0) * 10 / floor) if floor_run and floor else None
        w("## The bottleneck, and what it would take")
        w("")
        w(f"Every run above is CPU-bound: the machine's {settings.get('cores', 2)} cores are busy while PostgreSQL "
          "waits on nothing (every hot query uses an index, see EXPLAIN below). Measured in the closed-loop child-scan "
          f"run: **{app_ms:.1f} ms of server (Python) CPU and {pg_ms:.1f} ms of PostgreSQL CPU per child scan**"
          + (f", against {floor_ms:.1f} ms for the bare stack (`/health/`)" if floor_ms else "") + ". "
          f"{TARGET_SCANS} scans/s at that cost needs about {TARGET_SCANS * (app_ms + pg_ms) / 1000:.0f} cores "
          f"({TARGET_SCANS * app_ms / 1000:.0f} for gunicorn workers, which scale out, and "
          f"{TARGET_SCANS * pg_ms / 1000:.1f} for PostgreSQL), plus the load generator.")
        w("")
        w("Where the server's time goes (pyinstrument, [PROFILE.md](PROFILE.md)): in a child scan about half is the "
          "scan service — its ~14 statements, each costing a few tenths of a millisecond of Django ORM work (building "
          "SQL, building model objects) on this CPU, more than PostgreSQL spends running it — and most of the rest "
          "is the framework: middleware, session loading, DRF's dispatch, throttling (Redis) and rendering. Stats "
          "and the scans list spend most of theirs in the framework and in Redis round trips: the session, the "
          "session user (cached), two for the rate limit, one for a cached read (three when it is rebuilt).")
        w("")
        w("What it would take, cheapest first: (1) more cores — the server is stateless, gunicorn workers scale "
          "out, connections stay bounded by the pool; (2) a cheaper scan request, roughly 4× less CPU: a plain "
          "Django view instead of DRF for the scan endpoints and the lock-check-write sequence in one database round trip (a stored procedure, at the price of "
          "business rules living in SQL); (3) a batch endpoint over `scans.services.scan_children` so that the "
          "phones' offline queue sends up to 30 scans per request.")
        w("")
    if latency:
        w("## One request at a time (1 client, closed loop, reads uncached)")
        w("")
        w("How long a request takes when nothing queues: one locust user calls the endpoint again as soon as "
          "the answer arrives; each bag read names a bag not read before (uncached), the stats and the scans "
          "list are served as the app serves them (cache hits in the last column). Main data set, on the worker "
          "configuration gunicorn_production.py "
          f"deploys by default ({', '.join(sorted({r['config'] for r in latency}))}): keep-alive connections, "
          "as phones behind a proxy get.")
        w("")
        w("| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | failures | cache hits (run) |")
        w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for run in latency:
            for row in run.get("endpoints", []):
                if not row.get("count"):
                    continue
                w(f"| {row.get('method', '')} `{row['name']}` | {row['count']} | {num(row.get('rps'))} | "
                  f"{ms(row['p50'])} | {ms(row['p95'])} | {ms(row['p99'])} | {ms(row.get('max'))} | "
                  f"{row.get('failures', 0)} | {hit_ratio(run)} |")
        w("")
    pages = results.parent / "pages.md"
    if pages.exists():
        w("## Admin and operator pages at the main size (bench/pages.py)")
        w("")
        # The page report's own title is replaced by the heading above.
        w("\n".join(line for line in pages.read_text().splitlines() if not line.startswith("# ")).strip())
        w("")
    profile = results.parent / "profile.md"
    if profile.exists():
        (BENCH / "PROFILE.md").write_text(profile.read_text())
        text = profile.read_text()
        table = text.split("\n## ", 1)[0].split("\n", 1)[-1]
        w("## Where the time goes (bench/profile.py, pyinstrument)")
        w("")
        w("The call trees are in [PROFILE.md](PROFILE.md).")
        w(table.strip())
        w("")
    explain = results.parent / "explain.md"
    if explain.exists():
        (BENCH / "EXPLAIN.md").write_text(explain.read_text())
        text = explain.read_text()
        summary = text.split("## Summary", 1)[-1].split("\n## ", 1)[0] if "## Summary" in text else ""
        w("## EXPLAIN of every hot query (bench/explain.py)")
        w("")
        w("Every plan, with buffers and timings, is in [EXPLAIN.md](EXPLAIN.md); the summary (links point there):")
        w(summary.replace("](#", "](EXPLAIN.md#").strip())
        w("")
    w("Rerun: `make bench` (defaults above) or, shorter, e.g. "
      "`BENCH_SIZES=100k BENCH_USERS=\"20 50\" BENCH_DURATION=20s make bench`; knobs in bench/run.py's docstring. "
      f"This report: sizes {' '.join(settings.get('sizes', []))}, users {' '.join(map(str, settings.get('users', [])))}, "
      f"{settings.get('duration')} s per step, worker configurations {' '.join(settings.get('classes', []))}.")
    w("")

    (BENCH / "REPORT.md").write_text("\n".join(out))
    if steps:
        chart(steps, scale, floor, BENCH / "chart.png")
    elif compare:
        chart(sorted(compare, key=lambda r: r["users"]), scale, floor, BENCH / "chart.png")
    print(f"[report] {BENCH / 'REPORT.md'} and {BENCH / 'chart.png'}")


if __name__ == "__main__":
    main()
