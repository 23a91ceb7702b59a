"""Reading the counters: each figure is a sum over a few shard rows, whatever the size of
the tables, and exact at the moment of the request."""

from datetime import timedelta

from django.db import connection
from django.utils import timezone

from stats.counters import ALL_FIGURES, scan_log
from stats.models import Counter, OperatorTally, ScanTally
from stats.services import area_key, day_start, minute_floor


def figures(*, area_id: int | None = None, metrics=ALL_FIGURES, scans: bool = True,
            now=None) -> dict[str, int]:
    """The counters' figures summed over shards (and over all areas unless `area_id` is
    given) and, with `scans`, the scans today (local day) and in the last hour — exactly:
    whole minutes from the tally, the part of the oldest minute from the scan log (at most a
    minute of rows, by index).

    One statement (a UNION ALL of index lookups on small tables), written as SQL: this is
    what every stats request and dashboard refresh runs, and building it through the ORM
    cost more than running it."""
    now = now or timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    area = "" if area_id is None else " AND area_key = %s"
    area_args = [] if area_id is None else [area_key(area_id)]
    parts: list[str] = []
    params: list = []
    if metrics:
        parts.append(
            f"SELECT metric, SUM(value) FROM {Counter._meta.db_table} "
            f"WHERE metric IN ({', '.join(['%s'] * len(metrics))}){area} GROUP BY metric"
        )
        params += [*metrics, *area_args]
    if scans:
        edge = now - timedelta(hours=1)
        first_whole = minute_floor(edge) + timedelta(minutes=1)
        tally = ScanTally._meta.db_table
        parts.append(f"SELECT 'scans_today', SUM(count) FROM {tally} WHERE period = 'd' AND start = %s{area}")
        params += [adapt(day_start(now)), *area_args]
        parts.append(f"SELECT 'scans_minutes', SUM(count) FROM {tally} WHERE period = 'm' AND start >= %s{area}")
        params += [adapt(first_whole), *area_args]
        scan_area = "" if area_id is None else " AND dispatch_area_id = %s"
        parts.append(
            f"SELECT 'scans_partial', COUNT(*) FROM {scan_log()._meta.db_table} "
            f"WHERE timestamp >= %s AND timestamp < %s{scan_area}"
        )
        params += [adapt(edge), adapt(first_whole), *([] if area_id is None else [area_id])]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {name: int(total or 0) for name, total in cursor.fetchall()}
    result = {metric: found.get(metric, 0) for metric in metrics}
    if scans:
        result["scans_today"] = found.get("scans_today", 0)
        result["scans_last_hour"] = found.get("scans_minutes", 0) + found.get("scans_partial", 0)
    return result


def counter_totals(*, area_id: int | None = None, metrics=ALL_FIGURES) -> dict[str, int]:
    """Figures summed over shards (and over all areas unless `area_id` is given)."""
    return figures(area_id=area_id, metrics=metrics, scans=False)


def scan_figures(*, area_id: int | None = None, now=None) -> dict[str, int]:
    """Scans today (local day) and in the last hour, exactly."""
    found = figures(area_id=area_id, metrics=(), now=now)
    return {"today": found["scans_today"], "last_hour": found["scans_last_hour"]}


def operator_scans_today(user, *, now=None) -> int:
    """The scans `user` made today (local day): their day tally, a few shard rows on the
    (day, user_key, shard) unique index."""
    rows = OperatorTally.objects.filter(day=day_start(now or timezone.now()), user_key=user.pk)
    return sum(rows.values_list("count", flat=True))
