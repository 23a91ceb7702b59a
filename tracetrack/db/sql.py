"""Hand-written statements for the hot paths, built from the models' own metadata.

The scan path runs a handful of statements per request; through the ORM, compiling each
query and instantiating its rows cost several times the statement itself (a parent's
`select_for_update().select_related(...)` took 1.1 ms of CPU, the same SELECT written out
0.16 ms). The statements here are portable (PostgreSQL, and SQLite ≥ 3.35 for RETURNING),
take table and column names from the models and prepare every value as the ORM would
(`get_db_prep_save`), and turn fetched rows back into model instances with the ORM's own
conversions for what differs between the databases (SQLite's datetimes).
"""

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def q(name: str) -> str:
    return connection.ops.quote_name(name)


def table(model: type[Model]) -> str:
    return q(model._meta.db_table)


def columns(model: type[Model], alias: str) -> str:
    """Every concrete column of `model`, in field order, as `alias.column` (see `instance`)."""
    return ", ".join(f"{alias}.{q(field.column)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(model._meta.concrete_fields)


def for_update(alias: str) -> str:
    """The row-lock clause for the rows of `alias` (PostgreSQL); nothing on SQLite, where a
    write transaction (BEGIN IMMEDIATE) already excludes every other writer."""
    return f" FOR UPDATE OF {alias}" if connection.features.has_select_for_update_of else ""


def aware(value: Any) -> Any:
    # SQLite hands back naive UTC datetimes (USE_TZ): the ORM's converter makes them aware.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from the values of `columns(model, …)`, as the ORM would load it."""
    return model.from_db(connection.alias, None, [aware(value) for value in values])


def insert(model: type[Model], rows: Sequence[dict[str, Any]], *, returning: Sequence[str] = (),
           ignore_conflicts_on: str | None = None) -> list[tuple]:
    """INSERT `rows` (dicts of attname → value, all with the same keys) in one statement;
    the `returning` columns of the rows inserted. With `ignore_conflicts_on` (a unique
    column), a row that meets an existing one is skipped (ON CONFLICT DO NOTHING) and
    returns nothing."""
    if not rows:
        return []
    meta = model._meta
    fields = [meta.get_field(name) for name in rows[0]]
    names = ", ".join(q(field.column) for field in fields)
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {table(model)} ({names}) VALUES {', '.join([row_sql] * len(rows))}"
    if ignore_conflicts_on:
        sql += f" ON CONFLICT ({q(meta.get_field(ignore_conflicts_on).column)}) DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(q(meta.get_field(name).column) for name in returning)
    params = [field.get_db_prep_save(value, connection) for row in rows
              for field, value in zip(fields, row.values(), strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if returning else []


def update(model: type[Model], pks: Iterable[Any], **values: Any) -> None:
    """UPDATE the rows `pks` of `model` with `values` (attname → value), in one statement."""
    pks = list(pks)
    if not pks:
        return
    meta = model._meta
    fields = [meta.get_field(name) for name in values]
    assignments = ", ".join(f"{q(field.column)} = %s" for field in fields)
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values.values(), strict=True)]
    where = f"{q(meta.pk.column)} = %s" if len(pks) == 1 else f"{q(meta.pk.column)} IN ({', '.join(['%s'] * len(pks))})"
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table(model)} SET {assignments} WHERE {where}",
                       [*params, *(meta.pk.get_db_prep_value(pk, connection) for pk in pks)])


def execute(sql: str, params: Sequence[Any]) -> int:
    """Run one statement; the number of rows it changed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
