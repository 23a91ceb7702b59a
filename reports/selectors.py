"""Reads of the reports: the stats API's body, from the counters."""

from django.utils import timezone

from accounts.models import User
from stats.counters import ALL_FIGURES, BAG_FIGURES, BY_NAME
from stats.selectors import figures


def stats_for(user: User) -> dict:
    """GET /api/v1/stats/: a dispatcher gets their own area's bag and scan figures and no
    bill figures."""
    now = timezone.now()
    area_id = user.dispatch_area_id if user.is_dispatcher else None
    # One statement: a dispatcher's area's bag and scan figures, or every global figure.
    found = figures(area_id=area_id, metrics=BAG_FIGURES if area_id is not None else ALL_FIGURES, now=now)
    reported: dict[str, dict[str, int]] = {"bags": {}, "bills": {}}
    for name in BAG_FIGURES if user.is_dispatcher else ALL_FIGURES:
        group, key = BY_NAME[name].reported_as
        reported[group][key] = found[name]
    bags, bills = reported["bags"], (None if user.is_dispatcher else reported["bills"])
    scans = {"today": found["scans_today"], "last_hour": found["scans_last_hour"]}
    return {"bags": bags, "bills": bills, "scans": scans, "generated_at": now}
