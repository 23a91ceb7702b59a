"""Celery tasks of the back office: thin, they call backoffice.jobs."""

from celery import shared_task

from backoffice import jobs


@shared_task(name="backoffice.run_job")
def run_job_task(job_id: str) -> None:
    jobs.run_job(job_id)


@shared_task(name="backoffice.reap_stale_jobs")
def reap_stale_jobs_task() -> int:
    return jobs.reap_stale_jobs()
