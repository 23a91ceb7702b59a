"""Background jobs: imports too big for a web request (more than IMPORT_JOB_THRESHOLD rows),
run by a Celery worker (or, in the embedded default, a thread of the web process).

A job runs in two phases, each a background run of `backoffice.importing`: the check (a
dry run: every row judged, nothing kept; the report is stored on the job), then — when
the admin clicks Import — the commit, all or nothing, in one transaction. Progress (rows
done of the total) goes to the cache every second as the job runs, from a heartbeat
thread of the worker, where the job page reads it; it is the job's heartbeat: a running job without one for
JOB_STALE_SECONDS lost its worker (killed, host gone). PostgreSQL rolled its transaction
back when the worker's connection went, so nothing is half-written; the job is marked
failed with that reason (`reap_stale_jobs`, every minute from Celery beat, and whenever a
job page looks). A file has at most one active job (`job_one_active_per_file`): a second
import of it meanwhile is refused with `import_running`.
"""

import hashlib
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from accounts.audit import audit
from accounts.models import User
from backoffice.importing import (
    BAGS,
    BILLS,
    ImportFileError,
    ImportReport,
    Problem,
    can_import,
    count_rows,
    import_file,
)
from backoffice.models import ACTIVE_STATUSES, Job, JobKind, JobPhase, JobStatus
from tracetrack.celery import app as celery_app
from tracetrack.errors import Forbidden, NotFound, Refused

logger = logging.getLogger(__name__)

KIND_OF = {BAGS: JobKind.IMPORT_BAGS, BILLS: JobKind.IMPORT_BILLS}
IMPORT_OF = {value: key for key, value in KIND_OF.items()}
# The problems kept on a job's report (the rest are counted); the page shows these.
KEPT_PROBLEMS = 1000


def wants_job(path: Path) -> bool:
    """Is this file big enough to import in the background?"""
    return count_rows(path) > settings.IMPORT_JOB_THRESHOLD


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _require_importer(user: User) -> None:
    if not can_import(user):
        raise Forbidden(detail="Only admins may import files.")


def job_start(*, user: User, kind: str, path: Path, file_name: str) -> Job:
    """Queue the check of the file at `path` (kept until the job ends). Refusal:
    `import_running` when the same file is already being imported."""
    _require_importer(user)
    digest = _sha256(path)
    try:
        with transaction.atomic():
            job = Job.objects.create(kind=KIND_OF[kind], user=user, file_name=file_name[:200], file_path=str(path),
                                     file_sha256=digest, rows_total=count_rows(path))
            audit(actor=user, action="import.job_start", entity_type="job", entity_id=job.pk,
                  after={"kind": kind, "file": job.file_name, "rows": job.rows_total})
    except IntegrityError:
        running = Job.objects.filter(file_sha256=digest, status__in=ACTIVE_STATUSES).first()
        raise Refused(
            "import_running",
            f"{file_name} is being imported already"
            + (f" (started by {running.user.username if running.user else 'someone'} at "
               f"{timezone.localtime(running.created_at):%H:%M})" if running else "")
            + ": wait for it, or cancel it first.",
            job=str(running.pk) if running else None,
        ) from None
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


@transaction.atomic
def job_commit(*, user: User, job_id: UUID) -> Job:
    """Queue the commit of a checked job whose every row can be imported."""
    _require_importer(user)
    job = _lock(job_id)
    if job.status != JobStatus.JUDGED:
        raise Refused("job_not_ready", "This import is not waiting for its commit.")
    if (job.report or {}).get("problem_count"):
        raise Refused("job_has_problems", "Refused rows: correct the file and upload it again.")
    job.phase, job.status, job.error = JobPhase.COMMIT, JobStatus.QUEUED, ""
    job.save(update_fields=["phase", "status", "error"])
    transaction.on_commit(lambda: dispatch(job.pk))
    return job


@transaction.atomic
def job_cancel(*, user: User, job_id: UUID) -> Job:
    """Drop a job that waits (queued, or checked and waiting for its commit)."""
    _require_importer(user)
    job = _lock(job_id)
    if job.status not in (JobStatus.QUEUED, JobStatus.JUDGED):
        raise Refused("job_running", "A running import cannot be cancelled; it will end by itself.")
    _finish(job, JobStatus.CANCELLED)
    return job


def _lock(job_id) -> Job:
    job = Job.objects.select_for_update().filter(pk=job_id).first()
    if job is None:
        raise NotFound(detail="No such import.")
    return job


def _finish(job: Job, status: str, *, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.save(update_fields=["status", "error", "finished_at", "report"])
    if status != JobStatus.JUDGED:
        Path(job.file_path).unlink(missing_ok=True)


# --- Running ------------------------------------------------------------------------------


def dispatch(job_id: UUID) -> None:
    """Hand the job to whoever runs jobs here (JOBS_BACKEND): the Celery workers, a thread
    of this process (the embedded default, no broker), or this very call (tests)."""
    backend = settings.JOBS_BACKEND
    if backend == "celery":
        celery_app.send_task("backoffice.run_job", args=[str(job_id)])  # backoffice.tasks
    elif backend == "thread":
        threading.Thread(target=_run_in_thread, args=(job_id,), name=f"job-{job_id}", daemon=True).start()
    else:
        run_job(job_id)


def _run_in_thread(job_id: UUID) -> None:
    try:
        run_job(job_id)
    finally:
        connections.close_all()


def progress_key(job_id) -> str:
    return f"job-progress:{job_id}"


class _Progress:
    """The import's progress callback and the job's heartbeat: a thread of the worker puts
    the latest rows done to the cache every second, whether or not a row finished meanwhile
    (reading the file, or the first rows of a slow commit, can take longer than
    JOB_STALE_SECONDS on a busy host: a job must not be reaped while its worker lives). A
    killed worker's heartbeat stops with it."""

    def __init__(self, job: Job):
        self.job = job
        self.started = time.monotonic()
        self.done, self.total = 0, job.rows_total or 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"job-heartbeat-{job.pk}", daemon=True)

    def __call__(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def __enter__(self) -> "_Progress":
        self._publish()
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        cache.delete(progress_key(self.job.pk))

    def _beat(self) -> None:
        while not self._stop.wait(1.0):
            try:
                self._publish()
            except Exception:  # noqa: BLE001 - a cache outage must not end the job; the next beat retries
                logger.warning("job %s: progress not published (cache unavailable)", self.job.pk)

    def _publish(self) -> None:
        cache.set(progress_key(self.job.pk), {"done": self.done, "total": self.total, "at": time.time(),
                                               "seconds": time.monotonic() - self.started, "phase": self.job.phase},
                  settings.JOB_STALE_SECONDS * 10)


def run_job(job_id) -> None:
    """A worker's run of one phase of a job. It claims the job first (queued → running), so
    a job handed out twice runs once. (Celery's Django fix-up, and `_run_in_thread`, look
    after the worker's database connections.)"""
    claimed = Job.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(status=JobStatus.RUNNING,
                                                                              started_at=timezone.now())
    if not claimed:
        logger.info("job %s is not queued any more; nothing to do", job_id)
        return
    job = Job.objects.select_related("user").get(pk=job_id)
    commit = job.phase == JobPhase.COMMIT
    logger.info("job %s: %s of %s (%s rows) by %s", job.pk, job.phase, job.file_name, job.rows_total,
                job.user.username if job.user else "?")
    try:
        with _Progress(job) as progress:
            report = import_file(user=job.user, kind=IMPORT_OF[job.kind], path=Path(job.file_path),
                                 file_name=job.file_name, commit=commit, progress=progress)
    except ImportFileError as exc:
        _finish(job, JobStatus.FAILED, error=str(exc))
        return
    except Exception as exc:  # noqa: BLE001 - a job must end failed, with the reason, whatever broke
        logger.exception("job %s failed", job.pk)
        _finish(job, JobStatus.FAILED, error=f"{type(exc).__name__}: {exc}. Nothing was written.")
        return
    job.report = report_as_json(report)
    if report.committed:
        _finish(job, JobStatus.COMMITTED)
    else:
        # Checked; or, at the commit, rows that were good at the check and are refused now
        # (the data changed meanwhile): nothing written, the new report says why.
        _finish(job, JobStatus.JUDGED)


def report_as_json(report: ImportReport) -> dict[str, Any]:
    return {
        "kind": report.kind, "file_name": report.file_name, "rows": report.rows, "committed": report.committed,
        "seconds": round(report.seconds, 2), "counts": dict(report.counts),
        "problems": [asdict(problem) for problem in report.problems[:KEPT_PROBLEMS]],
        "problem_count": len(report.problems),
    }


def report_from_json(data: dict[str, Any]) -> ImportReport:
    """The stored report as the import page shows reports."""
    report = ImportReport(kind=data["kind"], file_name=data["file_name"], rows=data["rows"],
                          committed=data["committed"], seconds=data["seconds"])
    report.counts.update(data.get("counts", {}))
    report.problems = [Problem(index=p["index"], where=p["where"], code=p["code"],
                               reasons=[tuple(reason) for reason in p["reasons"]]) for p in data.get("problems", [])]
    return report


def job_progress(job: Job) -> dict[str, Any]:
    """What the job page shows: status, rows done of the total, rate, time left."""
    if job.status == JobStatus.RUNNING:
        reap_stale_jobs()
        job.refresh_from_db()
    seen = cache.get(progress_key(job.pk)) if job.status == JobStatus.RUNNING else None
    done = seen["done"] if seen else (job.report or {}).get("rows", 0) if job.status != JobStatus.QUEUED else 0
    total = (seen or {}).get("total") or job.rows_total or 0
    rate = done / seen["seconds"] if seen and seen["seconds"] > 0 else None
    return {
        "id": str(job.pk), "status": job.status, "status_text": job.get_status_display(), "phase": job.phase,
        "done": done, "total": total, "rate": round(rate) if rate else None,
        "seconds_left": round((total - done) / rate) if rate and total >= done else None,
        "error": job.error, "finished": not job.is_active or job.status == JobStatus.JUDGED,
    }


def _cache_is_up() -> bool:
    key = "job-progress:probe"
    cache.set(key, 1, 10)
    return cache.get(key) == 1


def reap_stale_jobs() -> int:
    """Mark failed the running jobs whose worker stopped (no progress for
    JOB_STALE_SECONDS). Without a working cache nothing can be told: nothing is reaped."""
    cutoff = timezone.now() - timezone.timedelta(seconds=settings.JOB_STALE_SECONDS)
    running = list(Job.objects.filter(status=JobStatus.RUNNING, started_at__lt=cutoff))
    if not running or not _cache_is_up():
        return 0
    reaped = 0
    for job in running:
        seen = cache.get(progress_key(job.pk))
        if seen is not None and time.time() - seen["at"] < settings.JOB_STALE_SECONDS:
            continue
        where = f" at row {seen['done']:,} of {seen['total']:,}" if seen else ""
        with transaction.atomic():
            if Job.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
                    status=JobStatus.FAILED, finished_at=timezone.now(),
                    error=f"The worker stopped{where} (killed or restarted) with no word for "
                          f"{settings.JOB_STALE_SECONDS} s. Its transaction was rolled back: nothing was written. "
                          "Start the import again."):
                Path(job.file_path).unlink(missing_ok=True)
                reaped += 1
                logger.warning("job %s: worker lost%s; marked failed", job.pk, where)
    return reaped
