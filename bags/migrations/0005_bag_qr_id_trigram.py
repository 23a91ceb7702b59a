from django.db import migrations

from tracetrack.migration_ops import postgres_only


class Migration(migrations.Migration):
    """The admin's bag search finds a code by any part of it (LIKE '%0042%'): on PostgreSQL a
    trigram index answers that at a million bags. Raw SQL, not a GinIndex in the model's
    Meta: SQLite has no GIN (and rebuilds a table with every index of its model state), and
    its LIKE over development-sized data needs none. (Not Django's TrigramExtension
    either: its reverse queries pg_extension on SQLite too.)"""

    # Built CONCURRENTLY: scans go on writing bags while it builds.
    atomic = False

    dependencies = [("bags", "0004_bag_frozen")]
    operations = [
        postgres_only("CREATE EXTENSION IF NOT EXISTS pg_trgm", "DROP EXTENSION IF EXISTS pg_trgm"),
        postgres_only(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS bag_qr_id_trgm ON bags_bag USING gin (qr_id gin_trgm_ops)",
            "DROP INDEX CONCURRENTLY IF EXISTS bag_qr_id_trgm",
        ),
    ]
