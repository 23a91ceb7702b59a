"""Migration helpers."""

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db import migrations


def postgres_only(sql: str, reverse_sql: str) -> migrations.RunPython:
    """A schema change that only PostgreSQL supports (operator classes, partial indexes
    tuned for it): applied there, skipped on SQLite, where the plain indexes serve."""

    def forward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    def backward(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(reverse_sql)

    return migrations.RunPython(forward, backward, elidable=False)


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """An index on a big, busy table (the scan log): built CONCURRENTLY on PostgreSQL, so
    scans go on while it builds (the migration must say `atomic = False`); a plain
    CREATE INDEX elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return migrations.AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
