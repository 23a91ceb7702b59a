"""Scanning: parent scans, child scans and undo (DESIGN.md rules 1–7 and 11).

Every child-count change happens under a row lock on the parent (`SELECT … FOR UPDATE`),
taken before the child's, so the 30-child cap and one-parent-per-child hold whatever the
concurrency. The unique child column of Link is the database backstop.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import require
from bags.codes import parse_code
from bags.holders import frozen_by
from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import new_bag_area, set_child_count
from scans.models import Scan, ScanKind
from stats.services import Tally
from tracetrack.errors import InvalidInput, NotFound, ScanRefused, ServiceError


@dataclass(frozen=True)
class ParentScanResult:
    bag: Bag
    scan: Scan
    created: bool


@dataclass(frozen=True)
class ChildScanResult:
    child: Bag
    parent: Bag
    # The scan that made the link; for a duplicate, the original linking scan.
    scan: Scan | None
    duplicate: bool
    created: bool


@dataclass(frozen=True)
class UndoResult:
    removed: str
    parent: Bag
    scan: Scan


def _area_refusal(user: User, bag: Bag) -> ScanRefused | None:
    """Dispatchers work only in their own area (DESIGN.md rule 7)."""
    if user.is_dispatcher and bag.dispatch_area_id != user.dispatch_area_id:
        return ScanRefused("area_mismatch", f"Bag {bag.qr_id} belongs to another dispatch area.")
    return None


def _is_child(code: str) -> ScanRefused:
    return ScanRefused("is_child", f"{code} is a child bag, not a parent.")


def _parent_refusal(user: User, parent: Bag) -> ScanRefused | None:
    """Why this parent takes no child scan and no undo from `user` now, if it does not, in
    the API's order: `is_child` (legacy data), `area_mismatch` (rule 7), `bill_completed`
    (a parent whose bill is completed cannot change, rule 6)."""
    if parent.kind != BagKind.PARENT:
        return _is_child(parent.qr_id)
    refusal = _area_refusal(user, parent)
    if refusal is None:
        frozen = frozen_by(parent)
        if frozen is not None:
            refusal = ScanRefused("bill_completed", f"Parent {parent.qr_id} is on {frozen}; it cannot change.")
    return refusal


def _refuse(refusal: ScanRefused | None) -> None:
    if refusal is not None:
        raise refusal


def _lock_parent(code: str, *related: str) -> Bag:
    """The bag `code` locked for update (taken before any child's lock), with `related`
    joined in; 404 when there is none."""
    # `of=("self",)`: only the bag's row is locked, not the rows joined in.
    parent = Bag.objects.select_for_update(of=("self",)).select_related(*related).filter(qr_id=code).first()
    if parent is None:
        raise NotFound(detail=f"No parent bag {code}.")
    return parent


# --- Parent scan ------------------------------------------------------------------------


@transaction.atomic
def scan_parent(
    *,
    user: User,
    qr_id: str,
    scan_id: "uuid.UUID | None" = None,
    dispatch_area: "str | DispatchArea | None" = None,
) -> ParentScanResult:
    """Scan a parent: create it when new (`created=True`), or accept an existing one.
    Writes one Scan row either way, under `scan_id` when the client gave one. Refusals:
    `is_child`, `area_mismatch`."""
    require(user, "scan")
    code = parse_code(qr_id, BagKind.PARENT)
    bag = Bag.objects.select_related("dispatch_area").filter(qr_id=code).first()
    created = False
    if bag is None:
        area = new_bag_area(user=user, requested=dispatch_area)
        try:
            with transaction.atomic():
                bag = Bag.objects.create(
                    qr_id=code, kind=BagKind.PARENT, status=BagStatus.PENDING, dispatch_area=area, created_by=user
                )
            created = True
        except IntegrityError:  # created by a concurrent scan: treat it as existing
            bag = Bag.objects.select_related("dispatch_area").get(qr_id=code)
    if not created:
        if bag.kind != BagKind.PARENT:
            raise _is_child(code)
        _refuse(_area_refusal(user, bag))
    scan = Scan.objects.create(
        scan_id=scan_id or uuid.uuid4(),
        kind=ScanKind.PARENT,
        bag=bag,
        qr_id=code,
        user=user,
        dispatch_area=bag.dispatch_area,
    )
    tally = Tally().scan(scan)
    if created:
        tally.bag_made(bag)
    tally.apply()
    return ParentScanResult(bag=bag, scan=scan, created=created)


# --- Child scan -------------------------------------------------------------------------


def scan_child(
    *, user: User, parent_qr: str, qr_id: str, scan_id: "uuid.UUID | None" = None
) -> ChildScanResult:
    """Scan a child into a parent; the Scan row that links it carries `scan_id` when the
    client gave one.

    Order (API.md): format (400), parent exists (404), duplicate (200, no new link, the
    original scan), then refusals: `is_child`, `area_mismatch`, `bill_completed`,
    `is_parent`, `already_linked` (with `current_parent`), `capacity_reached`. A child that
    does not exist yet is created in the parent's area."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    child_code = parse_code(qr_id, BagKind.CHILD)
    return _only(_scan_children(user=user, parent_code=parent_code, items=[(child_code, scan_id)]))


def scan_children(*, user: User, parent_qr: str, qr_ids: Sequence[str]) -> list["ChildScanResult | ServiceError"]:
    """Scan many children into one parent in one transaction, as if `scan_child` were
    called for each code in turn (imports): each code gets the result or the refusal that
    its own scan would get, in order — so the 31st new child is `capacity_reached`, a code
    given twice is a duplicate the second time. A refused code writes nothing; the accepted
    ones are written with one statement per table. A missing parent raises NotFound (404)
    for all; a badly formed child code is an InvalidInput in its place."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    outcomes: list[ChildScanResult | ServiceError | None] = [None] * len(qr_ids)
    items: list[tuple[str, uuid.UUID | None]] = []
    positions: list[int] = []
    for index, raw in enumerate(qr_ids):
        try:
            items.append((parse_code(raw, BagKind.CHILD), None))
            positions.append(index)
        except InvalidInput as exc:
            outcomes[index] = exc
    if items:
        for index, outcome in zip(positions, _scan_children(user=user, parent_code=parent_code, items=items),
                                  strict=True):
            outcomes[index] = outcome
    return outcomes


def _only(outcomes: list["ChildScanResult | ServiceError"]) -> ChildScanResult:
    (outcome,) = outcomes
    if isinstance(outcome, ServiceError):
        raise outcome
    return outcome


def _lock_children(codes: "set[str] | list[str]") -> dict[str, Bag]:
    """The existing bags among `codes`, locked in code order (so two batches that share
    children cannot deadlock), each with its link and current parent."""
    # `of=("self",)`: PostgreSQL cannot lock the nullable side of the outer join to the link.
    return {
        bag.qr_id: bag
        for bag in Bag.objects.select_for_update(of=("self",))
        .select_related("parent_link__parent", "dispatch_area", "created_by")
        .filter(qr_id__in=sorted(codes))
        .order_by("qr_id")
    }


def _current_parent(child: Bag) -> Bag | None:
    try:
        return child.parent_link.parent
    except Link.DoesNotExist:
        return None


def _in_parent(child: Bag, parent: Bag) -> bool:
    current_parent = _current_parent(child)
    return current_parent is not None and current_parent.pk == parent.pk


def _child_refusal(user: User, child: Bag) -> ScanRefused | None:
    """Why an existing bag that is not in this parent cannot go into it, if it cannot. A
    dispatcher is not told which parent of another area holds it (rule 7: they cannot see
    that parent)."""
    if child.kind != BagKind.CHILD:
        return ScanRefused("is_parent", f"{child.qr_id} is a parent bag, not a child.")
    current_parent = _current_parent(child)
    if current_parent is None:
        return None
    if user.is_dispatcher and current_parent.dispatch_area_id != user.dispatch_area_id:
        return ScanRefused("already_linked", f"{child.qr_id} is already in another parent.", current_parent=None)
    return ScanRefused(
        "already_linked",
        f"{child.qr_id} is already in parent {current_parent.qr_id}.",
        current_parent=current_parent.qr_id,
    )


@transaction.atomic
def _scan_children(
    *, user: User, parent_code: str, items: list[tuple[str, uuid.UUID | None]]
) -> list[ChildScanResult | ScanRefused]:
    """The child scans of `items` ((code, scan_id) pairs, codes already parsed) into one
    parent, judged in order (see `scan_child` for the order of the checks): the parent and
    the children are locked and read once, then every accepted scan is written."""
    # The area and the creator come along for the answer's representation of the parent.
    parent = _lock_parent(parent_code, "dispatch_area", "created_by")
    existing = _lock_children({code for code, _ in items})
    unset = object()
    parent_refusal = unset  # judged once, only when a code is not a duplicate
    capacity = settings.PARENT_CAPACITY
    count = parent.child_count
    outcomes: list[ChildScanResult | ScanRefused | None] = [None] * len(items)
    accepted: dict[str, int] = {}  # code → index of the item that links it
    duplicates: dict[int, str] = {}  # index → code already in this parent
    for index, (code, _) in enumerate(items):
        child = existing.get(code)
        if code in accepted or (child is not None and _in_parent(child, parent)):
            duplicates[index] = code
            continue
        if parent_refusal is unset:
            parent_refusal = _parent_refusal(user, parent)
        refusal = parent_refusal or (_child_refusal(user, child) if child is not None else None)
        if refusal is None and count >= capacity:
            refusal = ScanRefused("capacity_reached", f"Parent {parent_code} is full ({capacity} children).")
        if refusal is not None:
            outcomes[index] = refusal
            continue
        accepted[code] = index
        count += 1

    tally = Tally()
    created = _create_children(user, parent, items, accepted, existing, outcomes)
    relinked = [existing[code] for code in accepted if code not in created]
    _link_children(parent, created, relinked, tally)
    if accepted:
        set_child_count(parent, parent.child_count + len(accepted), tally)
    scans = Scan.objects.bulk_create([
        Scan(
            scan_id=items[index][1] or uuid.uuid4(),
            kind=ScanKind.CHILD,
            bag=created.get(code) or existing[code],
            qr_id=code,
            parent=parent,
            parent_qr=parent_code,
            user=user,
            dispatch_area=parent.dispatch_area,
            created_bag=code in created,
        )
        for code, index in accepted.items()
    ])
    linking_scans = {scan.qr_id: scan for scan in scans}
    for scan in scans:
        tally.scan(scan)
        outcomes[accepted[scan.qr_id]] = ChildScanResult(
            child=scan.bag, parent=parent, scan=scan, duplicate=False, created=scan.created_bag
        )
    tally.apply()

    if duplicates:
        # A duplicate answers with the scan that made the link: written above, or earlier.
        earlier = [existing[code] for code in duplicates.values() if code not in linking_scans]
        linking_scans.update(_linking_scans(parent, earlier))
        for index, code in duplicates.items():
            scan = linking_scans.get(code)
            child = scan.bag if scan is not None and scan.bag is not None else existing[code]
            outcomes[index] = ChildScanResult(child=child, parent=parent, scan=scan, duplicate=True, created=False)
    return outcomes


def _create_children(user, parent, items, accepted, existing, outcomes) -> dict[str, Bag]:
    """Insert the accepted children that do not exist yet, in the parent's area. A code
    that a concurrent request inserted meanwhile is judged again as an existing bag (it
    cannot be in this parent: we hold the parent's lock)."""
    created: dict[str, Bag] = {}
    missing = [code for code in accepted if code not in existing]
    while missing:
        bags = [
            Bag(qr_id=code, kind=BagKind.CHILD, status=BagStatus.COMPLETED,
                dispatch_area=parent.dispatch_area, created_by=user)
            for code in missing
        ]
        try:
            with transaction.atomic():
                Bag.objects.bulk_create(bags)
        except IntegrityError:
            arrived = _lock_children(missing)
            for code, bag in arrived.items():
                existing[code] = bag
                refusal = _child_refusal(user, bag)
                if refusal is not None:
                    outcomes[accepted.pop(code)] = refusal
            missing = [code for code in missing if code not in arrived]
            continue
        created.update((bag.qr_id, bag) for bag in bags)
        missing = []
    return created


def _link_children(parent: Bag, created: dict[str, Bag], relinked: list[Bag], tally: Tally) -> None:
    """Link the new and the pending children to the parent. A pending child, perhaps
    registered in another area, is now linked in this one."""
    area = parent.dispatch_area_id
    for child in created.values():
        tally.bag_made(child)
    if relinked:
        now = timezone.now()
        for child in relinked:
            tally.child_linked(child, into_area_id=area)
            child.status = BagStatus.COMPLETED
            child.dispatch_area = parent.dispatch_area
            child.updated_at = now
        Bag.objects.filter(pk__in=[child.pk for child in relinked]).update(
            status=BagStatus.COMPLETED, dispatch_area_id=area, updated_at=now
        )
    links = Link.objects.bulk_create([Link(parent=parent, child=child) for child in [*created.values(), *relinked]])
    for link in links:
        link.child.parent_link = link  # the child's representation shows its parent


def _linking_scans(parent: Bag, children: list[Bag]) -> dict[str, Scan]:
    """For children already in `parent`: the newest not-undone child scan that linked each."""
    if not children:
        return {}
    found: dict[str, Scan] = {}
    scans = (
        Scan.objects.filter(bag__in=children, parent=parent, kind=ScanKind.CHILD, undone_at__isnull=True)
        .order_by("bag_id", "-timestamp", "-id")
    )
    for scan in scans:
        found.setdefault(scan.qr_id, scan)
    return found


# --- Undo -------------------------------------------------------------------------------


@transaction.atomic
def undo_last_scan(*, user: User, parent_qr: str) -> UndoResult:
    """Reverse the caller's newest not-yet-undone child scan on the parent (admins: anyone's
    newest), when it is at most UNDO_WINDOW old (DESIGN.md rule 5). The link goes; the scan
    stays with `undone_at` set; a child this scan created is deleted, an older child goes
    back to `pending`. Refusals: `nothing_to_undo`, `bill_completed`, `area_mismatch`."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    parent = _lock_parent(parent_code)
    _refuse(_parent_refusal(user, parent))

    candidates = Scan.objects.filter(
        parent=parent, kind=ScanKind.CHILD, undone_at__isnull=True, bag__parent_link__parent=parent
    )
    if not user.is_admin:
        candidates = candidates.filter(user=user)
    scan = candidates.order_by("-timestamp", "-id").first()
    now = timezone.now()
    if scan is None or scan.timestamp < now - settings.UNDO_WINDOW:
        raise ScanRefused("nothing_to_undo", f"You have no scan on {parent_code} from the last hour to undo.")

    child = Bag.objects.select_for_update().get(pk=scan.bag_id)
    Link.objects.filter(parent=parent, child=child).delete()
    tally = Tally()
    set_child_count(parent, parent.child_count - 1, tally)
    scan.undone_at = now
    scan.save(update_fields=["undone_at"])
    tally.child_unlinked(child, deleted=scan.created_bag)
    if scan.created_bag:
        child.delete()
        scan.bag = None
    else:
        child.status = BagStatus.PENDING
        child.save(update_fields=["status", "updated_at"])
    tally.apply()
    audit(
        actor=user,
        action="scan.undo",
        entity_type="scan",
        entity_id=scan.scan_id,
        before={"child": scan.qr_id, "parent": parent_code, "child_deleted": scan.created_bag},
    )
    return UndoResult(removed=scan.qr_id, parent=parent, scan=scan)
