"""Idempotent requests by client `scan_id` (API.md, Scans): the one mechanism, at the API
boundary.

A phone that lost an answer sends the same request again with the same `scan_id`. The
first answer — success or refusal, status and body byte for byte — is stored in the same
transaction as the change it answers (`IdempotencyRecord`), so the retry gets exactly that
answer and changes nothing. A `scan_id` belongs to the user and the request that first used
it: the same id with another body, another user, another endpoint, or the id of a scan that
was made without one (its `scan_id` is visible in `GET /scans/`), is 422
`idempotency_mismatch`.

The input is validated before any of this (a malformed request is a 400 and never replays
anything, and a 400 is never stored). Then, in one transaction:

1. one statement looks for an earlier use of the id: its record, or a row of a model that
   holds scan ids of its own (`held_by`: the scan log) — found, it is replayed or refused;
2. the service runs (in this transaction: tracetrack.db.transactions) and its answer is
   rendered;
3. one statement stores the answer, the transaction's last: on PostgreSQL it travels with
   the COMMIT (`execute_last`, a round trip less). A twin request that committed first in
   the meantime makes this insert fail on the primary key: this transaction is rolled back,
   whatever the service did, and the twin's answer is replayed. A twin that is still
   running makes the insert wait for its commit (the primary key), so two twins never both
   apply.

Scans skip step 1 when they can (`writes_holder`, issue 16: a statement less on every scan).
An accepted scan writes its scan-log row under the id, and that column is unique: the
insert itself fails on an id the log holds (an IntegrityError: rolled back, then replayed
or refused as in step 1), and step 3 fails on an id a record holds, in the same way. So the look-up is made
only for the answers that wrote no such row — refusals, duplicates, bad input — after the
service has run: an earlier use found then rolls this request back and is replayed or
refused, exactly as if it had been found first. A retry thus runs the service once more
(and undoes it) instead of reading the stored answer at once: retries are rare, new scans
are not.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.http import HttpResponse
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tracetrack import metrics
from tracetrack.api.errors import service_error_body
from tracetrack.db.transactions import execute_last
from tracetrack.errors import IdempotencyMismatch, InvalidInput, ServiceError
from tracetrack.models import IdempotencyRecord

# A request's work: `(status, body)`, or a ServiceError for a refusal.
Produce = Callable[[], tuple[int, dict]]


class Answer(NamedTuple):
    """An answer as sent: status and the rendered JSON body; `replayed` when it is an
    earlier request's answer given again."""

    status: int
    content: bytes
    replayed: bool = False


_JSON = JSONRenderer()
_HOLDERS: list[tuple[type[Model], str]] = []


class ScanIdField(serializers.UUIDField):
    """A client `scan_id` (API.md, Scans): a UUID written as a string. `null` or absent
    means none; anything else — the empty or a blank string, a number — is a 400."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("help_text", "a client UUID for idempotent retries")
        super().__init__(**kwargs)

    def to_internal_value(self, data) -> uuid.UUID:
        if not isinstance(data, str | uuid.UUID):
            self.fail("invalid", value=data)
        return super().to_internal_value(data.strip() if isinstance(data, str) and data.strip() else data)


def held_by(model: type[Model], field: str = "scan_id") -> None:
    """`model` keeps scan ids in its unique column `field` (the scan log does, for scans made
    without a client id too): such an id is taken, and reusing it is a mismatch. Apps
    register their models when they are ready, so the kernel imports none of them."""
    if (model, field) not in _HOLDERS:
        _HOLDERS.append((model, field))


def fingerprint(action: str, user, params: dict[str, Any]) -> str:
    """What a request asked, as one hash: the action, the user and the normalised fields."""
    canonical = json.dumps({"action": action, "user": user.pk, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def answer(produce: Produce) -> Answer:
    """Run `produce`; a refusal becomes its error body."""
    try:
        status, body = produce()
    except ServiceError as exc:
        status, body = exc.status, service_error_body(exc)
    return Answer(status, _JSON.render(body))


class _UsedBefore(Exception):
    """The id was used before: undo this request's work and answer from that use."""

    def __init__(self, earlier: IdempotencyRecord):
        super().__init__()
        self.earlier = earlier


def idempotent_answer(*, scan_id: uuid.UUID | None, action: str, user, params: dict[str, Any],
                      produce: Produce, writes_holder: Callable[[int], bool] | None = None) -> Answer:
    """The answer to a request with this `scan_id`: the first one's, or the one `produce()`
    makes now (and stores with its change). `params` are the request's fields, validated
    and normalised (codes trimmed and upper-cased), so that a retry spelled differently is
    still the same request. Without a `scan_id`, simply `produce()`'s answer.

    `writes_holder(status)`: True when an answer with this status was made by writing a row
    of a holder (`held_by`) under the `scan_id` — an accepted scan. Given, the earlier use is
    looked for only after the service, and only for the other answers (module docstring)."""
    if scan_id is None:
        return answer(produce)
    asked = fingerprint(action, user, params)
    try:
        with transaction.atomic():
            earlier = None if writes_holder is not None else earlier_uses([scan_id]).get(scan_id)
            if earlier is None:
                first = answer(produce)
                if writes_holder is not None and not writes_holder(first.status):
                    earlier = earlier_uses([scan_id]).get(scan_id)
                    if earlier is not None:
                        raise _UsedBefore(earlier)
                if first.status == InvalidInput.status:
                    return first  # bad input is never stored
                store([Use(scan_id, action, asked, user, first)], last=True)
                return first
    except _UsedBefore as used:
        earlier = used.earlier
    except IntegrityError:
        # The service's own insert of this scan_id, or the record's, met a twin's that
        # committed meanwhile, or an earlier scan's (`writes_holder`): all of this request is
        # rolled back, and it answers as that use did (or is refused, when it was another
        # request).
        earlier = earlier_uses([scan_id]).get(scan_id)
        if earlier is None:
            raise
    return replay(earlier, action, asked)


class Use(NamedTuple):
    """A request's use of a scan_id, with the answer to store for it."""

    scan_id: uuid.UUID
    action: str
    fingerprint: str
    user: Any
    answer: Answer


def idempotent_response(request, *, kind: str, scan_id: uuid.UUID | None, action: str, params: dict[str, Any],
                        produce: Produce, writes_holder: Callable[[int], bool] | None = None) -> HttpResponse:
    """`idempotent_answer` as the response of an API view: the stored bytes for JSON
    clients, rendered again for the browsable API. Counted in `tracetrack_scans_total`
    under `kind` and the outcome."""
    seen: dict[str, str] = {}

    def observed():
        try:
            status, body = produce()
        except ServiceError as exc:
            seen["outcome"] = exc.code
            raise
        seen["outcome"] = metrics.scan_outcome(status, body)
        return status, body

    status, content, replayed = idempotent_answer(scan_id=scan_id, action=action, user=request.user, params=params,
                                                  produce=observed, writes_holder=writes_holder)
    metrics.SCANS.labels(kind, "replayed" if replayed else seen.get("outcome", IdempotencyMismatch.default_code)).inc()
    renderer = getattr(request, "accepted_renderer", None)
    if renderer is not None and renderer.format != "json":
        return Response(json.loads(content), status=status)
    return HttpResponse(content, status=status, content_type=_JSON.media_type)


def earlier_uses(scan_ids: "list[uuid.UUID]") -> dict[uuid.UUID, IdempotencyRecord]:
    """The earlier uses of `scan_ids`, in one statement: each one's record, or a record-less
    stand-in (`action` empty) when only a holder's row has it. New ids are absent."""
    if not scan_ids:
        return {}
    statement, fields = _earlier_sql(len(scan_ids))
    params: list[Any] = [field.get_db_prep_value(scan_id, connection) for field in fields for scan_id in scan_ids]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        rows = cursor.fetchall()
    found: dict[uuid.UUID, IdempotencyRecord] = {}
    to_uuid = IdempotencyRecord._meta.pk.to_python
    for key, action, asked, response in sorted(rows, key=lambda row: row[1] != ""):  # records win
        if isinstance(response, str):  # the raw column of a JSON field
            response = json.loads(response)
        scan_id = to_uuid(key)
        found[scan_id] = IdempotencyRecord(scan_id=scan_id, action=action, fingerprint=asked, response=response)
    return found


@lru_cache(maxsize=64)
def _earlier_sql(count: int) -> tuple[str, list]:
    """`earlier_uses`' statement for `count` ids (built once per count), and the fields whose
    columns it reads, in the order of its parameters."""
    meta = IdempotencyRecord._meta
    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * count)
    selects = [
        f"SELECT {q(meta.pk.column)}, {q('action')}, {q('fingerprint')}, {q('response')} FROM {q(meta.db_table)} "
        f"WHERE {q(meta.pk.column)} IN ({marks})"
    ]
    fields = [meta.pk]
    for model, field_name in _HOLDERS:
        field = model._meta.get_field(field_name)
        selects.append(
            f"SELECT {q(field.column)}, '', '', NULL FROM {q(model._meta.db_table)} WHERE {q(field.column)} IN ({marks})"
        )
        fields.append(field)
    return " UNION ALL ".join(selects), fields


def record_of(use: Use) -> IdempotencyRecord:
    """The record `store` writes for `use` (not saved)."""
    return IdempotencyRecord(scan_id=use.scan_id, action=use.action, fingerprint=use.fingerprint,
                             response=_response(use.answer))


def _response(first: Answer) -> dict:
    return {"status": first.status, "content": first.content.decode()}


def store(uses: "list[Use]", *, last: bool = False) -> None:
    """Insert the records with their answers, in one statement. A twin's record there first
    for any of them (or arriving while this waits: the primary key makes this wait for the
    twin's commit) fails it with an IntegrityError: the caller's transaction rolls back.
    `last`: nothing follows in the transaction (`execute_last`: sent with its COMMIT)."""
    if not uses:
        return
    statement, fields = _store_sql(len(uses))
    now = timezone.now()
    params = []
    for use in uses:
        values = (use.scan_id, use.action, use.fingerprint, use.user.pk, now, _response(use.answer))
        params += [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]
    if last:
        execute_last(statement, params)
        return
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@lru_cache(maxsize=64)
def _store_sql(count: int) -> tuple[str, list]:
    """`store`'s statement for `count` records (built once per count), and its fields."""
    meta = IdempotencyRecord._meta
    q = connection.ops.quote_name
    names = ("scan_id", "action", "fingerprint", "user", "created_at", "response")
    fields = [meta.get_field(name) for name in names]
    columns = ", ".join(q(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {q(meta.db_table)} ({columns}) VALUES {', '.join([row] * count)}", fields


def replay(earlier: IdempotencyRecord, action: str, asked: str) -> Answer:
    """The earlier answer, for the same request (action, user and fields); else the 422."""
    if earlier.action != action or earlier.fingerprint != asked or not earlier.response:
        return answer(_mismatch)
    return Answer(earlier.response["status"], earlier.response["content"].encode(), replayed=True)


def _mismatch():
    raise IdempotencyMismatch()
