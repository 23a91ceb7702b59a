"""Scanning: parent scans, child scans and undo (DESIGN.md rules 1–7 and 11).

Every child-count change happens under a row lock on the parent (`SELECT … FOR UPDATE`),
taken before the child's, so the 30-child cap and one-parent-per-child hold whatever the
concurrency. The unique child column of Link is the database backstop.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.audit import audit
from accounts.models import DispatchArea, User
from accounts.policy import require
from bags.codes import parse_code
from bags.models import Bag, BagKind, BagStatus, Link
from bags.services import completed_bill_id, new_bag_area, set_child_count
from scans.idempotency import parse_scan_id, run_idempotent
from scans.models import Scan, ScanKind
from stats.services import Tally
from tracetrack.errors import NotFound, ScanRefused


@dataclass(frozen=True)
class ParentScanResult:
    bag: Bag
    scan: Scan
    created: bool
    replayed: bool = False


@dataclass(frozen=True)
class ChildScanResult:
    child: Bag
    parent: Bag
    # The scan that made the link; for a duplicate, the original linking scan.
    scan: Scan | None
    duplicate: bool
    created: bool
    replayed: bool = False


@dataclass(frozen=True)
class UndoResult:
    removed: str
    parent: Bag
    scan: Scan


def _check_area(user: User, bag: Bag) -> None:
    """Dispatchers work only in their own area (DESIGN.md rule 7)."""
    if user.is_dispatcher and bag.dispatch_area_id != user.dispatch_area_id:
        raise ScanRefused("area_mismatch", f"Bag {bag.qr_id} belongs to another dispatch area.")


def _check_not_frozen(parent: Bag) -> None:
    """A parent whose bill is completed takes no child scans and no undo (rule 6)."""
    bill_id = completed_bill_id(parent.pk)
    if bill_id is not None:
        raise ScanRefused("bill_completed", f"Parent {parent.qr_id} is on completed bill {bill_id}; it cannot change.")


def _lock_parent(code: str) -> Bag:
    parent = Bag.objects.select_for_update().filter(qr_id=code).first()
    if parent is None:
        raise NotFound(detail=f"No parent bag {code}.")
    if parent.kind != BagKind.PARENT:
        raise ScanRefused("is_child", f"{code} is a child bag, not a parent.")
    return parent


# --- Parent scan ------------------------------------------------------------------------


def scan_parent(
    *,
    user: User,
    qr_id: str,
    scan_id: "uuid.UUID | str | None" = None,
    dispatch_area: "str | DispatchArea | None" = None,
) -> ParentScanResult:
    """Scan a parent: create it when new (`created=True`), or accept an existing one.
    Writes one Scan row either way. Refusals: `is_child`, `area_mismatch`."""
    require(user, "scan")
    code = parse_code(qr_id, BagKind.PARENT)
    scan_uuid = parse_scan_id(scan_id)
    area_param = dispatch_area.code if isinstance(dispatch_area, DispatchArea) else dispatch_area
    return run_idempotent(
        scan_id=scan_uuid,
        action="scan.parent",
        user=user,
        params={"qr_id": code, "dispatch_area": str(area_param or "").strip().lower()},
        operation=lambda: _scan_parent(user=user, code=code, dispatch_area=dispatch_area, scan_id=scan_uuid),
        encode=lambda r: {"bag": r.bag.pk, "scan": r.scan.pk, "created": r.created},
        replay=lambda ref: ParentScanResult(
            bag=Bag.objects.select_related("dispatch_area").get(pk=ref["bag"]),
            scan=Scan.objects.get(pk=ref["scan"]),
            created=ref["created"],
            replayed=True,
        ),
    )


@transaction.atomic
def _scan_parent(*, user: User, code: str, dispatch_area, scan_id: uuid.UUID | None) -> ParentScanResult:
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
            raise ScanRefused("is_child", f"{code} is a child bag, not a parent.")
        _check_area(user, bag)
    scan = Scan.objects.create(
        scan_id=scan_id or uuid.uuid4(),
        kind=ScanKind.PARENT,
        bag=bag,
        qr_id=code,
        user=user,
        dispatch_area_id=bag.dispatch_area_id,
    )
    tally = Tally().scan(bag.dispatch_area_id, scan.timestamp)
    if created:
        tally.add(bag.dispatch_area_id, "parents")
    tally.apply()
    return ParentScanResult(bag=bag, scan=scan, created=created)


# --- Child scan -------------------------------------------------------------------------


def scan_child(
    *, user: User, parent_qr: str, qr_id: str, scan_id: "uuid.UUID | str | None" = None
) -> ChildScanResult:
    """Scan a child into a parent.

    Order (API.md): format (400), parent exists (404), duplicate (200, no new link, the
    original scan), then refusals: `is_child`, `area_mismatch`, `bill_completed`,
    `is_parent`, `already_linked` (with `current_parent`), `capacity_reached`. A child that
    does not exist yet is created in the parent's area."""
    require(user, "scan")
    parent_code = parse_code(parent_qr, BagKind.PARENT, field="parent")
    child_code = parse_code(qr_id, BagKind.CHILD)
    scan_uuid = parse_scan_id(scan_id)
    return run_idempotent(
        scan_id=scan_uuid,
        action="scan.child",
        user=user,
        params={"parent": parent_code, "qr_id": child_code},
        operation=lambda: _scan_child(user=user, parent_code=parent_code, child_code=child_code, scan_id=scan_uuid),
        encode=lambda r: {
            "child": r.child.pk,
            "parent": r.parent.pk,
            "scan": r.scan.pk if r.scan else None,
            "duplicate": r.duplicate,
            "created": r.created,
        },
        replay=_replay_child,
    )


def _replay_child(ref: dict) -> ChildScanResult:
    bags = Bag.objects.select_related("dispatch_area").in_bulk([ref["child"], ref["parent"]])
    return ChildScanResult(
        child=bags.get(ref["child"]),
        parent=bags.get(ref["parent"]),
        scan=Scan.objects.filter(pk=ref["scan"]).first() if ref["scan"] else None,
        duplicate=ref["duplicate"],
        created=ref["created"],
        replayed=True,
    )


def _lock_child(code: str) -> Bag | None:
    # `of=("self",)`: PostgreSQL cannot lock the nullable side of the outer join to the link.
    return (
        Bag.objects.select_for_update(of=("self",))
        .select_related("parent_link__parent")
        .filter(qr_id=code)
        .first()
    )


def _current_parent(child: Bag) -> Bag | None:
    try:
        return child.parent_link.parent
    except Link.DoesNotExist:
        return None


def _refuse_child(child: Bag, current_parent: Bag | None) -> None:
    if child.kind != BagKind.CHILD:
        raise ScanRefused("is_parent", f"{child.qr_id} is a parent bag, not a child.")
    if current_parent is not None:
        raise ScanRefused(
            "already_linked",
            f"{child.qr_id} is already in parent {current_parent.qr_id}.",
            current_parent=current_parent.qr_id,
        )


@transaction.atomic
def _scan_child(*, user: User, parent_code: str, child_code: str, scan_id: uuid.UUID | None) -> ChildScanResult:
    parent = Bag.objects.select_for_update().filter(qr_id=parent_code).first()
    if parent is None:
        raise NotFound(detail=f"No parent bag {parent_code}.")
    child = _lock_child(child_code)
    current_parent = _current_parent(child) if child else None
    if current_parent is not None and current_parent.pk == parent.pk:
        original = (
            Scan.objects.filter(bag=child, parent=parent, kind=ScanKind.CHILD, undone_at__isnull=True)
            .order_by("-timestamp", "-id")
            .first()
        )
        return ChildScanResult(child=child, parent=parent, scan=original, duplicate=True, created=False)

    if parent.kind != BagKind.PARENT:
        raise ScanRefused("is_child", f"{parent_code} is a child bag, not a parent.")
    _check_area(user, parent)
    _check_not_frozen(parent)
    if child is not None:
        _refuse_child(child, current_parent)
    if parent.child_count >= settings.PARENT_CAPACITY:
        raise ScanRefused(
            "capacity_reached", f"Parent {parent_code} is full ({settings.PARENT_CAPACITY} children)."
        )

    created = False
    tally = Tally()
    if child is None:
        try:
            with transaction.atomic():
                child = Bag.objects.create(
                    qr_id=child_code,
                    kind=BagKind.CHILD,
                    status=BagStatus.COMPLETED,
                    dispatch_area_id=parent.dispatch_area_id,
                    created_by=user,
                )
            created = True
        except IntegrityError:
            # Made by a concurrent request meanwhile: wait for it, then judge it like any
            # existing bag. It cannot be in this parent: we hold the parent's lock.
            child = _lock_child(child_code)
            _refuse_child(child, _current_parent(child))
    if created:
        tally.add(parent.dispatch_area_id, "children")
    else:
        # A pending child, perhaps registered in another area, is now linked in this one.
        tally.add(child.dispatch_area_id, "unlinked_children", -1)
        tally.add(child.dispatch_area_id, "children", -1).add(parent.dispatch_area_id, "children")
        child.status = BagStatus.COMPLETED
        child.dispatch_area_id = parent.dispatch_area_id
        child.save(update_fields=["status", "dispatch_area", "updated_at"])

    Link.objects.create(parent=parent, child=child)
    set_child_count(parent, parent.child_count + 1, tally)
    scan = Scan.objects.create(
        scan_id=scan_id or uuid.uuid4(),
        kind=ScanKind.CHILD,
        bag=child,
        qr_id=child_code,
        parent=parent,
        parent_qr=parent_code,
        user=user,
        dispatch_area_id=parent.dispatch_area_id,
        created_bag=created,
    )
    tally.scan(parent.dispatch_area_id, scan.timestamp).apply()
    return ChildScanResult(child=child, parent=parent, scan=scan, duplicate=False, created=created)


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
    _check_area(user, parent)
    _check_not_frozen(parent)

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
    if scan.created_bag:
        child.delete()
        scan.bag = None
        tally.add(child.dispatch_area_id, "children", -1)
    else:
        child.status = BagStatus.PENDING
        child.save(update_fields=["status", "updated_at"])
        tally.add(child.dispatch_area_id, "unlinked_children")
    tally.apply()
    audit(
        actor=user,
        action="scan.undo",
        entity_type="scan",
        entity_id=scan.scan_id,
        before={"child": scan.qr_id, "parent": parent_code, "child_deleted": scan.created_bag},
    )
    return UndoResult(removed=scan.qr_id, parent=parent, scan=scan)
