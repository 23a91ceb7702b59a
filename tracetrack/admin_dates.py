"""Admin date hierarchies that offer only the periods holding rows, at a cost that does not
grow with the table.

Django's own date hierarchy asks `SELECT DISTINCT` of the truncated dates over the whole
changelist: over millions of scans, a full scan for every changelist view. Its
replacement (django-admin-lightweight-date-hierarchy, `date_hierarchy_drilldown = False`)
asks nothing and offers fixed periods — today's year ± 3, all twelve months, every day —
most of them empty. Here the periods come from the date column's index:

- years: the first and the last timestamp (MIN and MAX, each read from one end of the
  index), then, for the years between them, one EXISTS probe each;
- months of a year, days of a month: one EXISTS probe for each (12, at most 31).

The probes of a level go to the database as one statement (`SELECT EXISTS(…), EXISTS(…)`),
each an index range probe that stops at its first row. The periods are the table's, not the
changelist's filtered set: a filter or a search could make a probe walk a whole period's
rows, the cost this avoids.
"""

import calendar
import datetime

from django.db import connections, models
from django.utils import timezone


class DataDateHierarchyMixin:
    """For a ModelAdmin with `date_hierarchy` on an indexed date or datetime column."""

    date_hierarchy_drilldown = False  # no DISTINCT over the table (the package's switch)

    def get_date_hierarchy_drilldown(self, year_lookup: int | None, month_lookup: int | None) -> list[datetime.date]:
        """The package's hook: the periods to offer below the level chosen (none: years;
        a year: its months; a month: its days), each as the date it starts on."""
        if year_lookup is None:
            return self._years_with_rows()
        if month_lookup is None:
            months = [datetime.date(year_lookup, month, 1) for month in range(1, 13)]
            return self._periods_with_rows(months, "month")
        last_day = calendar.monthrange(year_lookup, month_lookup)[1]
        days = [datetime.date(year_lookup, month_lookup, day) for day in range(1, last_day + 1)]
        return self._periods_with_rows(days, "day")

    def _rows(self) -> models.QuerySet:
        return self.model._default_manager.order_by()

    def _is_datetime(self) -> bool:
        return isinstance(self.model._meta.get_field(self.date_hierarchy), models.DateTimeField)

    def _years_with_rows(self) -> list[datetime.date]:
        field = self.date_hierarchy
        bounds = self._rows().aggregate(first=models.Min(field), last=models.Max(field))
        if bounds["first"] is None:
            return []
        first, last = (timezone.localtime(bounds[end]).year if self._is_datetime() else bounds[end].year
                       for end in ("first", "last"))
        between = self._periods_with_rows([datetime.date(year, 1, 1) for year in range(first + 1, last)], "year")
        return [datetime.date(first, 1, 1), *between] + ([datetime.date(last, 1, 1)] if last != first else [])

    def _periods_with_rows(self, starts: list[datetime.date], unit: str) -> list[datetime.date]:
        """Those of the periods (a `unit` long, from each date of `starts`) that hold a row."""
        if not starts:
            return []
        field, rows = self.date_hierarchy, self._rows()
        probes = []
        for start in starts:
            bounded = {f"{field}__gte": self._bound(start)}
            end = _period_end(start, unit)
            if end is not None:
                bounded[f"{field}__lt"] = self._bound(end)
            probes.append(rows.filter(**bounded).values("pk")[:1].query.get_compiler(using=rows.db).as_sql())
        sql = "SELECT " + ", ".join(f"EXISTS({probe_sql})" for probe_sql, _ in probes)
        params = [param for _, probe_params in probes for param in probe_params]
        with connections[rows.db].cursor() as cursor:
            cursor.execute(sql, params)
            found = cursor.fetchone()
        return [start for start, has_rows in zip(starts, found, strict=True) if has_rows]

    def _bound(self, day: datetime.date):
        # The admin's year/month/day lookups are in the current time zone (TIME_ZONE).
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)) if self._is_datetime() else day


def _period_end(start: datetime.date, unit: str) -> datetime.date | None:
    """The first day after the period; None past the calendar's end (9999-12-31)."""
    try:
        if unit == "year":
            return start.replace(year=start.year + 1)
        if unit == "month":
            return (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        return start + datetime.timedelta(days=1)
    except (ValueError, OverflowError):
        return None
