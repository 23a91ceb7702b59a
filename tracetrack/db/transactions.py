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

from functools import wraps

from django.db import connection, transaction

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
