"""What the staff dashboard shows, from the counters (exact) and a few bounded queries."""

from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from accounts.models import DispatchArea, User
from scans.selectors import scans_visible_to
from stats.counters import BAG_FIGURES
from stats.models import Counter, OperatorTally, ScanTally
from stats.selectors import counter_totals, scan_figures
from stats.services import NO_AREA, NO_USER, day_start


def per_area() -> list[dict]:
    """One row per area (and "no area") with the bag figures."""
    names = dict(DispatchArea.objects.values_list("pk", "code"))
    rows: dict[int, dict] = {}
    for area, metric, total in (
        Counter.objects.filter(metric__in=BAG_FIGURES).values_list("area_key", "metric").annotate(t=Sum("value")).order_by()
    ):
        rows.setdefault(area, {"area": names.get(area, "—") if area != NO_AREA else "no area"})[metric] = total
    return sorted(
        ({**dict.fromkeys(BAG_FIGURES, 0), **row} for row in rows.values()), key=lambda r: r["area"]
    )


def scans_per_hour(now) -> list[dict]:
    start = day_start(now)
    counts = dict(
        ScanTally.objects.filter(period="h", start__gte=start).values_list("start").annotate(n=Sum("count")).order_by()
    )
    hours = []
    for h in range(24):
        moment = start + timedelta(hours=h)
        if moment > now:
            break
        hours.append({"hour": timezone.localtime(moment).strftime("%H"), "count": int(counts.get(moment, 0) or 0)})
    return hours


def top_operators(now, limit: int = 10) -> list[dict]:
    """The operators with the most scans today, from their day tallies (a few rows per
    operator active today, whatever the number of scans)."""
    rows = list(
        OperatorTally.objects.filter(day=day_start(now)).values_list("user_key")
        .annotate(scans=Sum("count")).order_by("-scans", "user_key")[:limit]
    )
    names = dict(User.objects.filter(pk__in=[user for user, _ in rows if user != NO_USER])
                 .values_list("pk", "username"))
    return [{"username": names.get(user, "—"), "scans": int(scans)} for user, scans in rows]


def dashboard_data(user) -> dict:
    now = timezone.now()
    totals = counter_totals()
    hours = scans_per_hour(now)
    peak = max([h["count"] for h in hours] + [1])
    return {
        "now": now,
        "totals": totals,
        "scans": scan_figures(now=now),
        "areas": per_area(),
        # Bars start right of the y-axis (x 40); its ticks: 0, half the peak, the peak.
        "hours": [
            {**h, "x": 40 + 19 * i, "height": round(100 * h["count"] / peak), "y": 110 - round(100 * h["count"] / peak)}
            for i, h in enumerate(hours)
        ],
        "ticks": [{"value": value, "y": 110 - round(100 * value / peak)}
                  for value in sorted({0, peak // 2, peak})],
        "top": top_operators(now),
        "recent": list(scans_visible_to(user).order_by("-timestamp", "-pk")[:50]),
    }
