"""Big imports as background jobs (backoffice.jobs): checked, then committed on a click,
with their progress on the job page; one active job per file; a stopped worker's job is
marked failed with nothing written. In-process, the jobs run where they are handed out
(JOBS_BACKEND=eager); tests/reliability/test_jobs_worker.py runs a real Celery worker."""

import time

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import AuditLog
from backoffice import jobs
from backoffice.models import Job, JobPhase, JobStatus
from bags.models import Bag, Link
from tests.backoffice.conftest import BAG_IMPORT_URL, bag_rows, csv_bytes, upload
from tests.helpers import refused

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_threshold(settings):
    settings.IMPORT_JOB_THRESHOLD = 10
    return settings


def job_page(response) -> str:
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def test_a_big_file_is_checked_in_the_background_then_committed_on_a_click(admin_client, admin_user, small_threshold,
                                                                           django_capture_on_commit_callbacks):
    rows = bag_rows(3, 5)  # 18 rows: above the threshold
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(admin_client, BAG_IMPORT_URL, "big.csv", csv_bytes(rows))
    page = job_page(response)
    job = Job.objects.get()
    assert (job.status, job.phase, job.rows_total, job.file_name) == (JobStatus.JUDGED, JobPhase.CHECK, 18, "big.csv")
    assert not Bag.objects.exists(), "the check writes nothing"
    shown = admin_client.get(page)
    assert shown.status_code == 200 and b"Import 18 rows" in shown.content
    status = admin_client.get(reverse("admin:backoffice_job_status", args=[job.pk])).json()
    assert status["status"] == "judged" and status["done"] == 18 and status["finished"] is True

    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(page, {"action": "commit"}).status_code == 302
    job.refresh_from_db()
    assert job.status == JobStatus.COMMITTED and job.report["committed"] is True
    assert Bag.objects.count() == 18 and Link.objects.count() == 15
    assert b"Imported" in admin_client.get(page).content
    assert AuditLog.objects.filter(action="import.bags").count() == 1
    assert AuditLog.objects.filter(action="import.job_start").count() == 1


def test_a_small_file_is_still_imported_in_the_request(admin_client, small_threshold):
    response = upload(admin_client, BAG_IMPORT_URL, "small.csv", csv_bytes(bag_rows(1, 3)))
    assert response.status_code == 200 and response.context["report"].rows == 4
    assert not Job.objects.exists()


def test_refused_rows_of_a_job_are_reported_and_it_cannot_be_committed(admin_client, admin_user, small_threshold,
                                                                       django_capture_on_commit_callbacks):
    rows = bag_rows(2, 5)
    rows.append(["SB00098X", "child", "SB00001"])  # a mistyped parent code
    with django_capture_on_commit_callbacks(execute=True):
        page = job_page(upload(admin_client, BAG_IMPORT_URL, "bad.csv", csv_bytes(rows)))
    job = Job.objects.get()
    assert job.status == JobStatus.JUDGED and job.report["problem_count"] == 1
    content = admin_client.get(page).content.decode()
    assert "mistyped parent code" in content and "Import 13 rows" not in content
    refused("job_has_problems", jobs.job_commit, user=admin_user, job_id=job.pk)
    assert not Bag.objects.exists()


def test_a_second_import_of_the_same_file_while_one_runs_is_refused(admin_client, admin_user, small_threshold,
                                                                    settings):
    settings.JOBS_BACKEND = "celery"  # nothing runs it: it stays queued
    from unittest import mock

    with mock.patch("backoffice.jobs.dispatch"):
        content = csv_bytes(bag_rows(3, 5))
        job_page(upload(admin_client, BAG_IMPORT_URL, "big.csv", content))
        again = admin_client.post(reverse(BAG_IMPORT_URL), {"action": "dry_run", "file": _file("copy.csv", content)},
                                  follow=True)
    assert Job.objects.count() == 1
    assert "is being imported already" in again.content.decode()
    other = csv_bytes(bag_rows(3, 5, start=50))
    with mock.patch("backoffice.jobs.dispatch"):
        job_page(upload(admin_client, BAG_IMPORT_URL, "other.csv", other))
    assert Job.objects.count() == 2


def _file(name, content):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content)


def test_a_job_can_be_cancelled_while_it_waits(admin_client, admin_user, small_threshold,
                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        page = job_page(upload(admin_client, BAG_IMPORT_URL, "big.csv", csv_bytes(bag_rows(3, 5))))
    job = Job.objects.get()
    admin_client.post(page, {"action": "cancel"})
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED
    from pathlib import Path

    assert not Path(job.file_path).exists()
    # The same file may be imported again now.
    with django_capture_on_commit_callbacks(execute=True):
        job_page(upload(admin_client, BAG_IMPORT_URL, "big.csv", csv_bytes(bag_rows(3, 5))))
    assert Job.objects.filter(status=JobStatus.JUDGED).count() == 1


def test_a_job_whose_worker_stopped_is_marked_failed_with_its_reason(admin_user, settings, tmp_path):
    settings.JOB_STALE_SECONDS = 5
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(bag_rows(3, 5)))
    from unittest import mock

    with mock.patch("backoffice.jobs.dispatch"):
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="big.csv")
    # A worker took it and died after 3,000 rows: its heartbeat is old.
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=job.created_at - _seconds(60))
    cache.set(jobs.progress_key(job.pk), {"done": 3000, "total": 18, "at": time.time() - 30, "seconds": 1,
                                          "phase": "commit"}, 600)
    assert jobs.reap_stale_jobs() == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "worker stopped at row 3,000" in job.error
    assert "nothing was written" in job.error and not path.exists()
    assert jobs.reap_stale_jobs() == 0


def test_a_running_job_with_a_fresh_heartbeat_is_left_alone(admin_user, settings, tmp_path):
    settings.JOB_STALE_SECONDS = 5
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(bag_rows(3, 5)))
    from unittest import mock

    with mock.patch("backoffice.jobs.dispatch"):
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="big.csv")
    Job.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, started_at=job.created_at - _seconds(60))
    cache.set(jobs.progress_key(job.pk), {"done": 5, "total": 18, "at": time.time(), "seconds": 1, "phase": "check"},
              600)
    assert jobs.reap_stale_jobs() == 0
    progress = jobs.job_progress(Job.objects.get(pk=job.pk))
    assert (progress["status"], progress["done"], progress["total"], progress["rate"]) == ("running", 5, 18, 5)


def test_a_live_worker_slow_to_its_first_rows_keeps_its_job(admin_user, settings, tmp_path):
    """The heartbeat beats every second while the import runs, not only at every 1,000 rows:
    a commit whose first rows take longer than JOB_STALE_SECONDS (a busy host) is not
    reaped from under its living worker."""
    settings.JOB_STALE_SECONDS = 2
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(bag_rows(2, 2)))
    from unittest import mock

    with mock.patch("backoffice.jobs.dispatch"):
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="big.csv")
    Job.objects.filter(pk=job.pk).update(started_at=job.created_at - _seconds(60))
    reaped = []
    real_import = jobs.import_file

    def slow_import(**kwargs):
        for _second in range(4):  # twice JOB_STALE_SECONDS without a row done
            time.sleep(1)
            reaped.append(jobs.reap_stale_jobs())
        return real_import(**kwargs)

    with mock.patch("backoffice.jobs.import_file", slow_import):
        jobs.run_job(job.pk)
    job.refresh_from_db()
    assert reaped == [0, 0, 0, 0] and job.status == JobStatus.JUDGED
    assert cache.get(jobs.progress_key(job.pk)) is None, "the heartbeat stops with the run"


def test_a_job_is_run_once_even_when_handed_out_twice(admin_user, tmp_path, django_capture_on_commit_callbacks):
    path = tmp_path / "big.csv"
    path.write_bytes(csv_bytes(bag_rows(2, 2)))
    from unittest import mock

    with mock.patch("backoffice.jobs.dispatch"):
        job = jobs.job_start(user=admin_user, kind="bags", path=path, file_name="big.csv")
    jobs.run_job(job.pk)
    jobs.run_job(job.pk)  # a second delivery finds it judged, not queued
    assert Job.objects.get(pk=job.pk).status == JobStatus.JUDGED


def test_only_admins_start_jobs(biller, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(b"qr_id,kind\n")
    refused("permission_denied", jobs.job_start, user=biller, kind="bags", path=path, file_name="x.csv")


def _seconds(n):
    from datetime import timedelta

    return timedelta(seconds=n)
