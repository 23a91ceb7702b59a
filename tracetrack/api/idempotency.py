"""Replaying the first answer to a request with a `scan_id`, byte for byte.

The service records the outcome of a `scan_id` (see scans.idempotency); this layer keeps
the exact body and status it sent, in the same transaction, so that a retry — even one
that raced the first request — gets the very same answer.
"""

import json
from collections.abc import Callable

from django.db import transaction
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from scans.idempotency import parse_scan_id
from scans.models import IdempotencyRecord
from tracetrack.errors import IdempotencyMismatch, ServiceError

Produce = Callable[[], tuple[int, dict]]


def _run(produce: Produce) -> tuple[int, dict]:
    try:
        return produce()
    except ServiceError as exc:
        if isinstance(exc, IdempotencyMismatch):
            raise
        return exc.status, exc.as_dict()


def idempotent_response(raw_scan_id, produce: Produce) -> Response:
    """Call `produce()` (a service call and its rendering: `(status, body)`); refusals
    become their error body. With a `scan_id`, the first answer is stored and replayed."""
    scan_id = parse_scan_id(raw_scan_id)
    if scan_id is None:
        status, body = _run(produce)
        return Response(body, status=status)
    with transaction.atomic():
        status, body = _run(produce)
        content = json.dumps(body, cls=JSONEncoder)
        # The first answer is stored (one statement); a replay finds one stored already.
        stored = IdempotencyRecord.objects.filter(pk=scan_id, response__isnull=True).update(
            response={"status": status, "content": content}
        )
        if stored:
            return Response(json.loads(content), status=status)
        record = IdempotencyRecord.objects.filter(pk=scan_id).first()
        if record is None or record.response is None:  # refused before anything was recorded (a 400)
            return Response(body, status=status)
        return Response(json.loads(record.response["content"]), status=record.response["status"])
