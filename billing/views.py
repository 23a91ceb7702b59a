"""Biller pages: bill list, create, the bill page (scan parents in), end-of-day summary.
Forms post to these views, which call the bill services; scanning parents in goes through
API v1 from the page's JavaScript (offline queue, idempotent by scan_id)."""

from datetime import date

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.pages import page_requires
from billing import services
from billing.filters import BillFilter
from billing.models import BillBag
from billing.selectors import actual_weight_kg, bill_day_summary, bill_get, bills_with_totals, expected_weight_kg
from billing.serializers import bill_input
from tracetrack.codes import normalize_code
from tracetrack.db.replicas import stale_ok
from tracetrack.errors import InvalidInput, ServiceError
from tracetrack.pages import keyset_page


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
            messages.success(request, f"Bill {bill.bill_id} created: scan its parent bags.")
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


@require_POST
@page_requires("bill.manage")
def bill_action(request, bill_id: str, action: str):
    """complete / reopen / remove a parent, from the bill page's buttons."""
    if action not in ("complete", "reopen", "remove"):
        raise Http404
    try:
        if action == "complete":
            services.bill_complete(user=request.user, bill_id=bill_id)
            messages.success(request, "Bill completed.")
        elif action == "reopen":
            services.bill_reopen(user=request.user, bill_id=bill_id)
            messages.success(request, "Bill reopened.")
        elif action == "remove":
            code = request.POST.get("qr_id", "")
            services.bill_remove_parent(user=request.user, bill_id=bill_id, parent_qr=code)
            messages.success(request, f"{code} taken off the bill.")
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
