"""Biller pages: bill list, create, the bill page (scan parents in), its printable manifest,
the CSV downloads of the list and of a bill, end-of-day summary.
Forms post to these views, which call the bill services; scanning parents in goes through
API v1 from the page's JavaScript (offline queue, idempotent by scan_id)."""

import logging
import re
from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_POST, require_safe

from accounts.pages import page_requires
from billing import services
from billing.filters import BillFilter
from billing.models import Bill, BillBag
from billing.selectors import (
    actual_weight_kg,
    bill_day_summary,
    bill_get,
    bill_manifest_get,
    bill_parents,
    bills_newest_first,
    bills_with_totals,
    expected_weight_kg,
)
from billing.serializers import bill_input
from tracetrack.codes import normalize_code
from tracetrack.csv_download import csv_chunks, csv_download
from tracetrack.db.replicas import read_alias, stale_ok
from tracetrack.errors import InvalidInput, ServiceError
from tracetrack.pages import keyset_page

logger = logging.getLogger(__name__)

# The bill list's download holds at most this many bills (newest first); a note row at the
# end says when there were more, so that a biller narrows the filters.
EXPORT_MAX_BILLS = 100_000


@page_requires("bill.read")
@stale_ok
def bill_list(request):
    filters = BillFilter(request.GET, queryset=bills_with_totals())
    bills, next_cursor = [], None
    if filters.is_valid():
        bills, next_cursor = keyset_page(filters.qs, request.GET.get("cursor"))
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(request, "pages/bills.html", {
        "filters": filters, "bills": bills, "next_cursor": next_cursor, "query": query.urlencode(),
    })


@page_requires("bill.manage")
def bill_create(request):
    values, errors = {"capacity": ""}, {}
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("bill_id", "capacity", "destination", "vehicle_number", "description")}
        try:
            bill = services.bill_create(user=request.user, **bill_input(values))
        except InvalidInput as exc:
            errors = exc.errors
        except ServiceError as exc:
            errors = {"bill_id": [exc.detail]}
        else:
            messages.success(request, gettext("Bill %(bill_id)s created: scan its parent bags.") % {"bill_id": bill.bill_id})
            return redirect("bill-detail", bill_id=bill.bill_id)
    return render(request, "pages/bill_form.html", {
        "values": values, "errors": errors, "max_capacity": settings.BILL_CAPACITY_CREATE_MAX,
    }, status=400 if errors else 200)


@page_requires("bill.read")
def bill_detail(request, bill_id: str):
    bill = bill_get(bill_id=bill_id)
    places = list(BillBag.objects.filter(bill=bill).select_related("parent", "added_by").order_by("-created_at", "-pk"))
    return render(request, "pages/bill.html", {
        "bill": bill,
        "places": places,
        "expected_kg": expected_weight_kg(bill.capacity),
        "actual_kg": actual_weight_kg(bill.child_total),
        "parent_pattern": settings.PARENT_QR_PATTERN,
    })


@require_safe
@page_requires("bill.read")
def bill_manifest(request, bill_id: str):
    """The bill's manifest, printed for the truck: its facts, every parent with children and
    weight, the totals, and lines for the signatures."""
    return render(request, "pages/bill_manifest.html", {"manifest": bill_manifest_get(bill_id=bill_id)})


def _filename(*parts: str) -> str:
    stamp = f"{timezone.localtime():%Y%m%d-%H%M%S}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "-".join([*parts, stamp])) + ".csv"


@require_safe
@page_requires("bill.read")
def bill_parents_csv(request, bill_id: str):
    """The bill's parents as CSV: code, children, weight, when added. Read before the answer
    starts (one statement, at most a bill's capacity of rows), so a missing bill is a 404."""
    bill = bill_get(bill_id=bill_id, queryset=Bill.objects.all())
    parents = bill_parents(bill)
    logger.info("export of bill %s parents as csv by %s", bill.bill_id, request.user.username)
    header = [gettext("Parent bag"), gettext("Children"), gettext("Weight (kg)"), gettext("Added at")]
    rows = ([parent.qr_id, parent.child_count, parent.weight_kg, parent.added_at] for parent in parents)
    return csv_download(csv_chunks(header, rows), _filename("bill", bill.bill_id))


@require_safe
@page_requires("bill.read")
@stale_ok
def bill_list_csv(request):
    """The bills the list finds with its filters (not only the page shown: the cursor is
    left out), newest first, as CSV, streamed while they are read a thousand at a time."""
    filters = BillFilter(request.GET, queryset=bills_with_totals())
    if not filters.is_valid():
        problems = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in filters.errors.items())
        return HttpResponse(gettext("Fix the filters first: %(problems)s") % {"problems": problems},
                            status=400, content_type="text/plain; charset=utf-8")
    # The rows are read after this view has returned, while the answer streams: the database
    # (a replica, if the list may read one) is chosen now, as the admin's export does.
    bills = bills_newest_first(filters.qs.using(read_alias()), limit=EXPORT_MAX_BILLS + 1)
    query = request.GET.copy()
    query.pop("cursor", None)
    logger.info("export of bills (%s) as csv by %s", query.urlencode() or "all", request.user.username)
    header = [gettext("Bill"), gettext("Status"), gettext("Destination"), gettext("Vehicle"), gettext("Capacity"),
              gettext("Parents"), gettext("Children"), gettext("Weight (kg)"), gettext("Created by"),
              gettext("Created at"), gettext("Completed at")]
    # Translated now: the language is the request's only while the view runs.
    more = gettext("Only the newest %(count)s bills are in this file: narrow the filters for the others.") % {
        "count": EXPORT_MAX_BILLS}
    statuses = {bill_status: str(label) for bill_status, label in Bill._meta.get_field("status").choices}

    def rows():
        for number, bill in enumerate(bills):
            if number == EXPORT_MAX_BILLS:
                yield [more]
                return
            yield [bill.bill_id, statuses.get(bill.status, bill.status), bill.destination, bill.vehicle_number,
                   bill.capacity, bill.parent_count, bill.child_total, actual_weight_kg(bill.child_total),
                   bill.created_by.username if bill.created_by else None, bill.created_at, bill.completed_at]

    return csv_download(csv_chunks(header, rows()), _filename("bills"))


@require_POST
@page_requires("bill.manage")
def bill_action(request, bill_id: str, action: str):
    """complete / reopen / remove a parent, from the bill page's buttons."""
    if action not in ("complete", "reopen", "remove"):
        raise Http404
    try:
        if action == "complete":
            services.bill_complete(user=request.user, bill_id=bill_id)
            messages.success(request, gettext("Bill completed."))
        elif action == "reopen":
            services.bill_reopen(user=request.user, bill_id=bill_id)
            messages.success(request, gettext("Bill reopened."))
        elif action == "remove":
            code = request.POST.get("qr_id", "")
            services.bill_remove_parent(user=request.user, bill_id=bill_id, parent_qr=code)
            messages.success(request, gettext("%(code)s taken off the bill.") % {"code": code})
    except ServiceError as exc:
        messages.error(request, exc.detail)
    return redirect("bill-detail", bill_id=normalize_code(bill_id))


@page_requires("bill.read")
@stale_ok
def bill_summary(request):
    raw = request.GET.get("date", "")
    try:
        day = date.fromisoformat(raw) if raw else timezone.localdate()
        error = None
    except ValueError:
        day, error = timezone.localdate(), "Date must be YYYY-MM-DD; showing today."
    return render(request, "pages/summary.html", {"summary": bill_day_summary(day=day), "error": error})
