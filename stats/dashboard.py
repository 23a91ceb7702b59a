"""What the staff dashboard shows, from the counters (exact) and a few bounded queries."""

from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import DispatchArea
from scans.models import Scan
from scans.selectors import scans_visible_to
from stats.models import Counter, ScanTally
from stats.selectors import counter_totals, scan_figures
from stats.services import BAG_METRICS, NO_AREA, day_start
from tracetrack.caching import cached

TOP_OPERATORS_TTL = 60  # seconds: the one figure that needs a scan of today's rows


def per_area() -> list[dict]:
    """One row per area (and "no area") with the bag figures."""
    names = dict(DispatchArea.objects.values_list("pk", "code"))
    rows: dict[int, dict] = {}
    for area, metric, total in (
        Counter.objects.filter(metric__in=BAG_METRICS).values_list("area_key", "metric").annotate(t=Sum("value")).order_by()
    ):
        rows.setdefault(area, {"area": names.get(area, "—") if area != NO_AREA else "no area"})[metric] = total
    return sorted(
        ({**dict.fromkeys(BAG_METRICS, 0), **row} for row in rows.values()), key=lambda r: r["area"]
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


def top_operators(now) -> list[dict]:
    def build():
        rows = (
            Scan.objects.filter(timestamp__gte=day_start(now))
            .values("user__username")
            .annotate(scans=Count("pk"))
            .order_by("-scans")[:10]
        )
        return [{"username": r["user__username"] or "—", "scans": r["scans"]} for r in rows]

    return cached(f"dashboard:top:{day_start(now):%Y%m%d}", TOP_OPERATORS_TTL, build)


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
        "hours": [
            {**h, "x": 20 * i, "height": round(100 * h["count"] / peak), "y": 110 - round(100 * h["count"] / peak)}
            for i, h in enumerate(hours)
        ],
        "top": top_operators(now),
        "recent": list(scans_visible_to(user).order_by("-timestamp", "-pk")[:50]),
    }
