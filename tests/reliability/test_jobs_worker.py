"""Background imports on a real Celery worker (Redis as the broker): checked and committed
by the worker with its progress in the cache; a worker killed mid-commit leaves nothing
written and its job marked failed with the reason."""

import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from backoffice import jobs
from backoffice.models import Job, JobStatus
from bags.models import Bag
from tests.backoffice.conftest import bag_rows, csv_bytes
from tests.servers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the broker (REDIS_URL)")]


@pytest.fixture
def worker_queue(settings):
    """The test process hands jobs to Celery on a queue of this test's own; the worker
    takes them from it, on this test's database and cache."""
    from tracetrack.celery import app

    queue = f"tt-test-{uuid.uuid4().hex[:8]}"
    settings.JOBS_BACKEND = "celery"
    old = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    db = connection.settings_dict
    env = {"DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
                           f"{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
           "DB_POOL_MAX": "2", "JOB_STALE_SECONDS": "5"}
    yield queue, env
    app.conf.task_default_queue = old


def status(job) -> str:
    return Job.objects.get(pk=job.pk).status


def test_a_worker_checks_then_commits_a_big_import(admin_user, worker_queue, tmp_path):
    queue, env = worker_queue
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(bag_rows(40, 30)))  # 1,240 rows
    with celery_worker(env, queue) as worker:
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="big.csv")
        wait_for(lambda: status(job) == JobStatus.JUDGED, timeout=60, what="the check")
        assert not Bag.objects.exists()
        assert Job.objects.get(pk=job.pk).report["rows"] == 1240
        jobs.job_commit(user=admin_user, job_id=job.pk)
        wait_for(lambda: status(job) == JobStatus.COMMITTED, timeout=60, what="the commit")
        assert Bag.objects.count() == 1240
        assert "backoffice.run_job" in worker.log_path.read_text()


def test_a_worker_killed_mid_commit_leaves_nothing_written_and_the_job_failed(admin_user, worker_queue, tmp_path,
                                                                              settings):
    queue, env = worker_queue
    settings.JOB_STALE_SECONDS = 5
    path = tmp_path / "huge.csv"
    path.write_bytes(csv_bytes(bag_rows(400, 30)))  # 12,400 rows: some seconds to commit
    with celery_worker(env, queue) as worker:
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="huge.csv")
        wait_for(lambda: status(job) == JobStatus.JUDGED, timeout=120, what="the check")
        jobs.job_commit(user=admin_user, job_id=job.pk)

        def well_under_way():
            progress = jobs.job_progress(Job.objects.get(pk=job.pk))
            return progress["status"] == "running" and progress["phase"] == "commit" and progress["done"] >= 3000

        wait_for(well_under_way, timeout=120, interval=0.05, what="the commit under way")
        done = jobs.job_progress(Job.objects.get(pk=job.pk))["done"]
        worker.kill()
    assert status(job) == JobStatus.RUNNING  # nobody has noticed yet
    wait_for(lambda: Bag.objects.count() == 0 and not _open_transactions(), timeout=30,
             what="PostgreSQL to roll the dead worker's transaction back")
    time.sleep(settings.JOB_STALE_SECONDS + 1)
    assert jobs.reap_stale_jobs() == 1
    failed = Job.objects.get(pk=job.pk)
    assert failed.status == JobStatus.FAILED
    assert "worker stopped at row" in failed.error and "nothing was written" in failed.error
    assert done >= 3000 and Bag.objects.count() == 0
    assert not path.exists()


def _open_transactions() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()")
        return cursor.fetchone()[0]
