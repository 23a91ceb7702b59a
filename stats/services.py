"""Keeping the counters exact: each service says in a `Tally` what happened (a bag made, a
child linked, a bill completed, a scan written) and applies it once, before its
transaction commits; which figures (stats.counters) an event moves is decided here, and
only here.

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

from stats.counters import BILL_FIGURES, BY_NAME, bill_figure
from stats.models import SHARDS
from tracetrack.db.sql import Together

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
    """The counter changes of one service call: what happened, then `apply()`."""

    def __init__(self):
        self.changes: dict[tuple[int, str], int] = defaultdict(int)
        self.scans: dict[tuple[int, datetime], int] = defaultdict(int)
        self.operators: dict[tuple[int, datetime], int] = defaultdict(int)

    # --- What happened ---------------------------------------------------------------------

    def bag_made(self, bag) -> "Tally":
        """A new bag: a parent; a child, pending (on no parent) or already linked."""
        if bag.kind == "parent":
            return self._add(bag.dispatch_area_id, "parents")
        self._add(bag.dispatch_area_id, "children")
        if bag.status == "pending":
            self._add(bag.dispatch_area_id, "unlinked_children")
        return self

    def child_linked(self, child, *, into_area_id: int | None) -> "Tally":
        """A pending child (call before it takes its parent's area) linked into a parent
        of `into_area_id`."""
        self._add(child.dispatch_area_id, "unlinked_children", -1)
        return self._add(child.dispatch_area_id, "children", -1)._add(into_area_id, "children")

    def child_unlinked(self, child, *, deleted: bool) -> "Tally":
        """A child out of its parent by an undo: deleted (the scan had made it), or pending."""
        if deleted:
            return self._add(child.dispatch_area_id, "children", -1)
        return self._add(child.dispatch_area_id, "unlinked_children")

    def parent_status(self, area_id: int | None, before: str, after: str) -> "Tally":
        """A parent's status changed (its children changed)."""
        if before != after:
            if before == "completed":
                self._add(area_id, "completed_parents", -1)
            if after == "completed":
                self._add(area_id, "completed_parents")
        return self

    def parent_removed(self, parent, *, freed: int) -> "Tally":
        """A parent deleted; its `freed` children went back to pending."""
        self._add(parent.dispatch_area_id, "parents", -1)._add(parent.dispatch_area_id, "unlinked_children", freed)
        return self.parent_status(parent.dispatch_area_id, parent.status, "deleted")

    def child_removed(self, child, *, linked: bool) -> "Tally":
        """A child deleted, from a parent (`linked`) or pending."""
        self._add(child.dispatch_area_id, "children", -1)
        if not linked:
            self._add(child.dispatch_area_id, "unlinked_children", -1)
        return self

    def bill_made(self, status: str) -> "Tally":
        return self._add(None, bill_figure(status))

    def bill_status(self, before: str, after: str) -> "Tally":
        if before != after:
            self._add(None, bill_figure(before), -1)._add(None, bill_figure(after))
        return self

    def bill_removed(self, status: str) -> "Tally":
        return self._add(None, bill_figure(status), -1)

    def scan(self, scan) -> "Tally":
        """A scan row written: for "today" and "last hour" in its area, and for its
        operator's scans today."""
        self.scans[(area_key(scan.dispatch_area_id), scan.timestamp)] += 1
        self.operators[(user_key(scan.user_id), day_start(scan.timestamp))] += 1
        return self

    def _add(self, area_id: int | None, figure: str, delta: int = 1) -> "Tally":
        if figure not in BY_NAME:
            raise KeyError(f"{figure!r} is not a declared figure (stats.counters)")
        self.changes[(area_key(area_id), figure)] += delta
        return self

    def apply(self, into: "Together | None" = None) -> None:
        """Write the changes (with `into`: as part of those statements sent together)."""
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
        shard = random.randrange(SHARDS)  # noqa: S311 - spreading writes, not security
        upserts = []
        rows = sorted(
            ((0 if metric in BILL_FIGURES else 1, area, metric, delta) for (area, metric), delta in self.changes.items()
             if delta),
        )
        if rows:
            upserts.append(_upsert(
                "stats_counter", ("area_key", "metric", "shard", "value"), "value",
                [(area, metric, shard, delta) for _, area, metric, delta in rows],
            ))
        if self.scans:
            buckets: dict[tuple, int] = defaultdict(int)
            for (area, when), n in self.scans.items():
                buckets[("d", day_start(when), area, shard)] += n
                buckets[("h", hour_floor(when), area, shard)] += n
                buckets[("m", minute_floor(when), area, shard)] += n
            upserts.append(_upsert(
                "stats_scantally", ("period", "start", "area_key", "shard", "count"), "count",
                sorted(key + (n,) for key, n in buckets.items()),
            ))
        if self.operators:
            upserts.append(_upsert(
                "stats_operatortally", ("day", "user_key", "shard", "count"), "count",
                sorted((day, user, shard, n) for (user, day), n in self.operators.items()),
            ))
        together = into if into is not None else Together()
        for sql, params in upserts:
            together.add(sql, params)
        if into is None:
            together.run()
        self._clear()

    def _clear(self) -> None:
        self.changes.clear()
        self.scans.clear()
        self.operators.clear()


def _upsert(table: str, columns: tuple[str, ...], total: str, rows: list[tuple]) -> tuple[str, list]:
    """INSERT … ON CONFLICT DO UPDATE adding to `total` (PostgreSQL and SQLite alike): the
    statement and its parameters."""
    keys = [c for c in columns if c != total]
    placeholders = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    sql = (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES {placeholders} "
        f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {total} = {table}.{total} + excluded.{total}"
    )
    # Raw SQL skips the ORM's adaptation: store datetimes exactly as the ORM does (UTC).
    adapt = connection.ops.adapt_datetimefield_value
    return sql, [adapt(value) if isinstance(value, datetime) else value for row in rows for value in row]


def day_start(moment: datetime) -> datetime:
    """The start of `moment`'s day in TIME_ZONE (DESIGN.md rule 14)."""
    local = timezone.localtime(moment)
    return datetime.combine(local.date(), time.min, tzinfo=local.tzinfo)


def minute_floor(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def hour_floor(moment: datetime) -> datetime:
    """The start of `moment`'s hour in TIME_ZONE: the dashboard's hours are local ones, and
    in a zone such as Asia/Kolkata (UTC+5:30) they do not start on a UTC hour."""
    return timezone.localtime(moment).replace(minute=0, second=0, microsecond=0)

