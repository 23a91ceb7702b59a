"""Recounting the counters and today's scan tallies from the tables: report drift, and
repair it. What each figure counts is its declaration's (stats.counters)."""

from collections import defaultdict
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from stats.counters import FIGURES, scan_log
from stats.models import Counter, OperatorTally, ScanTally
from stats.services import area_key, day_start, hour_floor, minute_floor, user_key

KEEP_MINUTES = timedelta(hours=2)


def expected_counters() -> dict[tuple[int, str], int]:
    """(area_key, figure) → the true value, from the tables: one aggregate per table (and
    per-area or overall), each declared figure a filtered count in it."""
    expected: dict[tuple[int, str], int] = {}
    groups: dict[tuple[str, bool], list] = defaultdict(list)
    for figure in FIGURES:
        groups[(figure.counts, figure.per_area)].append(figure)
    for (_, per_area), figures in groups.items():
        counts = {figure.name: Count("pk", filter=Q(**figure.where)) for figure in figures}
        rows = figures[0].model().objects.all()
        if per_area:
            for row in rows.values("dispatch_area_id").annotate(**counts).order_by():
                for figure in figures:
                    expected[(area_key(row["dispatch_area_id"]), figure.name)] = row[figure.name]
        else:
            totals = rows.aggregate(**counts)
            for figure in figures:
                if totals[figure.name]:
                    expected[(0, figure.name)] = totals[figure.name]
    return expected


def stored_counters() -> dict[tuple[int, str], int]:
    stored: dict[tuple[int, str], int] = {}
    for area, metric, value in Counter.objects.values_list("area_key", "metric", "value"):
        stored[(area, metric)] = stored.get((area, metric), 0) + value
    return stored


def _todays_buckets(now) -> tuple[dict, dict, dict]:
    """Today's scan rows counted by area, by (area, local hour) and by operator."""
    days: dict[int, int] = defaultdict(int)
    hours: dict[tuple[int, datetime], int] = defaultdict(int)
    operators: dict[int, int] = defaultdict(int)
    for area, user, stamp in scan_log().objects.filter(timestamp__gte=day_start(now)).values_list(
        "dispatch_area_id", "user_id", "timestamp"
    ).iterator(chunk_size=5000):
        days[area_key(area)] += 1
        hours[(area_key(area), hour_floor(stamp))] += 1
        operators[user_key(user)] += 1
    return days, hours, operators


def todays_scans(buckets: tuple[dict, dict, dict]) -> dict[tuple[int, str], int]:
    """(area_key, "scans_today"), (area_key, "scans_hour_HH") and (user_key,
    "operator_scans_today") → the true figure, from `_todays_buckets`."""
    days, hours, operators = buckets
    counted = {(area, "scans_today"): n for area, n in days.items()}
    counted.update({(area, f"scans_hour_{hour:%H}"): n for (area, hour), n in hours.items()})
    counted.update({(user, "operator_scans_today"): n for user, n in operators.items()})
    return counted


def stored_todays_scans(now) -> dict[tuple[int, str], int]:
    today = day_start(now)
    stored: dict[tuple[int, str], int] = {}
    tallies = ScanTally.objects.filter(period__in=("d", "h"), start__gte=today).values_list("area_key", "period", "start")
    for area, period, start, total in tallies.annotate(total=Sum("count")).order_by():
        metric = "scans_today" if period == "d" else f"scans_hour_{timezone.localtime(start):%H}"
        stored[(area, metric)] = total
    operators = OperatorTally.objects.filter(day=today).values_list("user_key").annotate(total=Sum("count")).order_by()
    stored.update({(user, "operator_scans_today"): total for user, total in operators})
    return stored


def _count(now) -> tuple[dict, tuple[dict, dict, dict]]:
    """Everything recounted from the tables: the counters and today's scan buckets."""
    return expected_counters(), _todays_buckets(now)


def drift(now=None, counted: tuple[dict, tuple[dict, dict, dict]] | None = None) -> dict[tuple[int, str], tuple[int, int]]:
    """(key, figure) → (stored, counted) wherever they differ: the counters by area, and
    today's scan tallies by area, by local hour and by operator (key: the user's id).
    `counted`: what `_count(now)` gave, when the caller has it already."""
    now = now or timezone.now()
    counters, buckets = counted or _count(now)
    expected, stored = {**counters, **todays_scans(buckets)}, stored_counters()
    stored.update(stored_todays_scans(now))
    keys = set(expected) | set(stored)
    return {k: (stored.get(k, 0), expected.get(k, 0)) for k in sorted(keys) if stored.get(k, 0) != expected.get(k, 0)}


@transaction.atomic
def repair(now=None) -> dict[tuple[int, str], tuple[int, int]]:
    """Make every counter exact and rebuild today's scan tallies (by area, hour and
    operator) and the last two hours' minute tallies.
    Writers wait on the lock meanwhile (seconds at a million bags)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE stats_counter, stats_scantally, stats_operatortally IN EXCLUSIVE MODE")
    now = now or timezone.now()
    counted = _count(now)  # read once, for the report and the rewrite
    found = drift(now, counted)
    counters, buckets = counted
    Counter.objects.all().delete()
    Counter.objects.bulk_create(
        [Counter(area_key=area, metric=metric, shard=0, value=value)
         for (area, metric), value in counters.items() if value]
    )
    today = day_start(now)
    ScanTally.objects.filter(Q(period="m") | Q(start__gte=today)).delete()
    OperatorTally.objects.filter(day__gte=today).delete()
    days, hours, operators = buckets
    tallies = [ScanTally(area_key=a, period="d", start=today, shard=0, count=n) for a, n in days.items()]
    tallies += [ScanTally(area_key=a, period="h", start=h, shard=0, count=n) for (a, h), n in hours.items()]
    recent = (
        scan_log().objects.filter(timestamp__gte=minute_floor(now - KEEP_MINUTES))
        .values_list("dispatch_area_id", "timestamp")
    )
    minutes: dict[tuple[int, datetime], int] = defaultdict(int)
    for area, stamp in recent.iterator(chunk_size=5000):
        minutes[(area_key(area), minute_floor(stamp))] += 1
    tallies += [ScanTally(area_key=a, period="m", start=m, shard=0, count=n) for (a, m), n in minutes.items()]
    ScanTally.objects.bulk_create(tallies)
    OperatorTally.objects.bulk_create(
        [OperatorTally(day=today, user_key=user, shard=0, count=n) for user, n in operators.items()]
    )
    return found
