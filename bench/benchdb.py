"""Small helpers shared by the bench scripts (run as `python bench/<script>.py`, so this
module is importable as `benchdb`)."""


def one(sql: str, params=()):
    """The first row of a raw query on Django's default connection."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()
