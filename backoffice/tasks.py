"""Celery tasks of the back office: thin, they call backoffice.jobs."""

from backoffice import jobs
from tracetrack.celery import app


@app.task(name="backoffice.run_job")
def run_job_task(job_id: str) -> None:
    jobs.run_job(job_id)


@app.task(name="backoffice.reap_stale_jobs")
def reap_stale_jobs_task() -> int:
    return jobs.reap_stale_jobs()
