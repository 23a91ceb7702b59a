"""Idempotent retries by client `scan_id` (API.md, Scans).

A phone that lost its answer sends the same request again with the same `scan_id`. The
first outcome — success or refusal — is recorded in the same transaction as the change, so
the retry gets that outcome and changes nothing. A `scan_id` reused for a different request
is refused with 422 `idempotency_mismatch`.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from scans.models import IdempotencyRecord
from tracetrack.errors import IdempotencyMismatch, ServiceError, invalid

T = TypeVar("T")


def parse_scan_id(value: Any) -> uuid.UUID | None:
    """`None`/empty for no id; anything but a UUID is a 400 on `scan_id`."""
    if value is None or value == "":
        return None
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError, TypeError):
        raise invalid("scan_id", "scan_id must be a UUID.") from None


def _fingerprint(action: str, user: User, params: dict[str, Any]) -> str:
    canonical = json.dumps({"action": action, "user": user.pk, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def run_idempotent(
    *,
    scan_id: uuid.UUID | None,
    action: str,
    user: User,
    params: dict[str, Any],
    operation: Callable[[], T],
    encode: Callable[[T], dict[str, Any]],
    replay: Callable[[dict[str, Any]], T],
) -> T:
    """Run `operation` once per `scan_id`.

    Input must already be validated: a 400 is never recorded. The record row is inserted
    first, so a concurrent request with the same id waits on its unique key until this one
    commits, then replays what this one recorded. `operation` must be atomic itself (a
    service function under `@transaction.atomic`, hence a savepoint here): when it raises a
    `ServiceError`, its writes are undone but the refusal is recorded and committed (when
    this is the outermost transaction) before the error is raised again.
    """
    if scan_id is None:
        return operation()
    fingerprint = _fingerprint(action, user, params)
    refusal: ServiceError | None = None
    earlier: IdempotencyRecord | None = None
    # No savepoint of its own: an unexpected error takes the caller's transaction with it.
    # Refusals are raised only after the block, so that they leave that transaction usable.
    with transaction.atomic(savepoint=False):
        if not _claim(scan_id, action, fingerprint, user):
            earlier = IdempotencyRecord.objects.get(pk=scan_id)
        else:
            try:
                result = operation()
            except ServiceError as exc:
                refusal = exc
                outcome = {"ok": False, "status": exc.status, "body": exc.as_dict()}
            else:
                outcome = {"ok": True, "result": encode(result)}
            IdempotencyRecord.objects.filter(pk=scan_id).update(outcome=outcome)
    if earlier is not None:
        return _replay(earlier, action, fingerprint, replay)
    if refusal is not None:
        raise refusal
    return result


def _claim(scan_id: uuid.UUID, action: str, fingerprint: str, user: User) -> bool:
    """Insert the record of `scan_id`; False when it exists already. A concurrent request
    that inserted it first is waited for (its transaction commits or rolls back) by the
    unique key. One statement, no savepoint: `INSERT … ON CONFLICT DO NOTHING RETURNING`
    (PostgreSQL, and SQLite ≥ 3.35)."""
    meta = IdempotencyRecord._meta
    names = ("scan_id", "action", "fingerprint", "user", "created_at")
    values = (scan_id, action, fingerprint, user.pk, timezone.now())
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    params = [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({connection.ops.quote_name(meta.pk.column)}) DO NOTHING "
        f"RETURNING {connection.ops.quote_name(meta.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def _replay(record: IdempotencyRecord, action: str, fingerprint: str, replay: Callable[[dict[str, Any]], T]) -> T:
    if record.action != action or record.fingerprint != fingerprint:
        raise IdempotencyMismatch()
    outcome = record.outcome or {}
    if outcome.get("ok"):
        return replay(outcome["result"])
    raise ServiceError.from_dict(outcome["status"], outcome["body"])
