"""`GET /scans/?bag=` and `?parent=` match the codes kept on the scan rows (a deleted bag's
scans are still found): indexes on them, newest first, built without stopping the scans on
PostgreSQL."""

from django.db import migrations, models

from tracetrack.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):

    atomic = False

    dependencies = [
        ("scans", "0003_idempotency_record_to_kernel"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="scan",
            index=models.Index(fields=["qr_id", "-timestamp"], name="scan_code_time"),
        ),
        AddIndexConcurrently(
            model_name="scan",
            index=models.Index(condition=models.Q(("parent_qr", ""), _negated=True), fields=["parent_qr", "-timestamp"],
                               name="scan_parent_code_time"),
        ),
    ]
