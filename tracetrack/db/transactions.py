"""The transaction of a service call.

`service_atomic` gives a service its own transaction when it is called outside one, and runs
it inside the caller's otherwise — without the savepoint that `transaction.atomic` would
take there: SAVEPOINT and RELEASE are two round trips to the database on every scan that
comes with a `scan_id` (the idempotency layer holds the outer transaction).

What that asks of a service, and what keeps the caller's transaction whole:

* a refusal (a `ServiceError`) is raised before the service writes anything, so a caller
  may answer it and go on in the same transaction (a batch of scans judges its next item;
  the idempotency layer stores the refusal as the answer);
* any other failure marks the caller's transaction for rollback before it propagates: a
  caller that went on anyway would get an error from Django, never commit half a service.
"""

from collections.abc import Sequence
from functools import wraps
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction

from tracetrack.errors import ServiceError


def service_atomic(func):
    @wraps(func)
    def inner(*args, **kwargs):
        if not connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except ServiceError:
            raise
        except BaseException:
            transaction.set_rollback(True)
            raise

    return inner


def execute_last(sql: str, params: Sequence[Any]) -> None:
    """Run the last statement of the outermost transaction, whose result nothing reads.

    On PostgreSQL it is sent with the transaction's COMMIT, as one query of two statements
    (issue 16: the idempotency record of every scan, a round trip less): committed, the
    transaction is over, and Django's own commit when the atomic block ends finds nothing
    left to do. A failure of the statement (a twin's record, a unique violation) skips the
    COMMIT and is raised as Django's error, so the atomic block rolls back as it would
    have. Inside a savepoint or a caller's transaction (a test's, a batch's), and on
    SQLite, the statement runs alone and the block commits as usual."""
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "postgresql" and len(db.atomic_blocks) == 1 and not db.savepoint_ids and not db.needs_rollback:
        with db.client_binding_cursor() as cursor:
            cursor.execute(f"{sql}; COMMIT", params)
        return
    with db.cursor() as cursor:
        cursor.execute(sql, params)
