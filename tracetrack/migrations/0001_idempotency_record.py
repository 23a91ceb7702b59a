"""The record of idempotent requests moves from the scans app to the kernel, which now owns
the one idempotency mechanism (the API boundary). Only Django's state moves: the table
keeps its name and its rows."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("scans", "0002_idempotency_user_no_constraint"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="IdempotencyRecord",
                    fields=[
                        ("scan_id", models.UUIDField(primary_key=True, serialize=False)),
                        ("action", models.CharField(max_length=30)),
                        ("fingerprint", models.CharField(max_length=64)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("outcome", models.JSONField(blank=True, null=True)),
                        ("response", models.JSONField(blank=True, null=True)),
                        ("user", models.ForeignKey(
                            blank=True, db_constraint=False, db_index=False, null=True,
                            on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                            to=settings.AUTH_USER_MODEL,
                        )),
                    ],
                    options={
                        "db_table": "scans_idempotencyrecord",
                        "indexes": [models.Index(fields=["created_at"], name="idempotency_created")],
                    },
                ),
            ],
            database_operations=[],
        ),
        # The service-level outcome (references to rows, rebuilt on replay) is gone: the
        # stored response is the one record of an answer.
        migrations.RemoveField(model_name="idempotencyrecord", name="outcome"),
    ]
