"""Keeping the counters exact: each service that changes a counted figure collects its
changes in a `Tally` and applies them once, before its transaction commits.

Lock order: a transaction touches counter rows last (after the bags and bills it changed),
bill figures before bag figures, each batch sorted, so two transactions never wait on each
other's counter rows in opposite orders."""

import random
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, time

from django.db import connection
from django.utils import timezone

from stats.models import SHARDS
from tracetrack.caching import data_changed

BAG_METRICS = ("parents", "children", "completed_parents", "unlinked_children")
BILL_METRICS = ("bills_new", "bills_in_progress", "bills_completed")
NO_AREA = 0
NO_USER = 0


def area_key(area_id: int | None) -> int:
    return area_id or NO_AREA


def user_key(user_id: int | None) -> int:
    return user_id or NO_USER


# While a long transaction runs many service calls (an import, the demo seed), their counter
# changes gather here and are written once at the end: updating the same counter row
# thousands of times inside one transaction makes PostgreSQL walk an ever longer chain of row
# versions.
_batch: ContextVar["Tally | None"] = ContextVar("tracetrack_counter_batch", default=None)


@contextmanager
def batched_counters():
    """Use inside the transaction of a long run of service calls."""
    if _batch.get() is not None:
        yield
        return
    batch = Tally()
    token = _batch.set(batch)
    try:
        yield
    finally:
        _batch.reset(token)
    batch.apply()


class Tally:
    """Counter changes of one service call: `add(area_id, metric, delta)`, then `apply()`."""

    def __init__(self):
        self.changes: dict[tuple[int, str], int] = defaultdict(int)
        self.scans: dict[tuple[int, datetime], int] = defaultdict(int)
        self.operators: dict[tuple[int, datetime], int] = defaultdict(int)

    def add(self, area_id: int | None, metric: str, delta: int = 1) -> "Tally":
        self.changes[(area_key(area_id), metric)] += delta
        return self

    def scan(self, scan) -> "Tally":
        """A scan row written: for "today" and "last hour" in its area, and for its
        operator's scans today."""
        self.scans[(area_key(scan.dispatch_area_id), scan.timestamp)] += 1
        self.operators[(user_key(scan.user_id), day_start(scan.timestamp))] += 1
        return self

    def status(self, area_id: int | None, before: str, after: str, *, metric_of) -> "Tally":
        """A status change: -1 on the old status's figure, +1 on the new one's (when counted)."""
        if before != after:
            for status, delta in ((before, -1), (after, 1)):
                metric = metric_of(status)
                if metric:
                    self.add(area_id, metric, delta)
        return self

    def apply(self) -> None:
        batch = _batch.get()
        if batch is not None and batch is not self:
            for key, delta in self.changes.items():
                batch.changes[key] += delta
            for key, n in self.scans.items():
                batch.scans[key] += n
            for key, n in self.operators.items():
                batch.operators[key] += n
            self._clear()
            return
        data_changed()
        shard = random.randrange(SHARDS)  # noqa: S311 - spreading writes, not security
        rows = sorted(
            ((0 if metric in BILL_METRICS else 1, area, metric, delta) for (area, metric), delta in self.changes.items()
             if delta),
        )
        if rows:
            _upsert(
                "stats_counter", ("area_key", "metric", "shard", "value"), "value",
                [(area, metric, shard, delta) for _, area, metric, delta in rows],
            )
        if self.scans:
            buckets: dict[tuple, int] = defaultdict(int)
            for (area, when), n in self.scans.items():
                buckets[("d", day_start(when), area, shard)] += n
                buckets[("h", hour_floor(when), area, shard)] += n
                buckets[("m", minute_floor(when), area, shard)] += n
            _upsert(
                "stats_scantally", ("period", "start", "area_key", "shard", "count"), "count",
                sorted(key + (n,) for key, n in buckets.items()),
            )
        if self.operators:
            _upsert(
                "stats_operatortally", ("day", "user_key", "shard", "count"), "count",
                sorted((day, user, shard, n) for (user, day), n in self.operators.items()),
            )
        self._clear()

    def _clear(self) -> None:
        self.changes.clear()
        self.scans.clear()
        self.operators.clear()


def _upsert(table: str, columns: tuple[str, ...], total: str, rows: list[tuple]) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding to `total` (PostgreSQL and SQLite alike)."""
    keys = [c for c in columns if c != total]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {total} = {table}.{total} + excluded.{total}"
    )
    # Raw SQL skips the ORM's adaptation: store datetimes exactly as the ORM does (UTC).
    adapt = connection.ops.adapt_datetimefield_value
    params = [adapt(value) if isinstance(value, datetime) else value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def day_start(moment: datetime) -> datetime:
    """The start of `moment`'s day in TIME_ZONE (DESIGN.md rule 14)."""
    local = timezone.localtime(moment)
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def bill_metric(status: str) -> str:
    return f"bills_{status}"


def parent_metric(status: str) -> str | None:
    return "completed_parents" if status == "completed" else None


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def hour_floor(moment: datetime) -> datetime:
    """The start of `moment`'s hour in TIME_ZONE: the dashboard's hours are local ones, and
    in a zone such as Asia/Kolkata (UTC+5:30) they do not start on a UTC hour."""
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)

