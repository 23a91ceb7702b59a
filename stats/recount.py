"""Recounting the counters from the tables: report drift, and repair it."""

from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from bags.models import Bag
from billing.models import Bill
from scans.models import Scan
from stats.models import Counter, ScanTally
from stats.services import BAG_METRICS, area_key, day_start, hour_floor, minute_floor

KEEP_MINUTES = timedelta(hours=2)


def expected_counters() -> dict[tuple[int, str], int]:
    """(area_key, metric) → the true figure, from the tables."""
    expected: dict[tuple[int, str], int] = {}
    rows = Bag.objects.values("dispatch_area_id").annotate(
        parents=Count("pk", filter=Q(kind="parent")),
        children=Count("pk", filter=Q(kind="child")),
        completed_parents=Count("pk", filter=Q(kind="parent", status="completed")),
        unlinked_children=Count("pk", filter=Q(kind="child", status="pending")),
    ).order_by()
    for row in rows:
        for metric in BAG_METRICS:
            expected[(area_key(row["dispatch_area_id"]), metric)] = row[metric]
    for status, n in Bill.objects.values_list("status").annotate(n=Count("pk")).order_by():
        expected[(0, f"bills_{status}")] = n
    return expected


def stored_counters() -> dict[tuple[int, str], int]:
    stored: dict[tuple[int, str], int] = {}
    for area, metric, value in Counter.objects.values_list("area_key", "metric", "value"):
        stored[(area, metric)] = stored.get((area, metric), 0) + value
    return stored


def drift() -> dict[tuple[int, str], tuple[int, int]]:
    """(area_key, metric) → (stored, expected) wherever they differ."""
    expected, stored = expected_counters(), stored_counters()
    keys = set(expected) | set(stored)
    return {k: (stored.get(k, 0), expected.get(k, 0)) for k in sorted(keys) if stored.get(k, 0) != expected.get(k, 0)}


@transaction.atomic
def repair(now=None) -> dict[tuple[int, str], tuple[int, int]]:
    """Make every counter exact and rebuild today's and the last two hours' scan tallies.
    Writers wait on the lock meanwhile (seconds at a million bags)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE stats_counter, stats_scantally IN EXCLUSIVE MODE")
    found = drift()
    Counter.objects.all().delete()
    Counter.objects.bulk_create(
        [Counter(area_key=area, metric=metric, shard=0, value=value)
         for (area, metric), value in expected_counters().items() if value]
    )
    now = now or timezone.now()
    today = day_start(now)
    ScanTally.objects.filter(Q(period="m") | Q(start__gte=today)).delete()
    tallies = []
    per_area_today = Scan.objects.filter(timestamp__gte=today).values("dispatch_area_id").annotate(n=Count("pk"))
    tallies += [ScanTally(area_key=area_key(r["dispatch_area_id"]), period="d", start=today, shard=0, count=r["n"])
                for r in per_area_today.order_by()]
    hours: dict[tuple[int, object], int] = {}
    for area, stamp in Scan.objects.filter(timestamp__gte=today).values_list("dispatch_area_id", "timestamp").iterator(
        chunk_size=5000
    ):
        key = (area_key(area), hour_floor(stamp))
        hours[key] = hours.get(key, 0) + 1
    tallies += [ScanTally(area_key=a, period="h", start=h, shard=0, count=n) for (a, h), n in hours.items()]
    recent = (
        Scan.objects.filter(timestamp__gte=minute_floor(now - KEEP_MINUTES))
        .values_list("dispatch_area_id", "timestamp")
    )
    minutes: dict[tuple[int, object], int] = {}
    for area, stamp in recent.iterator(chunk_size=5000):
        key = (area_key(area), minute_floor(stamp))
        minutes[key] = minutes.get(key, 0) + 1
    tallies += [ScanTally(area_key=a, period="m", start=m, shard=0, count=n) for (a, m), n in minutes.items()]
    ScanTally.objects.bulk_create(tallies)
    return found
