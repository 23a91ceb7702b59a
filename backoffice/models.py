"""Background jobs of the back office: big imports, judged and committed off the request
path (backoffice.jobs)."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class JobKind(models.TextChoices):
    IMPORT_BAGS = "import_bags", "Bag import"
    IMPORT_BILLS = "import_bills", "Bill import"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    JUDGED = "judged", "Checked: waiting for the commit"
    COMMITTED = "committed", "Imported"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.JUDGED)


class JobPhase(models.TextChoices):
    CHECK = "check", "Dry run"
    COMMIT = "commit", "Commit"


class Job(models.Model):
    """One import run in the background: first every row is judged (a dry run; the
    report is kept), then, on the admin's click, the file is committed — all or nothing,
    as an import in the request is. Its live progress (rows done, rate) is in the cache;
    what it did is here. A file (by its SHA-256) has at most one active job."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    phase = models.CharField(max_length=10, choices=JobPhase.choices, default=JobPhase.CHECK)
    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200)
    file_path = models.CharField(max_length=500)
    file_sha256 = models.CharField(max_length=64)
    rows_total = models.PositiveIntegerField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=JobStatus.values), name="job_status_valid"),
            # A second import of the same file while one runs (or waits for its commit) is refused.
            models.UniqueConstraint(fields=["file_sha256"], condition=Q(status__in=ACTIVE_STATUSES),
                                    name="job_one_active_per_file"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="job_status_created")]

    def __str__(self):
        return f"{self.get_kind_display()} of {self.file_name} ({self.get_status_display()})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES
