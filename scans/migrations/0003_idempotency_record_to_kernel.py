"""IdempotencyRecord now belongs to the kernel (tracetrack 0001); the table stays."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("scans", "0002_idempotency_user_no_constraint"),
        ("tracetrack", "0001_idempotency_record"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="IdempotencyRecord")],
            database_operations=[],
        ),
    ]
