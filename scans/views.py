"""The operators' scan page: scan a parent, then its children (wedge scanner or camera).

The page is rendered with the parent's state; the JavaScript then calls API v1 (session +
CSRF) for every scan, so the rules stay in the services."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render

from bags.models import BagKind
from bags.selectors import bag_get, child_codes
from billing.models import BillStatus
from tracetrack.errors import NotFound
from tracetrack.pages import page_requires


@page_requires("scan")
def scan(request, parent_qr: str | None = None):
    parent, children, frozen = None, [], False
    if parent_qr:
        try:
            parent = bag_get(user=request.user, qr_id=parent_qr)
        except NotFound:
            messages.error(request, f"No parent bag {parent_qr.upper()} in your area; scan it to start it.")
            return redirect("scan")
        if parent.kind != BagKind.PARENT:
            messages.error(request, f"{parent.qr_id} is a child bag, not a parent.")
            return redirect("scan")
        children = child_codes(parent)
        place = getattr(parent, "bill_link", None)
        frozen = place is not None and place.bill.status == BillStatus.COMPLETED
    return render(request, "pages/scan.html", {
        "parent": parent,
        "children": list(reversed(children)),  # newest first
        "capacity": settings.PARENT_CAPACITY,
        "frozen": frozen,
        "parent_pattern": settings.PARENT_QR_PATTERN,
    })
