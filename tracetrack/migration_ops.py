"""Migration helpers."""

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
