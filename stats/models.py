"""Exact counters for the dashboards, kept in the transactions that change the data.

Every figure is split over SHARDS rows, and a writer adds to one shard picked at random, so
hundreds of operators scanning at once do not queue on a single hot row; a read sums the
shards (a few dozen rows). `area_key` is the dispatch area's id, 0 for "no area"."""

from django.db import models

SHARDS = 8


class Counter(models.Model):
    """One shard of one figure (`metric`) for one area."""

    area_key = models.IntegerField()
    metric = models.CharField(max_length=32)
    shard = models.SmallIntegerField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["area_key", "metric", "shard"], name="counter_unique")]

    def __str__(self):
        return f"{self.metric}[{self.area_key}/{self.shard}] = {self.value}"


class ScanTally(models.Model):
    """Scans per area and period: `period` "d" counts a local day (starting at `start`),
    "h" an hour (for the dashboard's chart), "m" a minute (for "last hour"). Minutes older
    than two hours are pruned by `recount_stats`."""

    area_key = models.IntegerField()
    period = models.CharField(max_length=1)
    start = models.DateTimeField()
    shard = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "start", "area_key", "shard"], name="scantally_unique"),
        ]

    def __str__(self):
        return f"{self.period} {self.start:%Y-%m-%d %H:%M} [{self.area_key}] = {self.count}"


class OperatorTally(models.Model):
    """Scans per operator and local day (the dashboard's "top operators today"), sharded like
    the other counters so that a login shared by several scanners does not queue on one
    row. `user_key` is the user's id, 0 for scans without a user (a deleted one)."""

    day = models.DateTimeField()
    user_key = models.IntegerField()
    shard = models.SmallIntegerField()
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["day", "user_key", "shard"], name="operatortally_unique"),
        ]

    def __str__(self):
        return f"{self.day:%Y-%m-%d} [{self.user_key}] = {self.count}"
