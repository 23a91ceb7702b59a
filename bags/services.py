"""Creating and deleting bags; the parent status rule shared by every service that
changes a parent's children."""

from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import require
from accounts.selectors import area_by_code
from bags.codes import parse_code
from bags.models import Bag, BagKind, BagStatus, Link
from stats.services import Tally, parent_metric
from tracetrack.errors import BagRefused, NotFound, ServiceError, invalid


def parent_status(child_count: int) -> str:
    """pending with no children, completed when full, in_progress between."""
    if child_count <= 0:
        return BagStatus.PENDING
    if child_count >= settings.PARENT_CAPACITY:
        return BagStatus.COMPLETED
    return BagStatus.IN_PROGRESS


def set_child_count(parent: Bag, child_count: int, tally: Tally) -> None:
    """Save a locked parent's new child count and the status that follows from it; a change
    to or from `completed` goes into `tally`."""
    before = parent.status
    parent.child_count = child_count
    parent.status = parent_status(child_count)
    parent.save(update_fields=["child_count", "status", "updated_at"])
    tally.status(parent.dispatch_area_id, before, parent.status, metric_of=parent_metric)


def new_bag_area(*, user: User, requested: "str | DispatchArea | None") -> DispatchArea | None:
    """DESIGN.md rule 7: a dispatcher's new parent takes their own area whatever they send;
    for users without an area it takes the area they send, or none."""
    if user.dispatch_area_id is not None and user.is_dispatcher:
        return user.dispatch_area
    return area_by_code(requested)


def bag_snapshot(bag: Bag) -> dict:
    return {
        "qr_id": bag.qr_id,
        "kind": bag.kind,
        "status": bag.status,
        "dispatch_area": bag.dispatch_area.code if bag.dispatch_area_id else None,
        "child_count": bag.child_count,
    }


def bag_create(*, user: User, qr_id: str, kind: str, dispatch_area: "str | DispatchArea | None" = None) -> Bag:
    """Register a bag without scanning it (billers and admins). It starts `pending`.
    Refusals: `invalid` (kind, code format, area), `bag_exists`."""
    (outcome,) = bags_create(user=user, bags=[(qr_id, kind, dispatch_area)])
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


@transaction.atomic
def bags_create(
    *, user: User, bags: Sequence[tuple[str, str, "str | DispatchArea | None"]]
) -> list["Bag | ServiceError"]:
    """Register many bags, given as (qr_id, kind, dispatch_area), in one transaction
    (imports): each gets the bag or the refusal that its own `bag_create` would get, in
    order (a code given twice exists the second time). The new bags are inserted with one
    statement."""
    require(user, "bag.create")
    outcomes: list[Bag | ServiceError | None] = [None] * len(bags)
    wanted: dict[str, int] = {}  # code → index of the item that makes it
    areas: dict = {}
    for index, (qr_id, kind, requested) in enumerate(bags):
        try:
            if kind not in BagKind.values:
                raise invalid("kind", "Kind must be 'parent' or 'child'.")
            code = parse_code(qr_id, kind)
            key = requested.pk if isinstance(requested, DispatchArea) else requested
            if key not in areas:
                areas[key] = new_bag_area(user=user, requested=requested)
        except ServiceError as exc:
            outcomes[index] = exc
            continue
        if code in wanted:
            outcomes[index] = _exists(code)
            continue
        wanted[code] = index
        outcomes[index] = Bag(qr_id=code, kind=kind, status=BagStatus.PENDING, created_by=user,
                              dispatch_area=areas[key])
    conflict: IntegrityError | None = None
    while wanted:
        taken = set(Bag.objects.filter(qr_id__in=list(wanted)).values_list("qr_id", flat=True))
        if conflict is not None and not taken:
            raise conflict  # not a code made meanwhile
        for code in taken:
            outcomes[wanted.pop(code)] = _exists(code)
        try:
            with transaction.atomic():
                Bag.objects.bulk_create([outcomes[index] for index in wanted.values()])
        except IntegrityError as exc:
            conflict = exc  # a concurrent request made one of them meanwhile: look again
            continue
        break
    tally = Tally()
    for index in wanted.values():
        bag = outcomes[index]
        if bag.kind == BagKind.PARENT:
            tally.add(bag.dispatch_area_id, "parents")
        else:
            tally.add(bag.dispatch_area_id, "children").add(bag.dispatch_area_id, "unlinked_children")
    tally.apply()
    return outcomes


def _exists(code: str) -> BagRefused:
    return BagRefused("bag_exists", f"Bag {code} already exists.")


def bill_place(parent: Bag):
    """The parent's place on a bill, with the bill, or None — read now (a new statement, so
    it sees a bill completed by a transaction that committed while we waited for the
    parent's lock) and kept on `parent`, whose representation shows the bill."""
    from billing.models import BillBag

    place = BillBag.objects.select_related("bill").filter(parent_id=parent.pk).first()
    Bag.bill_link.related.set_cached_value(parent, place)
    return place


def completed_bill_id(parent: Bag) -> str | None:
    """The bill_id of the completed bill that freezes this parent (DESIGN.md rule 6), or None."""
    from billing.models import BillStatus

    place = bill_place(parent)
    return place.bill.bill_id if place is not None and place.bill.status == BillStatus.COMPLETED else None


@transaction.atomic
def bag_delete(*, user: User, qr_id: str) -> None:
    """Delete a bag (admins, DESIGN.md rule 12). A child leaves its parent, whose count and
    status follow; a parent's children go back to `pending` and its place on a bill is
    freed. Refused with `bill_completed` when the bag or its parent is on a completed bill.
    Scan rows stay. Locks are taken bill → parent → child, the order every service uses."""
    from billing.models import Bill, BillBag
    from billing.services import set_parent_count

    require(user, "bag.delete")
    code = str(qr_id or "").strip().upper()
    found = Bag.objects.filter(qr_id=code).first()
    if found is None:
        raise NotFound(detail=f"No bag {code}.")

    if found.kind == BagKind.PARENT:
        place = BillBag.objects.filter(parent_id=found.pk).first()
        bill = Bill.objects.select_for_update().get(pk=place.bill_id) if place else None
        bag = Bag.objects.select_for_update().filter(pk=found.pk).first()
        if bag is None:
            raise NotFound(detail=f"No bag {code}.")
        place_now = BillBag.objects.filter(parent_id=bag.pk).first()
        if (place_now.bill_id if place_now else None) != (bill.pk if bill else None):
            raise BagRefused("conflict", f"Bag {code} was moved to another bill meanwhile; try again.")
        if bill is not None and bill.is_completed:
            raise BagRefused("bill_completed", f"Bag {code} is on completed bill {bill.bill_id}; reopen it first.")
        before = bag_snapshot(bag)
        freed = Bag.objects.filter(parent_link__parent=bag).update(status=BagStatus.PENDING)
        Link.objects.filter(parent=bag).delete()
        if place_now is not None:
            place_now.delete()
            set_parent_count(bill, bill.parent_count - 1, actor=user)
        tally = Tally().add(bag.dispatch_area_id, "parents", -1).add(bag.dispatch_area_id, "unlinked_children", freed)
        tally.status(bag.dispatch_area_id, bag.status, "deleted", metric_of=parent_metric)
    else:
        link = Link.objects.filter(child_id=found.pk).first()
        parent = Bag.objects.select_for_update().get(pk=link.parent_id) if link else None
        bag = Bag.objects.select_for_update().filter(pk=found.pk).first()
        if bag is None:
            raise NotFound(detail=f"No bag {code}.")
        link_now = Link.objects.filter(child_id=bag.pk).first()
        if (link_now.parent_id if link_now else None) != (parent.pk if parent else None):
            raise BagRefused("conflict", f"Bag {code} was moved to another parent meanwhile; try again.")
        if parent is not None and completed_bill_id(parent):
            raise BagRefused("bill_completed", f"Bag {code} is in {parent.qr_id}, which is on a completed bill.")
        before = bag_snapshot(bag)
        tally = Tally().add(bag.dispatch_area_id, "children", -1)
        if link_now is not None:
            link_now.delete()
            set_child_count(parent, parent.child_count - 1, tally)
        else:
            tally.add(bag.dispatch_area_id, "unlinked_children", -1)

    bag.delete()
    tally.apply()
    audit(actor=user, action="bag.delete", entity_type="bag", entity_id=code, before=before)
