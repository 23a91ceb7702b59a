"""tracetrack.db.transactions.execute_last: the last statement travels with the COMMIT on
PostgreSQL (outermost transaction only), and fails as it would have alone."""

import uuid

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tracetrack.db.transactions import execute_last
from tracetrack.models import IdempotencyRecord

TABLE = IdempotencyRecord._meta.db_table


def insert_sql():
    return (f"INSERT INTO {TABLE} (scan_id, action, fingerprint, created_at) VALUES (%s, %s, %s, %s)",
            lambda scan_id: prepared([scan_id, "test", "f" * 64, timezone.now()]))


def prepared(values):
    """The values as each column's field gives them to the database (a UUID is text on SQLite)."""
    meta = IdempotencyRecord._meta
    fields = [meta.get_field(name) for name in ("scan_id", "action", "fingerprint", "created_at")]
    return [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]


def seen_elsewhere(scan_id) -> bool:
    """Is the row committed? Asked over a connection of its own."""
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
                         dbname=settings["NAME"], autocommit=True) as other:
        return other.execute(f"SELECT 1 FROM {TABLE} WHERE scan_id = %s", [scan_id]).fetchone() is not None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outermost_transaction_commits_with_the_statement():
    statement, params = insert_sql()
    first, second = uuid.uuid4(), uuid.uuid4()
    committed = []
    with transaction.atomic():
        transaction.on_commit(lambda: committed.append(True))
        IdempotencyRecord.objects.create(scan_id=first, action="test", fingerprint="f" * 64)
        execute_last(statement, params(second))
        # Committed already, both rows, before the atomic block has ended.
        assert connection.connection.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert seen_elsewhere(first) and seen_elsewhere(second)
    assert committed == [True]  # Django's commit ran its hooks, once
    assert IdempotencyRecord.objects.filter(scan_id__in=[first, second]).count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failing_last_statement_rolls_everything_back():
    statement, params = insert_sql()
    taken, mine = uuid.uuid4(), uuid.uuid4()
    IdempotencyRecord.objects.create(scan_id=taken, action="test", fingerprint="f" * 64)
    committed = []
    with pytest.raises(IntegrityError), transaction.atomic():
        transaction.on_commit(lambda: committed.append(True))
        IdempotencyRecord.objects.create(scan_id=mine, action="test", fingerprint="f" * 64)
        execute_last(statement, params(taken))
    assert not committed and not seen_elsewhere(mine)
    assert not IdempotencyRecord.objects.filter(scan_id=mine).exists()
    # The connection is usable again, in autocommit as Django left it.
    assert connection.get_autocommit() and IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_inside_a_callers_transaction_nothing_is_committed_early():
    """In a savepoint of a transaction the caller holds, the statement runs alone: the
    caller's rollback takes it back."""
    statement, params = insert_sql()
    scan_id = uuid.uuid4()
    with transaction.atomic():
        with transaction.atomic():
            execute_last(statement, params(scan_id))
        if connection.vendor == "postgresql":
            assert not seen_elsewhere(scan_id)
        transaction.set_rollback(True)
    assert not IdempotencyRecord.objects.filter(scan_id=scan_id).exists()


@pytest.mark.django_db(transaction=True)
def test_the_block_ends_committed_on_either_database():
    statement, params = insert_sql()
    scan_id = uuid.uuid4()
    with transaction.atomic():
        execute_last(statement, params(scan_id))
    assert IdempotencyRecord.objects.filter(scan_id=scan_id).exists()
