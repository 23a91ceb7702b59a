"""Batches of scans (`POST /api/v1/scans/batch/`, API.md): a phone replaying its offline
queue sends up to 30 parent, child and undo scans at once.

Each item is judged exactly as its single call would be at that point of the sequence —
same input checks, same services, same idempotency (an item and a single call with the
same `scan_id` and the same fields are the same request), same status and body — and one
item's refusal changes nothing of the others. What makes a batch cheaper than 30 calls:

* one transaction for the whole batch, and one statement looks up every item's `scan_id`;
* consecutive child items for the same parent go to the services together
  (`scan_children`: the parent and the children locked and read once, each table written
  with one statement), judged in order, each with its own result;
* every answer is stored with one statement (INSERT … ON CONFLICT DO NOTHING). A twin
  request that stored one of them first rolls the whole batch back, and it runs again:
  that item then replays the twin's answer.
"""

import uuid
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions

from scans import services
from scans.serializers import (
    ITEM_INPUTS,
    BatchItemInput,
    child_scan_body,
    parent_scan_body,
    request_fields,
    undo_body,
)
from stats.services import batched_counters
from tracetrack import metrics
from tracetrack.api.errors import error_body, service_error_body
from tracetrack.api.idempotency import (
    Answer,
    Use,
    answer,
    earlier_uses,
    fingerprint,
    record_of,
    replay,
    store,
)
from tracetrack.errors import IdempotencyMismatch, ServiceError
from tracetrack.models import IdempotencyRecord

ACTIONS = {"parent": "scan.parent", "child": "scan.child", "undo": "scan.undo"}
ATTEMPTS = 3  # a batch rolled back by twins runs again; the twins' answers are then replayed


@dataclass
class Item:
    kind: str
    data: dict | None = None  # the validated fields; None when the item is malformed
    invalid: Answer | None = None  # its 400
    asked: str = ""  # the fingerprint, for items with a scan_id

    @property
    def scan_id(self) -> uuid.UUID | None:
        return self.data.get("scan_id") if self.data else None


def parse(raw, user) -> Item:
    """One item, checked by its kind's own input (the single endpoint's): a 400 answer in
    its place when malformed."""
    kind = raw.get("kind") if isinstance(raw, dict) else None
    if not isinstance(raw, dict) or kind not in ITEM_INPUTS:
        check = BatchItemInput(data=raw if isinstance(raw, dict) else {})
        errors = {"non_field_errors": [_("An item must be an object.")]} if not isinstance(raw, dict) else None
        check.is_valid()
        return Item(kind="?", invalid=_invalid(errors or check.errors))
    serializer = ITEM_INPUTS[kind](data={key: value for key, value in raw.items() if key != "kind"})
    if not serializer.is_valid():
        return Item(kind=kind, invalid=_invalid(serializer.errors))
    item = Item(kind=kind, data=serializer.validated_data)
    if item.scan_id is not None:
        item.asked = fingerprint(ACTIONS[kind], user, request_fields(item.data))
    return item


def _invalid(errors) -> Answer:
    body, status = error_body(exceptions.ValidationError(errors))
    return Answer(status, answer(lambda: (status, body)).content)


def run(user, raw_items: list) -> list[Answer]:
    """The answers to the items, in order (the envelope has been checked)."""
    items = [parse(raw, user) for raw in raw_items]
    for attempt in range(ATTEMPTS):
        try:
            # The counters of every item are written once, at the end, in one sorted
            # statement: applied item by item, two batches could take the same counter rows
            # in opposite orders and deadlock.
            with transaction.atomic(), batched_counters():
                answers, outcomes = _apply(user, items)
        except IntegrityError:
            # A twin stored an answer (or wrote a scan) with one of our scan_ids first:
            # everything is rolled back, and the next run replays the twin's answer.
            if attempt == ATTEMPTS - 1:
                raise
            continue
        for item, outcome in zip(items, outcomes, strict=True):
            _count(item.kind, outcome)
        return answers
    raise AssertionError("unreachable")


def _apply(user, items: list[Item]) -> tuple[list[Answer], list[str]]:
    answers: list[Answer | None] = [item.invalid for item in items]
    outcomes = ["invalid" if item.invalid else "" for item in items]
    earlier = earlier_uses([item.scan_id for item in items if item.scan_id is not None])
    used: dict[uuid.UUID, IdempotencyRecord] = {}  # this batch's own uses, as their records will be
    uses: list[Use] = []
    index = 0
    while index < len(items):
        item = items[index]
        if item.invalid is not None:
            index += 1
            continue
        scan_id = item.scan_id
        if scan_id is not None and (scan_id in used or scan_id in earlier):
            answers[index], outcomes[index] = _replayed(item, used.get(scan_id) or earlier[scan_id])
            index += 1
            continue
        if item.kind == "child":
            group = _run_of_children(items, index, used, earlier)
            results = _children(user, [items[i] for i in group])
            positions = group
        else:
            results = [_one(user, item)]
            positions = [index]
        for position, (outcome, result) in zip(positions, results, strict=True):
            answers[position], outcomes[position] = result, outcome
            done = items[position]
            if done.scan_id is not None:
                use = Use(done.scan_id, ACTIONS[done.kind], done.asked, user, result)
                used[done.scan_id] = record_of(use)
                uses.append(use)
        index = positions[-1] + 1
    store(uses)  # a twin's record there first: IntegrityError, all rolled back (run)
    return answers, outcomes


def _replayed(item: Item, earlier: IdempotencyRecord) -> tuple[Answer, str]:
    again = replay(earlier, ACTIONS[item.kind], item.asked)
    return again, ("replayed" if again.replayed else IdempotencyMismatch.default_code)


def _run_of_children(items: list[Item], start: int, used, earlier) -> list[int]:
    """The positions of the child items from `start` on that go to the services together:
    valid, for the same parent, and with scan_ids new to the batch and to the database."""
    parent = items[start].data["parent"]
    group, ids = [start], {items[start].scan_id}
    for position in range(start + 1, len(items)):
        item = items[position]
        if item.kind != "child" or item.invalid is not None or item.data["parent"] != parent:
            break
        scan_id = item.scan_id
        if scan_id is not None and (scan_id in ids or scan_id in used or scan_id in earlier):
            break
        group.append(position)
        ids.add(scan_id)
    return group


def _children(user, items: list[Item]) -> list[tuple[str, Answer]]:
    try:
        results = services.scan_children(
            user=user, parent_qr=items[0].data["parent"], qr_ids=[item.data["qr_id"] for item in items],
            scan_ids=[item.scan_id for item in items],
        )
    except ServiceError as exc:  # no such parent: a 404 for each
        refused = _refusal(exc)
        return [refused] * len(items)
    return [_refusal(result) if isinstance(result, ServiceError) else _done(*child_scan_body(result))
            for result in results]


def _one(user, item: Item) -> tuple[str, Answer]:
    data = item.data
    try:
        if item.kind == "parent":
            result = services.scan_parent(user=user, qr_id=data["qr_id"], scan_id=data.get("scan_id"),
                                          dispatch_area=data["dispatch_area"])
            return _done(*parent_scan_body(result))
        return _done(*undo_body(services.undo_last_scan(user=user, parent_qr=data["parent"])), outcome="undone")
    except ServiceError as exc:
        return _refusal(exc)


def _done(status: int, body: dict, *, outcome: str | None = None) -> tuple[str, Answer]:
    return outcome or metrics.scan_outcome(status, body), answer(lambda: (status, body))


def _refusal(exc: ServiceError) -> tuple[str, Answer]:
    return exc.code, Answer(exc.status, answer(lambda: (exc.status, service_error_body(exc))).content)


def _count(kind: str, outcome: str) -> None:
    if kind == "undo":
        metrics.UNDOS.labels(outcome).inc()
    elif kind in ("parent", "child"):
        metrics.SCANS.labels(kind, outcome).inc()
    else:
        metrics.SCANS.labels("batch_item", outcome).inc()


def render(answers: list[Answer]) -> bytes:
    """The batch's body, `{"results": [{"status", "body"}, ...]}`, from the answers' bytes
    (a stored answer is not parsed and rendered again)."""
    parts = b",".join(b'{"status":%d,"body":%s}' % (item.status, item.content) for item in answers)
    return b'{"results":[' + parts + b"]}"
