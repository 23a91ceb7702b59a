"""Creating and deleting bags; the parent status rule shared by every service that
changes a parent's children. What holds a bag from above (a bill) takes part through
bags.holders."""

from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import require
from accounts.selectors import area_by_code
from bags.codes import normalize_code, parse_code
from bags.holders import frozen_by, holders
from bags.models import Bag, BagKind, BagStatus, Link
from stats.services import Tally
from tracetrack.db import sql
from tracetrack.errors import BagRefused, NotFound, ServiceError, invalid


def parent_status(child_count: int) -> str:
    """pending with no children, completed when full, in_progress between."""
    if child_count <= 0:
        return BagStatus.PENDING
    if child_count >= settings.PARENT_CAPACITY:
        return BagStatus.COMPLETED
    return BagStatus.IN_PROGRESS


def set_child_count(parent: Bag, child_count: int, tally: Tally, *, into: "sql.Together | None" = None) -> None:
    """Save a locked parent's new child count and the status that follows from it; a change
    to or from `completed` goes into `tally`."""
    before = parent.status
    parent.child_count = child_count
    parent.status = parent_status(child_count)
    parent.updated_at = timezone.now()
    sql.update(Bag, [parent.pk], child_count=child_count, status=parent.status, updated_at=parent.updated_at,
               into=into)
    tally.parent_status(parent.dispatch_area_id, before, parent.status)


def set_frozen(parent: "Sequence[int]", frozen: bool) -> None:
    """Freeze or thaw parents (DESIGN.md rule 6), for the holder that closes or reopens what
    holds them; it has locked them (in pk order) first."""
    Bag.objects.filter(pk__in=list(parent), kind=BagKind.PARENT).update(frozen=frozen)


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
                raise invalid("kind", _("Kind must be 'parent' or 'child'."))
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
        tally.bag_made(outcomes[index])
    tally.apply()
    return outcomes


def _exists(code: str) -> BagRefused:
    return BagRefused("bag_exists", _("Bag %(code)s already exists.") % {"code": code})


@transaction.atomic
def bag_delete(*, user: User, qr_id: str) -> None:
    """Delete a bag (admins, DESIGN.md rule 12). A child leaves its parent, whose count and
    status follow; a parent's children go back to `pending` and whatever holds it (its
    place on a bill: bags.holders) lets it go. Refused with `bill_completed` when the bag,
    or a child's parent, is frozen (on a completed bill). Scan rows stay. Locks are taken
    holder (bill) → parent → child, the order every service uses."""
    require(user, "bag.delete")
    code = normalize_code(qr_id)
    found = Bag.objects.filter(qr_id=code).first()
    if found is None:
        raise NotFound(detail=_("No bag %(code)s.") % {"code": code})

    if found.kind == BagKind.PARENT:
        held = [(holder, holder.before_delete(found)) for holder in holders()]
        bag = Bag.objects.select_for_update().filter(pk=found.pk).first()
        if bag is None:
            raise NotFound(detail=_("No bag %(code)s.") % {"code": code})
        for holder, what in held:
            refusal = holder.refuse_delete(bag, what)
            if refusal is not None:
                raise refusal
        before = bag_snapshot(bag)
        freed = Bag.objects.filter(parent_link__parent=bag).update(status=BagStatus.PENDING)
        Link.objects.filter(parent=bag).delete()
        for holder, what in held:
            holder.release(bag, what, actor=user)
        tally = Tally().parent_removed(bag, freed=freed)
    else:
        link = Link.objects.filter(child_id=found.pk).first()
        parent = Bag.objects.select_for_update().get(pk=link.parent_id) if link else None
        bag = Bag.objects.select_for_update().filter(pk=found.pk).first()
        if bag is None:
            raise NotFound(detail=_("No bag %(code)s.") % {"code": code})
        link_now = Link.objects.filter(child_id=bag.pk).first()
        if (link_now.parent_id if link_now else None) != (parent.pk if parent else None):
            raise BagRefused("conflict", _("Bag %(code)s was moved to another parent meanwhile; try again.") % {"code": code})
        frozen = frozen_by(parent) if parent is not None else None
        if frozen:
            raise BagRefused("bill_completed", _("Bag %(code)s is in %(qr_id)s, which is on %(frozen)s.") % {"code": code, "qr_id": parent.qr_id, "frozen": frozen})
        before = bag_snapshot(bag)
        tally = Tally().child_removed(bag, linked=link_now is not None)
        if link_now is not None:
            link_now.delete()
            set_child_count(parent, parent.child_count - 1, tally)

    bag.delete()
    tally.apply()
    audit(actor=user, action="bag.delete", entity_type="bag", entity_id=code, before=before)
