"""Models of the kernel: the record of idempotent requests (API.md, Scans: `scan_id`)."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The first answer to a request that carried a client `scan_id` (scan submissions and
    bill-parent adds): what was asked (`action`, `fingerprint` of the user and the
    normalised fields) and exactly what was answered (`response`: status and the rendered
    JSON body). A retry with the same `scan_id` gets that answer again and changes nothing;
    the same `scan_id` for anything else is refused (422). Written by
    `tracetrack.api.idempotency` in the transaction of the change it answers."""

    scan_id = models.UUIDField(primary_key=True)
    action = models.CharField(max_length=30)
    fingerprint = models.CharField(max_length=64)
    # Part of the fingerprint's history only: no database constraint and nothing to update
    # when a user is deleted (this table grows with every scan a phone sends).
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+",
        db_index=False, db_constraint=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    # {"status": 201, "content": "<the JSON body as sent>"}
    response = models.JSONField(null=True, blank=True)

    class Meta:
        # The table keeps the name it had when the scans app owned it.
        db_table = "scans_idempotencyrecord"
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self):
        return f"{self.action} {self.scan_id}"
