"""The operators' pages. The scan page: scan a parent, then its children (wedge scanner or
camera), rendered with the parent's state; the JavaScript then calls API v1 (session +
CSRF) for every scan, so the rules stay in the services. The lookup page: a bag by code
(exact, with prefix suggestions), its parent or children, its bill and its scan history."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from accounts.pages import page_requires
from bags.codes import is_parent_code, normalize_code
from bags.holders import frozen_by
from bags.models import BagKind
from bags.selectors import bag_get, bags_visible_to, child_codes
from scans.selectors import scans_visible_to
from stats.selectors import operator_scans_today
from tracetrack.db.replicas import stale_ok
from tracetrack.errors import NotFound


@page_requires("scan")
def scan(request, parent_qr: str | None = None):
    parent, children, frozen = None, [], False
    if parent_qr:
        try:
            parent = bag_get(user=request.user, qr_id=parent_qr)
        except NotFound:
            code = normalize_code(parent_qr)[:64]
            if is_parent_code(code):
                messages.error(request, _("No parent bag %(code)s in your area yet: scan it to start it.") % {"code": code})
            else:
                messages.error(request, _("%(code)s is not a parent bag code (like SB12345 or M444-12345). "
                                          "Scan a parent bag to start.") % {"code": code})
            return redirect("scan")
        if parent.kind != BagKind.PARENT:
            messages.error(request, _("%(code)s is a child bag, not a parent.") % {"code": parent.qr_id})
            return redirect("scan")
        children = child_codes(parent)
        frozen = frozen_by(parent) is not None
    return render(request, "pages/scan.html", {
        "parent": parent,
        "children": list(reversed(children)),  # newest first
        "capacity": settings.PARENT_CAPACITY,
        "frozen": frozen,
        "parent_pattern": settings.PARENT_QR_PATTERN,
        "my_scans_today": operator_scans_today(request.user),
    })


@page_requires("scan")
@require_GET
def parent_state(request, parent_qr: str):
    """What the scan page asks after a parent scan answered with a bill: is the parent frozen
    by a completed bill (then its children cannot change, and the page says so instead of
    "scan its children")? Who may: whoever may scan, for a parent they can see (another
    area's is a 404, as on the API)."""
    parent = bag_get(user=request.user, qr_id=parent_qr)
    frozen = frozen_by(parent) if parent.kind == BagKind.PARENT else None
    return JsonResponse({"qr_id": parent.qr_id, "frozen": frozen is not None, "frozen_by": frozen})


SUGGESTIONS = 20
HISTORY = 50


@page_requires("bag.read")
@stale_ok
def lookup(request):
    code = normalize_code(request.GET.get("q", ""))[:64]
    bag, children, history, suggestions = None, [], [], []
    if code:
        visible = bags_visible_to(request.user)
        bag = visible.filter(qr_id=code).first()
        if bag is None:
            suggestions = list(visible.filter(qr_id__startswith=code).order_by("qr_id")[:SUGGESTIONS])
        else:
            if bag.kind == BagKind.PARENT:
                children = child_codes(bag)
            history = list(
                scans_visible_to(request.user).filter(Q(bag=bag) | Q(parent=bag)).order_by("-timestamp", "-pk")[:HISTORY]
            )
    return render(request, "pages/lookup.html", {
        "q": code, "bag": bag, "children": children, "history": history, "suggestions": suggestions,
    })
