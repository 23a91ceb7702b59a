"""Reads about bills: weights, lists with totals, a bill's manifest, the end-of-day summary."""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from bags.models import Bag
from billing.models import Bill, BillBag, BillStatus
from tracetrack.codes import normalize_code
from tracetrack.db import sql
from tracetrack.errors import NotFound
from tracetrack.pages import keyset_page


def expected_weight_kg(capacity: int) -> float:
    """Rule 8: a bill's expected weight is capacity × full parents × kg per child."""
    return float(capacity * settings.PARENT_CAPACITY * settings.KG_PER_CHILD)


def actual_weight_kg(child_count: int) -> float:
    return float(child_count * settings.KG_PER_CHILD)


def _children_on_bill() -> Subquery:
    return Subquery(
        BillBag.objects.filter(bill=OuterRef("pk"))
        .order_by()
        .values("bill")
        .annotate(total=Sum("parent__child_count"))
        .values("total"),
        output_field=IntegerField(),
    )


def bills_with_totals() -> QuerySet[Bill]:
    """Bills annotated with `child_total`, the children in their parents (one subquery per
    row on the page, answered from the bill's BillBag index)."""
    return Bill.objects.select_related("created_by").annotate(child_total=Coalesce(_children_on_bill(), Value(0)))


def bill_get(*, bill_id: str, queryset: QuerySet[Bill] | None = None) -> Bill:
    """The bill `bill_id` (matched as codes are) from `queryset` (default: with its totals)."""
    code = normalize_code(bill_id)
    bill = (bills_with_totals() if queryset is None else queryset).filter(bill_id=code).first()
    if bill is None:
        raise NotFound(detail=_("No bill %(code)s.") % {"code": code})
    return bill


def bill_with_parents(bill: Bill) -> Bill:
    """`bill` (as a service hands it back) with what its detail shows of its parents — their
    codes in the order they were added, and their children's total — read in one statement."""
    rows = sql.fetch(
        f"SELECT p.{sql.q('qr_id')}, p.{sql.q('child_count')} FROM {sql.table(BillBag)} bb "
        f"JOIN {sql.table(Bag)} p ON p.{sql.q('id')} = bb.{sql.q('parent_id')} WHERE bb.{sql.q('bill_id')} = %s "
        f"ORDER BY bb.{sql.q('created_at')}, bb.{sql.q('id')}",
        [bill.pk],
    )
    bill.parent_codes = [code for code, _count in rows]
    bill.child_total = sum(count for _code, count in rows)
    return bill


@dataclass(frozen=True)
class ParentOnBill:
    qr_id: str
    child_count: int
    weight_kg: float
    added_at: datetime
    added_by: str | None


def bill_parents(bill: Bill) -> list[ParentOnBill]:
    """The parents on `bill` in the order they were loaded, with their children and weight:
    one statement (the bill's BillBag index joined to the bags), however many there are (at
    most BILL_CAPACITY_CEILING)."""
    rows = (
        BillBag.objects.filter(bill=bill)
        .order_by("created_at", "pk")
        .values_list("parent__qr_id", "parent__child_count", "created_at", "added_by__username")
    )
    return [ParentOnBill(code, count, actual_weight_kg(count), added_at, added_by)
            for code, count, added_at, added_by in rows]


@dataclass(frozen=True)
class Manifest:
    """What a bill's printed manifest shows. The totals are those of `parents` as read, so the
    paper adds up even if a parent was scanned onto the bill meanwhile."""

    bill: Bill
    parents: list[ParentOnBill]
    children: int
    actual_weight_kg: float
    expected_weight_kg: float


def bill_manifest_get(*, bill_id: str) -> Manifest:
    """The bill (with who created and completed it) and its parents: two statements."""
    bill = bill_get(bill_id=bill_id, queryset=Bill.objects.select_related("created_by", "completed_by"))
    parents = bill_parents(bill)
    children = sum(parent.child_count for parent in parents)
    return Manifest(bill=bill, parents=parents, children=children, actual_weight_kg=actual_weight_kg(children),
                    expected_weight_kg=expected_weight_kg(bill.capacity))


def bills_newest_first(queryset: QuerySet[Bill], *, limit: int, chunk: int = 1000) -> Iterator[Bill]:
    """At most `limit` bills of `queryset`, newest first, read `chunk` at a time by keyset on
    (created_at, pk) — the bills' created_at indexes — as the list pages them: no OFFSET, no
    COUNT, and no statement held open while the rows are written out."""
    cursor, sent = None, 0
    while sent < limit:
        rows, cursor = keyset_page(queryset, cursor, size=min(chunk, limit - sent))
        yield from rows
        sent += len(rows)
        if cursor is None:
            return


def bill_parent_codes(bill: Bill) -> list[str]:
    if hasattr(bill, "parent_codes"):
        return bill.parent_codes
    return list(
        BillBag.objects.filter(bill=bill).order_by("created_at", "pk").values_list("parent__qr_id", flat=True)
    )


@dataclass(frozen=True)
class DaySummary:
    date: date
    bills_created: int
    bills_completed: int
    parents: int
    children: int
    actual_weight_kg: float
    expected_weight_kg: float
    by_user: list[dict]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The start and end of `day` in TIME_ZONE (rule 14), as aware datetimes."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def bill_day_summary(*, day: date) -> DaySummary:
    """The end-of-day summary: bills created and completed that day, and the parents,
    children and weights of the bills completed that day; per user, bills created,
    bills completed and parents added."""
    start, end = day_bounds(day)
    created = Bill.objects.filter(created_at__gte=start, created_at__lt=end)
    completed = bills_with_totals().filter(completed_at__gte=start, completed_at__lt=end)
    totals = completed.aggregate(
        bills=Count("pk"), parents=Coalesce(Sum("parent_count"), 0), capacity=Coalesce(Sum("capacity"), 0)
    )
    children = sum(completed.values_list("child_total", flat=True))

    by_user: dict[str, dict] = {}

    def row(username: str) -> dict:
        return by_user.setdefault(
            username, {"username": username, "bills_created": 0, "bills_completed": 0, "parents_added": 0}
        )

    for username, n in created.values_list("created_by__username").annotate(n=Count("pk")).order_by():
        row(username or "")["bills_created"] = n
    for username, n in (
        Bill.objects.filter(completed_at__gte=start, completed_at__lt=end)
        .values_list("completed_by__username")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        row(username or "")["bills_completed"] = n
    for username, n in (
        BillBag.objects.filter(created_at__gte=start, created_at__lt=end)
        .values_list("added_by__username")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        row(username or "")["parents_added"] = n

    return DaySummary(
        date=day,
        bills_created=created.count(),
        bills_completed=totals["bills"],
        parents=totals["parents"],
        children=children,
        actual_weight_kg=actual_weight_kg(children),
        expected_weight_kg=expected_weight_kg(totals["capacity"]),
        by_user=sorted(by_user.values(), key=lambda r: r["username"]),
    )


def bill_place(parent: Bag) -> BillBag | None:
    """The parent's place on a bill, with the bill, or None — read now (a new statement, so
    it sees a bill completed by a transaction that committed while we waited for the
    parent's lock) and kept on `parent`, whose representation shows the bill."""
    place = BillBag.objects.select_related("bill").filter(parent_id=parent.pk).first()
    Bag.bill_link.related.set_cached_value(parent, place)
    return place


def completed_bill_id(parent: Bag) -> str | None:
    """The bill_id of the completed bill that freezes this parent (DESIGN.md rule 6), or None."""
    place = bill_place(parent)
    return place.bill.bill_id if place is not None and place.bill.status == BillStatus.COMPLETED else None
