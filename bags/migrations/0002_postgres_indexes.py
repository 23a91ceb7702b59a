from django.db import migrations

from tracetrack.migration_ops import postgres_only


class Migration(migrations.Migration):
    dependencies = [("bags", "0001_initial")]
    operations = [
        # Unlinked (pending) children are few among a million bags: a partial index keeps
        # their list cheap. (qr_id prefix search already has Django's varchar_pattern_ops
        # "_like" index beside the unique one.)
        postgres_only(
            "CREATE INDEX IF NOT EXISTS bag_pending_children ON bags_bag (created_at DESC) "
            "WHERE kind = 'child' AND status = 'pending'",
            "DROP INDEX IF EXISTS bag_pending_children",
        ),
    ]
