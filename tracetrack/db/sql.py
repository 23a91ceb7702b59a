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
from functools import lru_cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Field, Model

M = TypeVar("M", bound=Model)


_QUOTED: dict[str, str] = {}


def q(name: str) -> str:
    """`name` quoted as an identifier (both databases quote alike: "name"), remembered."""
    quoted = _QUOTED.get(name)
    if quoted is None:
        quoted = _QUOTED[name] = connection.ops.quote_name(name)
    return quoted


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


def _db():
    """This thread's default connection itself: `django.db.connection` is a proxy that
    finds it again on every attribute read, and a scan's statements read it dozens of
    times (preparing each value)."""
    return connections[DEFAULT_DB_ALIAS]


# Fields whose preparation leaves a plain value of this type as it is (get_db_prep_save
# returns it unchanged on both databases): such values skip the field's three calls.
_PLAIN = {**dict.fromkeys(("CharField", "TextField", "SlugField", "EmailField"), str),
          **dict.fromkeys(("IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
                           "PositiveBigIntegerField", "PositiveSmallIntegerField", "AutoField", "BigAutoField",
                           "SmallAutoField"), int),
          "BooleanField": bool}


@lru_cache(maxsize=1024)
def _plain(field: Field) -> type | None:
    """The type of value `field` stores untouched (a foreign key: its target's), or None."""
    target = getattr(field, "target_field", None) if field.is_relation else field
    if target is None or getattr(target, "is_relation", False):
        return None
    plain = _PLAIN.get(target.get_internal_type())
    # Only the fields' own classes: a subclass may prepare values its own way.
    return plain if type(target).__module__ == "django.db.models.fields" else None


def prepare(fields: Sequence[Field], values: Iterable[Any], db) -> list[Any]:
    """`values` prepared for their `fields` as the ORM would save them (get_db_prep_save)."""
    prepared = []
    for field, value in zip(fields, values, strict=True):
        plain = _plain(field)
        if value is None or (plain is not None and (type(value) is plain or (plain is str and isinstance(value, str)))):
            prepared.append(value)
        else:
            prepared.append(field.get_db_prep_save(value, db))
    return prepared


def show(obj: M, **related: Model | None) -> M:
    """Put the loaded `related` objects (relation name → instance, or None) on `obj`: a
    foreign key whose `<name>_id` column already holds the key, or the reverse side of a
    one-to-one (a child's `parent_link`). What its representation reads, without the checks
    an assignment makes (the router, the instance's type), which a scan would pay for each
    one. Returns `obj`."""
    fields = obj._meta
    for name, value in related.items():
        fields.get_field(name).set_cached_value(obj, value)
    return obj


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A model instance from the values of `columns(model, …)`, as the ORM would load it."""
    return model.from_db(connection.alias, None, [aware(value) for value in values])


class Together:
    """Writes that neither read nor touch each other's rows, sent as one statement on
    PostgreSQL (every write a data-modifying WITH part), one by one elsewhere: each
    statement is a round trip, and a scan makes several. `add` the statements, at most one
    of them with RETURNING (`returns`); `run` sends them and gives back its rows.

    Lock order: PostgreSQL runs the parts in an order fixed by the statement's shape (the one
    read by the final SELECT first), so writes added in the same relative order by every
    service take their row locks in the same order (stats.services)."""

    def __init__(self):
        self.parts: list[tuple[str, list, bool]] = []

    def add(self, sql: str, params: Sequence[Any], *, returns: bool = False) -> None:
        self.parts.append((sql, list(params), returns))

    def run(self) -> list[tuple]:
        parts, self.parts = self.parts, []
        rows: list[tuple] = []
        db = _db()
        with db.cursor() as cursor:
            if db.vendor == "postgresql" and len(parts) > 1:
                withs = ", ".join(f"w{index} AS ({sql})" for index, (sql, _, _) in enumerate(parts))
                read = next((f"SELECT * FROM w{index}" for index, (_, _, returns) in enumerate(parts) if returns),
                            "SELECT 1 WHERE FALSE")
                cursor.execute(f"WITH {withs} {read}", [value for _, params, _ in parts for value in params])
                return cursor.fetchall()
            for sql, params, returns in parts:
                cursor.execute(sql, params)
                if returns:
                    rows = cursor.fetchall()
        return rows


def _send(sql: str, params: list, into: "Together | None", fetch_rows: bool) -> list[tuple]:
    if into is not None:
        into.add(sql, params, returns=fetch_rows)
        return []
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if fetch_rows else []


def insert(model: type[Model], rows: Sequence[dict[str, Any]], *, returning: Sequence[str] = (),
           ignore_conflicts_on: str | None = None, into: Together | None = None) -> list[tuple]:
    """INSERT `rows` (dicts of attname → value, all with the same keys) in one statement;
    the `returning` columns of the rows inserted. With `ignore_conflicts_on` (a unique
    column), a row that meets an existing one is skipped (ON CONFLICT DO NOTHING) and
    returns nothing. With `into`, the statement joins those sent together (and returns
    nothing now)."""
    if not rows:
        return []
    names = tuple(rows[0])
    statement, fields = _insert_sql(model, names, len(rows), ignore_conflicts_on, tuple(returning))
    db = _db()
    params = [value for row in rows for value in prepare(fields, row.values(), db)]
    return _send(statement, params, into, bool(returning))


@lru_cache(maxsize=512)
def _insert_sql(model: type[Model], names: tuple[str, ...], count: int, ignore_conflicts_on: str | None,
                returning: tuple[str, ...]) -> tuple[str, list]:
    """The INSERT of `count` rows of `names` (built once per shape), and the fields."""
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    row_sql = "(" + ", ".join(["%s"] * len(fields)) + ")"
    statement = (f"INSERT INTO {table(model)} ({', '.join(q(field.column) for field in fields)}) "
                 f"VALUES {', '.join([row_sql] * count)}")
    if ignore_conflicts_on:
        statement += f" ON CONFLICT ({q(meta.get_field(ignore_conflicts_on).column)}) DO NOTHING"
    if returning:
        statement += " RETURNING " + ", ".join(q(meta.get_field(name).column) for name in returning)
    return statement, fields


def update(model: type[Model], pks: Iterable[Any], *, into: Together | None = None, **values: Any) -> None:
    """UPDATE the rows `pks` of `model` with `values` (attname → value), in one statement."""
    pks = list(pks)
    if not pks:
        return
    statement, fields, pk = _update_sql(model, tuple(values), len(pks))
    db = _db()
    _send(statement, [*prepare(fields, values.values(), db), *prepare([pk] * len(pks), pks, db)], into, False)


@lru_cache(maxsize=512)
def _update_sql(model: type[Model], names: tuple[str, ...], count: int) -> tuple[str, list, Any]:
    """The UPDATE of `names` on `count` rows by primary key (built once per shape), the
    fields and the primary key."""
    meta = model._meta
    fields = [meta.get_field(name) for name in names]
    assignments = ", ".join(f"{q(field.column)} = %s" for field in fields)
    pk = q(meta.pk.column)
    where = f"{pk} = %s" if count == 1 else f"{pk} IN ({', '.join(['%s'] * count)})"
    return f"UPDATE {table(model)} SET {assignments} WHERE {where}", fields, meta.pk


def fetch(sql: str, params: Sequence[Any]) -> list[tuple]:
    with _db().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
