"""The figures of GET /api/v1/stats/, exact at the moment of the request."""

from datetime import datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import User
from bags.models import Bag, BagKind, BagStatus
from billing.models import Bill, BillStatus
from scans.models import Scan


def stats_for(user: User) -> dict:
    """Bags, bills and scans; a dispatcher gets their own area's bags and scans and no
    bill figures."""
    bags = Bag.objects.all()
    scans = Scan.objects.all()
    if user.is_dispatcher:
        bags = bags.filter(dispatch_area_id=user.dispatch_area_id)
        scans = scans.filter(dispatch_area_id=user.dispatch_area_id)
    bag_figures = bags.aggregate(
        parents=Count("pk", filter=Q(kind=BagKind.PARENT)),
        children=Count("pk", filter=Q(kind=BagKind.CHILD)),
        completed_parents=Count("pk", filter=Q(kind=BagKind.PARENT, status=BagStatus.COMPLETED)),
        unlinked_children=Count("pk", filter=Q(kind=BagKind.CHILD, status=BagStatus.PENDING)),
    )
    now = timezone.now()
    start_of_day = datetime.combine(timezone.localdate(now), time.min, tzinfo=timezone.get_current_timezone())
    scan_figures = scans.filter(timestamp__gte=min(start_of_day, now - timedelta(hours=1))).aggregate(
        today=Count("pk", filter=Q(timestamp__gte=start_of_day)),
        last_hour=Count("pk", filter=Q(timestamp__gte=now - timedelta(hours=1))),
    )
    bills = None
    if not user.is_dispatcher:
        by_status = dict(Bill.objects.values_list("status").annotate(n=Count("pk")).order_by())
        bills = {s: by_status.get(s, 0) for s in (BillStatus.NEW, BillStatus.IN_PROGRESS, BillStatus.COMPLETED)}
    return {"bags": bag_figures, "bills": bills, "scans": scan_figures, "generated_at": now}
