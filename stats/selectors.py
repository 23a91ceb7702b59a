"""Reading the counters: each figure is a sum over a few shard rows, whatever the size of
the tables, and exact at the moment of the request."""

from datetime import timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import User
from scans.models import Scan
from stats.models import Counter, ScanTally
from stats.services import BAG_METRICS, BILL_METRICS, area_key, day_start, minute_floor


def counter_totals(*, area_id: int | None = None, metrics=BAG_METRICS + BILL_METRICS) -> dict[str, int]:
    """Figures summed over shards (and over all areas unless `area_id` is given)."""
    rows = Counter.objects.filter(metric__in=metrics)
    if area_id is not None:
        rows = rows.filter(area_key=area_key(area_id))
    totals = dict(rows.values_list("metric").annotate(total=Sum("value")).order_by())
    return {metric: int(totals.get(metric) or 0) for metric in metrics}


def scan_figures(*, area_id: int | None = None, now=None) -> dict[str, int]:
    """Scans today (local day) and in the last hour, exactly: whole minutes from the tally,
    the part of the oldest minute from the scan log (at most a minute of rows, by index)."""
    now = now or timezone.now()
    tallies = ScanTally.objects.all()
    scans = Scan.objects.all()
    if area_id is not None:
        tallies = tallies.filter(area_key=area_key(area_id))
        scans = scans.filter(dispatch_area_id=area_id)
    edge = now - timedelta(hours=1)
    first_whole = minute_floor(edge) + timedelta(minutes=1)
    sums = tallies.filter(Q(period="d", start=day_start(now)) | Q(period="m", start__gte=first_whole)).aggregate(
        today=Sum("count", filter=Q(period="d")), whole=Sum("count", filter=Q(period="m"))
    )
    partial = scans.filter(timestamp__gte=edge, timestamp__lt=first_whole).count()
    return {"today": int(sums["today"] or 0), "last_hour": int((sums["whole"] or 0) + partial)}


def stats_for(user: User) -> dict:
    """GET /api/v1/stats/: a dispatcher gets their own area's bag and scan figures and no
    bill figures."""
    now = timezone.now()
    area_id = user.dispatch_area_id if user.is_dispatcher else None
    # One read of the counters: a dispatcher's area's bag figures, or every global figure.
    totals = counter_totals(area_id=area_id, metrics=BAG_METRICS if area_id is not None else BAG_METRICS + BILL_METRICS)
    bags = {metric: totals[metric] for metric in BAG_METRICS}
    bills = None
    if not user.is_dispatcher:
        bills = {metric.removeprefix("bills_"): totals[metric] for metric in BILL_METRICS}
    return {"bags": bags, "bills": bills, "scans": scan_figures(area_id=area_id, now=now), "generated_at": now}
