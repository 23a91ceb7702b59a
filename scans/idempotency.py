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

from django.db import IntegrityError, transaction

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
    commits, then replays what this one recorded. `operation` runs in a savepoint: when it
    raises a `ServiceError`, its writes are undone but the refusal is recorded and committed
    (when this is the outermost transaction) before the error is raised again.
    """
    if scan_id is None:
        return operation()
    fingerprint = _fingerprint(action, user, params)
    refusal: ServiceError | None = None
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    scan_id=scan_id, action=action, fingerprint=fingerprint, user=user
                )
        except IntegrityError:
            return _replay(IdempotencyRecord.objects.get(pk=scan_id), action, fingerprint, replay)
        try:
            with transaction.atomic():
                result = operation()
        except ServiceError as exc:
            refusal = exc
            record.outcome = {"ok": False, "status": exc.status, "body": exc.as_dict()}
        else:
            record.outcome = {"ok": True, "result": encode(result)}
        record.save(update_fields=["outcome"])
    if refusal is not None:
        raise refusal
    return result


def _replay(record: IdempotencyRecord, action: str, fingerprint: str, replay: Callable[[dict[str, Any]], T]) -> T:
    if record.action != action or record.fingerprint != fingerprint:
        raise IdempotencyMismatch()
    outcome = record.outcome or {}
    if outcome.get("ok"):
        return replay(outcome["result"])
    raise ServiceError.from_dict(outcome["status"], outcome["body"])
