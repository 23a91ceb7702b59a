"""Bench: a big import through the background-job path, as an admin would run it
(`python bench/import_job.py --rows 100000 --out FILE`, in the bench's environment).

Writes a CSV of parents with 30 children each (codes no other bench run uses, on free
parent codes), starts a Celery worker on a queue of its own, hands the file to
`backoffice.jobs` (the admin page's path), waits for the check, commits, waits for the
commit, and writes the timings as JSON. The rows belong to a bench admin, so bench/
prepare.py's cleanup removes them afterwards (run.py runs it)."""

import argparse
import csv
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
QUEUE = f"bench-import-{secrets.token_hex(4)}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracetrack.settings")
os.environ["JOBS_BACKEND"] = "celery"
os.environ["CELERY_QUEUE"] = QUEUE

import django  # noqa: E402

django.setup()

from accounts.models import Role, User  # noqa: E402
from accounts.services import user_create  # noqa: E402
from backoffice import jobs  # noqa: E402
from backoffice.models import Job, JobStatus  # noqa: E402
from bags.models import Bag  # noqa: E402


def log(message: str) -> None:
    print(f"[import] {message}", flush=True)


def free_parent_codes(count: int) -> list[str]:
    taken = set(Bag.objects.filter(kind="parent").values_list("qr_id", flat=True))
    codes = []
    for prefix in ("M444-", "SB"):
        for number in range(99_999, -1, -1):
            code = f"{prefix}{number:05d}"
            if code not in taken:
                codes.append(code)
                if len(codes) == count:
                    return codes
    raise SystemExit(f"only {len(codes)} free parent codes")


def write_file(path: Path, rows: int) -> int:
    parents = free_parent_codes(max(1, -(-rows // 31)))  # at least `rows` rows
    tag = secrets.token_hex(3).upper()
    written = 0
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["qr_id", "kind", "parent_qr_id"])
        for p, parent in enumerate(parents):
            out.writerow([parent, "parent", ""])
            written += 1
            for c in range(30):
                out.writerow([f"IMP{tag}-{p:05d}-{c:02d}", "child", parent])
                written += 1
    return written


def wait(job: Job, status: str, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == status:
            return job
        if job.status == JobStatus.FAILED:
            raise SystemExit(f"job failed: {job.error}")
        time.sleep(0.5)
    raise SystemExit(f"job still {job.status} after {timeout:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workdir", required=True)
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    admin = User.objects.filter(username="bench_import_admin").first() or user_create(
        actor=None, username="bench_import_admin", password=None, role=Role.ADMIN)
    path = workdir / "import.csv"
    rows = write_file(path, args.rows)
    log(f"{rows:,} rows in {path}")
    worker_log = (workdir / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "tracetrack", "worker", "--pool", "solo",
                               "--queues", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat"],
                              cwd=BASE_DIR, env=dict(os.environ), stdout=worker_log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        started = time.monotonic()
        job = jobs.job_start(user=admin, kind="bags", path=path, file_name=path.name)
        job = wait(job, JobStatus.JUDGED, 1800)
        checked = time.monotonic()
        problems = job.report["problem_count"]
        log(f"checked in {checked - started:.1f} s ({problems} refused rows)")
        if problems:
            raise SystemExit(f"the bench file has {problems} refused rows: {job.report['problems'][:3]}")
        jobs.job_commit(user=admin, job_id=job.pk)
        job = wait(job, JobStatus.COMMITTED, 1800)
        committed = time.monotonic()
        log(f"committed in {committed - checked:.1f} s")
        result = {
            "rows": rows, "check_s": round(checked - started, 1), "commit_s": round(committed - checked, 1),
            "commit_in_worker_s": job.report["seconds"],
            "rows_per_s_commit": round(rows / max(committed - checked, 1e-9)),
            "counts": job.report["counts"],
        }
        Path(args.out).write_text(json.dumps(result, indent=1))
    finally:
        worker.terminate()
        worker.wait(30)


if __name__ == "__main__":
    main()
