"""The lookup page: a bag by code (exact, with prefix suggestions), its parent or
children, its bill and its scan history."""

from django.db.models import Q
from django.shortcuts import render

from bags.codes import normalize_code
from bags.models import BagKind
from bags.selectors import bags_visible_to, child_codes
from scans.selectors import scans_visible_to
from tracetrack.db.replicas import stale_ok
from tracetrack.pages import page_requires

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
